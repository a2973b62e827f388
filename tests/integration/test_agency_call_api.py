"""Asking for an agency on a live call (POST /calls/{id}/agency-calls): what the call-taker's phone dials,
the intent audited, and each refusal a problem+json naming why — not connected, not your call, an agency
with no number, no trunk gateway, no line to call from. The calls through the real edge are in
test_agency_calls.py."""

from __future__ import annotations

from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.db.engine import unit_of_work
from siaga.domains.agencies.models import Agency


def _answered_call(api, ref: str) -> int:  # type: ignore[no-untyped-def]
    for type_, extra in (("offered", {"caller_number": "081234567890"}), ("answered", {"operator_username": "ct"})):
        r = api("phone").post("/api/v1/call-events", json={"event_id": f"{ref}-{type_}", "call_ref": ref,
                                                           "type": type_, "at": "2026-11-27T01:00:00Z", **extra})
        assert r.status_code == 201, r.text
    return int(r.json()["call"]["id"])


def _agency(engine, code: str, phone: str) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as db:
        agency = db.scalar(select(Agency).where(Agency.code == code))
        assert agency is not None
        agency.phone = phone
        return agency.id


def _problem(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert code in (body["code"], *(e.get("code") for e in body.get("errors", []))), body


def test_the_call_taker_gets_the_number_to_dial_and_every_refusal_says_why(api, app, engine, settings) -> None:  # type: ignore[no-untyped-def]
    damkar = _agency(engine, "DAMKAR", "(0766) 21-113")
    dinkes = _agency(engine, "DINKES", "")
    call_id = _answered_call(api, "agency-api-1@trunk")
    url = f"/api/v1/calls/{call_id}/agency-calls"

    _problem(api("ct").post(url, json={"agency_id": damkar}), 422, "no_line")  # no phone to call from
    ct_id = next(u["id"] for u in api("admin").get("/api/v1/users").json() if u["username"] == "ct")
    r = api("sup").put(f"/api/v1/telephony/lines/{ct_id}", json={"extension": "1001", "password": "ct-secret-1001"})
    assert r.status_code == 200, r.text

    _problem(api("ct").post(url, json={"agency_id": damkar}), 422, "no_gateway")  # no SIAGA_TELEPHONY_TRUNK_GATEWAY
    app.state.settings = settings.model_copy(update={"telephony_trunk_gateway": "sip:10.9.8.1:5060"})
    _problem(api("ct").post(url, json={"agency_id": dinkes}), 422, "no_number")
    _problem(api("ct").post(url, json={"agency_id": 999999}), 422, "unknown")
    _problem(api("disp").post(url, json={"agency_id": damkar}), 403, "forbidden")  # not their call
    _problem(api("damkar").post(url, json={"agency_id": damkar}), 403, "forbidden")  # no calls.write
    _problem(api("ct").post("/api/v1/calls/999999/agency-calls", json={"agency_id": damkar}), 404, "not_found")
    _problem(api("ct").post(url, json={"agency_id": damkar, "kind": "merge"}), 422, "validation_failed")

    r = api("ct").post(url, json={"agency_id": damkar})
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["dial"], out["dial_uri"], out["state"], out["agency_name"], out["extension"]) == \
        ("076621113", f"sip:076621113@{settings.telephony_domain}", "requested", "Damkar", "1001")
    assert [x["id"] for x in api("ct").get(url).json()] == [out["id"]]
    with unit_of_work(engine, write=False) as db:
        audits = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "telephony.agency_call.request")))
        assert [a.entity_id for a in audits] == [str(call_id)]
    # Nothing is connected yet: no step can be said.
    _problem(api("ct").post(f"/api/v1/agency-calls/{out['id']}/steps", json={"step": "conference_started"}), 409,
             "invalid_transition")

    ended = api("phone").post("/api/v1/call-events", json={"event_id": "agency-api-1@trunk-ended",
                                                           "call_ref": "agency-api-1@trunk", "type": "ended",
                                                           "at": "2026-11-27T01:05:00Z"})
    assert ended.status_code == 201, ended.text
    _problem(api("ct").post(url, json={"agency_id": damkar}), 409, "invalid_transition")


def test_an_administrator_sets_the_number_a_call_taker_dials_for_an_agency(api, app, engine, settings) -> None:  # type: ignore[no-untyped-def]
    """Diskominfotik's administrator gives Damkar its desk number (no developer, no CSV): the next call-taker
    asking for Damkar gets it to dial; others may not change it; a stale form or a number with letters says so."""
    app.state.settings = settings.model_copy(update={"telephony_trunk_gateway": "sip:127.0.0.1:5070"})
    damkar = next(a for a in api("admin").get("/api/v1/agencies").json() if a["code"] == "DAMKAR")
    _problem(api("ct").patch(f"/api/v1/agencies/{damkar['id']}", json={"version": damkar["version"],
                                                                      "phone": "112"}), 403, "forbidden")
    bad = api("admin").patch(f"/api/v1/agencies/{damkar['id']}", json={"version": damkar["version"],
                                                                       "phone": "call me"})
    _problem(bad, 422, "string_pattern_mismatch")
    r = api("admin").patch(f"/api/v1/agencies/{damkar['id']}", json={"version": damkar["version"],
                                                                    "phone": "(0766) 21-113"})
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "(0766) 21-113" and r.json()["version"] == damkar["version"] + 1
    _problem(api("admin").patch(f"/api/v1/agencies/{damkar['id']}", json={"version": damkar["version"],
                                                                         "phone": ""}), 409, "stale_version")
    with unit_of_work(engine, write=False) as db:
        audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "agency.update")).all()
    assert [a.data_dict["after"] for a in audit] == [{"phone": "(0766) 21-113"}]
    ct_id = next(u["id"] for u in api("admin").get("/api/v1/users").json() if u["username"] == "ct")
    r = api("sup").put(f"/api/v1/telephony/lines/{ct_id}", json={"extension": "1001", "password": "ct-secret-1001"})
    assert r.status_code == 200, r.text
    call_id = _answered_call(api, "agency-number-1@trunk")
    asked = api("ct").post(f"/api/v1/calls/{call_id}/agency-calls", json={"agency_id": damkar["id"]})
    assert asked.status_code == 201, asked.text
    assert asked.json()["dial"] == "076621113"
