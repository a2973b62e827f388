"""AML from the network into calls: the fix goes to the live call from that number, else its most recent call;
it is a new location beside the others (never replacing the operator's), announced and audited; a fix for
a number with no call yet is kept; HMAC is checked when configured; garbage stores nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from siaga.core.audit import AuditEntry
from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import Call, CallLocation
from siaga.domains.location.aml import encode_gsm7
from siaga.events.models import Event

FORM = "application/x-www-form-urlencoded"


def offered(api, ref: str, number: str = "081234567890", at: str = "2026-11-27T00:59:50Z"):  # type: ignore[no-untyped-def]
    r = api("phone").post("/api/v1/call-events", json={"event_id": f"{ref}-offered", "call_ref": ref,
                                                       "type": "offered", "at": at, "caller_number": number})
    assert r.status_code == 201, r.text
    return r.json()["call"]


def ended(api, ref: str, at: str = "2026-11-27T00:59:58Z"):  # type: ignore[no-untyped-def]
    r = api("phone").post("/api/v1/call-events", json={"event_id": f"{ref}-ended", "call_ref": ref,
                                                       "type": "ended", "at": at})
    assert r.status_code == 201, r.text
    return r.json()["call"]


def https_body(number: str = "+6281234567890", lat: str = "1.46600", lon: str = "102.10400", **extra: str) -> str:
    fields = {"v": "1", "device_number": number, "location_latitude": lat, "location_longitude": lon,
              "location_time": "1795741195000", "location_accuracy": "12.5", "location_source": "GPS",
              "location_certainty": "83", "device_imei": "356708041746734", **extra}
    return urlencode(fields)


def post(api, body: str, who: str = "phone"):  # type: ignore[no-untyped-def]
    return api(who).post("/api/v1/aml", content=body.encode(), headers={"Content-Type": FORM})


def sms_v1(lat: str = "1.46600", lon: str = "102.10400", pm: str = "G") -> str:
    body = (f'A"ML=1;lt={lat};lg={lon};rd=20;top=20261127005955;lc=68;pm={pm};si=510101234567890;'
            "ei=356708041746734;mcc=510;mnc=10;ml=")
    return body + str(len(body) + 3)


def counts(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with unit_of_work(engine, write=False) as db:
        return (db.scalar(select(func.count()).select_from(CallLocation)) or 0,
                db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_https_fix_is_attached_to_the_live_call_announced_and_audited(api, engine):
    call = offered(api, "sip-live")
    r = post(api, https_body())
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["attached"] is True and out["call_id"] == call["id"] and out["duplicate"] is False
    assert out["fix"]["caller_number"] == "+6281234567890" and "imei" not in out["fix"]
    [loc] = [loc for loc in out["call"]["locations"] if loc["source"] == "aml"]
    assert (loc["lat"], loc["lon"], loc["accuracy_m"], loc["shape"], loc["valid"]) == (1.466, 102.104, 12.5,
                                                                                     "circle", True)
    assert loc["located_at"].startswith("2026-11-27T00:59:55")
    assert api("ct").get(f"/api/v1/calls/{call['id']}").json()["locations"] == out["call"]["locations"]
    with unit_of_work(engine, write=False) as db:
        event = db.scalars(select(Event).where(Event.entity == "call", Event.entity_id == call["id"])
                           .order_by(Event.id.desc())).first()
        audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "aml.attach")).one()
    assert event is not None and event.kind == "call.updated" and event.payload == out["call"]
    assert audit.entity_id == str(call["id"]) and audit.data_dict["via"] == "https"
    assert "356708041746734" not in audit.data  # device identifiers are not kept


def test_the_same_fix_twice_is_attached_once(api, engine):
    offered(api, "sip-dup")
    assert post(api, https_body()).status_code == 201
    again = post(api, https_body())
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert counts(engine)[0] == 1


def test_live_call_first_else_the_most_recent_call(api):
    old = offered(api, "sip-old", at="2026-11-27T00:10:00Z")
    ended(api, "sip-old", at="2026-11-27T00:12:00Z")
    recent = offered(api, "sip-recent", at="2026-11-27T00:40:00Z")
    ended(api, "sip-recent", at="2026-11-27T00:41:00Z")
    r = post(api, https_body(number="0812-3456-7890"))  # any written form of the number
    assert r.status_code == 201 and r.json()["call_id"] == recent["id"] != old["id"]
    live = offered(api, "sip-live-2", number="6281234567890", at="2026-11-27T00:30:00Z")  # older, but live
    r = post(api, https_body(lat="1.47"))
    assert r.status_code == 201 and r.json()["call_id"] == live["id"]


def test_a_fix_never_overwrites_the_operators_location(api):
    call = api("ct").post("/api/v1/calls", json={"caller_number": "081234567890", "location": {
        "source": "operator", "lat": 1.4652, "lon": 102.107, "address_text": "Depan Masjid Raya"}}).json()
    r = post(api, https_body())
    assert r.status_code == 201 and r.json()["call_id"] == call["id"]
    locations = api("ct").get(f"/api/v1/calls/{call['id']}").json()["locations"]
    assert [(loc["source"], loc["lat"]) for loc in locations] == [("operator", 1.4652), ("aml", 1.466)]
    assert locations[0]["address_text"] == "Depan Masjid Raya"


def test_no_call_yet_is_kept_in_the_audit_log_and_adopted_when_the_call_arrives(api, engine, ctx_factory):
    r = post(api, https_body(number="+6281399998888"))
    assert r.status_code == 202, r.text
    assert r.json()["attached"] is False and "no call from this number yet" in r.json()["note"]
    with unit_of_work(engine, write=False) as db:
        kept = db.scalars(select(AuditEntry).where(AuditEntry.action == "aml.unmatched")).one()
    assert kept.entity_id == "+6281399998888" and kept.data_dict["location"]["lat"] == 1.466
    assert counts(engine)[0] == 0
    call = offered(api, "sip-late", number="081399998888", at="2026-11-27T01:00:00Z")
    # The intake adopted it as the call was recorded; asking again changes nothing.
    from siaga.domains.calls.actions import attach_waiting_fixes

    with ctx_factory("phone") as ctx:
        assert attach_waiting_fixes(ctx, ctx.db.get(Call, call["id"])) == 0
    locations = api("ct").get(f"/api/v1/calls/{call['id']}").json()["locations"]
    assert [(loc["source"], loc["lat"]) for loc in locations] == [("aml", 1.466)]


def test_no_location_pm_n_is_recorded_as_an_invalid_location(api):
    call = offered(api, "sip-nofix")
    r = api("phone").post("/api/v1/aml/sms", json={"sender": "+6281234567890",
                                                   "message": sms_v1(lat="", lon="", pm="N")})
    assert r.status_code == 201, r.text
    assert r.json()["fix"]["no_location"] is True and r.json()["call_id"] == call["id"]
    [loc] = r.json()["call"]["locations"]
    assert (loc["valid"], loc["lat"], loc["source"]) == (False, None, "aml") and "no location" in loc["invalid_reason"]
    form = post(api, https_body(lat="", lon="", location_source="none", location_time="1795741199000"))
    assert form.status_code == 201 and form.json()["fix"]["valid"] is False
    same = post(api, https_body(lat="", lon="", location_source="none", location_time="1795741199000"))
    assert same.status_code == 200 and same.json()["duplicate"] is True


def test_sms_text_and_data_sms_hex_and_base64(api):
    call = offered(api, "sip-sms")
    text = api("phone").post("/api/v1/aml/sms", json={"sender": "081234567890", "message": sms_v1()})
    assert text.status_code == 201 and text.json()["call_id"] == call["id"]
    packed = encode_gsm7(sms_v1(lat="1.46700"))
    hexed = api("sup").post("/api/v1/aml/sms", json={"sender": "081234567890", "message": packed.hex().upper()})
    assert hexed.status_code == 201 and hexed.json()["fix"]["lat"] == 1.467
    b64_text = base64.b64encode(encode_gsm7(sms_v1("1.468"))).decode()
    b64 = api("phone").post("/api/v1/aml/sms", json={"sender": "081234567890", "encoding": "base64",
                                                     "message": b64_text})
    assert b64.status_code == 201 and b64.json()["fix"]["lat"] == 1.468
    cut = api("phone").post("/api/v1/aml/sms", json={"sender": "081234567890",
                                                     "message": sms_v1("1.469")[:-1] + "9"})
    assert cut.status_code == 201 and cut.json()["fix"]["length_ok"] is False
    sources = [(loc["lat"], loc["valid"]) for loc in cut.json()["call"]["locations"]]
    assert sources == [(1.466, True), (1.467, True), (1.468, True), (1.469, False)]


@pytest.fixture
def keyed(app):  # type: ignore[no-untyped-def]
    app.state.settings = app.state.settings.model_copy(update={"aml_hmac_key": "rahasia-aml"})
    return "rahasia-aml"


def sign(body: str, key: str) -> str:
    return body + "&hmac=" + hmac.new(key.encode(), body.encode(), hashlib.sha1).hexdigest()


def test_hmac_good_is_taken(api, keyed):
    offered(api, "sip-hmac")
    r = post(api, sign(https_body(), keyed))
    assert r.status_code == 201, r.text
    assert r.json()["fix"]["authenticated"] is True


@pytest.mark.parametrize("body", [
    lambda key: sign(https_body(), key + "x"),                      # another key
    lambda key: sign(https_body(), key).replace("1.46600", "1.46601"),  # altered after signing
    lambda key: https_body(),                                       # not signed
])
def test_hmac_bad_or_missing_is_401_and_stores_nothing(api, engine, keyed, body):
    offered(api, "sip-hmac-bad")
    before = counts(engine)
    r = post(api, body(keyed))
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "body.hmac"
    assert counts(engine) == before


@pytest.mark.parametrize("path, kwargs", [
    ("/api/v1/aml", {"content": b"this is not a form", "headers": {"Content-Type": FORM}}),
    ("/api/v1/aml", {"content": b"hello=world&x=1", "headers": {"Content-Type": FORM}}),
    ("/api/v1/aml", {"json": {"v": "1"}}),
    ("/api/v1/aml/sms", {"json": {"sender": "081234567890", "message": "Tolong ada kebakaran"}}),
    ("/api/v1/aml/sms", {"json": {"sender": "081234567890", "message": 'A"ML=9;lt=1;lg=2'}}),
    ("/api/v1/aml/sms", {"json": {"sender": "081234567890", "message": "zz!!", "encoding": "hex"}}),
    ("/api/v1/aml/sms", {"json": {"sender": "081234567890"}}),
])
def test_garbage_is_422_and_stores_nothing(api, engine, path, kwargs):
    offered(api, "sip-garbage")
    before = counts(engine)
    r = api("phone").post(path, **kwargs)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["errors"]
    assert counts(engine) == before


def test_only_the_telephony_bridge_and_supervisors_may_post_fixes(api):
    assert post(api, https_body(), who="ct").status_code == 403
    assert api("disp").post("/api/v1/aml/sms", json={"message": sms_v1()}).status_code == 403
    assert post(api, https_body(), who="sup").status_code == 202  # allowed; no call yet
    assert api().post("/api/v1/aml", content=https_body().encode(), headers={"Content-Type": FORM}).status_code == 401
