"""Full phone numbers are role-limited and audited. Call-takers and supervisors (numbers.reveal) and the
telephony bridge get full numbers; dispatchers, administrators and agency operators get them masked — in
REST responses, in the snapshot and on the event stream alike — except on a call they handle themselves.
A screen other than the call-taker's shows every number masked; revealing one is an audited request.
Reports are masked; the evidence pack for the police (supervisors, audited) keeps full numbers."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.db.engine import unit_of_work
from siaga.domains.incidents.models import TimelineEntry
from siaga.events.models import Event
from tests.conftest import token_for
from tests.sse import SSEClient

NUMBER = "081277771234"
MASKED = "****234"


def offer(api, clock, number: str = NUMBER, ref: str = "m1") -> dict:  # type: ignore[no-untyped-def]
    r = api("phone").post("/api/v1/call-events", json={"event_id": ref, "call_ref": ref, "type": "offered",
                                                         "at": clock.now().isoformat(), "caller_number": number})
    assert r.status_code == 201, r.text
    assert r.json()["call"]["caller_number"] == number  # the bridge sent it: it gets it back whole
    return r.json()["call"]


def finish(api, who: str, call: dict, outcome: str) -> dict:  # type: ignore[no-untyped-def]
    c = api(who).post(f"/api/v1/calls/{call['id']}/claim", json={"version": call["version"]}).json()
    r = api(who).patch(f"/api/v1/calls/{c['id']}", json={"version": c["version"], "outcome": outcome, "end": True})
    assert r.status_code == 200, r.text
    return r.json()


def test_rest_and_snapshot_mask_numbers_for_readers_without_numbers_reveal(api, clock):
    call = offer(api, clock)
    expected = {"ct": NUMBER, "sup": NUMBER, "disp": MASKED, "admin": MASKED}
    for who, shown in expected.items():
        assert [c["caller_number"] for c in api(who).get("/api/v1/calls?live=true").json()] == [shown], who
        assert api(who).get(f"/api/v1/calls/{call['id']}").json()["caller_number"] == shown, who
        assert api(who).get("/api/v1/snapshot").json()["calls"][str(call["id"])]["caller_number"] == shown, who
    history = api("disp").get(f"/api/v1/callers/{NUMBER}/history").json()
    assert history["normalised"] == MASKED and [c["caller_number"] for c in history["calls"]] == [MASKED]
    assert api("ct").get(f"/api/v1/callers/{NUMBER}/history").json()["normalised"] == "+6281277771234"
    # A dispatcher who takes the call (overflow on the call-taker screen) handles it: they see it whole.
    taken = api("disp").post(f"/api/v1/calls/{call['id']}/claim", json={"version": call["version"]})
    assert taken.status_code == 200 and taken.json()["caller_number"] == NUMBER
    assert api("disp").get(f"/api/v1/calls/{call['id']}").json()["caller_number"] == NUMBER
    assert api("disp").get("/api/v1/snapshot").json()["calls"][str(call["id"])]["caller_number"] == NUMBER
    assert api("admin").get(f"/api/v1/calls/{call['id']}").json()["caller_number"] == MASKED
    manual = api("admin").get("/api/v1/calls").json()
    assert {c["caller_number"] for c in manual} == {MASKED}
    created = api("disp").post("/api/v1/calls", json={"caller_number": "0811 2222 333", "answered": False},
                               headers={"Idempotency-Key": "k1"})
    assert created.status_code == 201 and created.json()["caller_number"] == "****333"


def test_measures_callbacks_and_the_timeline_are_masked_the_same_way(api, clock):
    call = offer(api, clock)
    finish(api, "ct", call, "prank")
    offer(api, clock, ref="m2")
    api("phone").post("/api/v1/call-events", json={"event_id": "m2-x", "call_ref": "m2", "type": "abandoned",
                                                   "at": clock.now().isoformat()})
    m = api("sup").post(f"/api/v1/callers/{NUMBER}/measures", json={"kind": "flag", "reason": "uji"})
    assert m.status_code == 201 and m.json()["number"] == "+6281277771234"
    assert [x["number"] for x in api("disp").get("/api/v1/measures").json()] == [MASKED]
    assert [x["number"] for x in api("sup").get("/api/v1/measures").json()] == ["+6281277771234"]
    assert api("disp").get(f"/api/v1/callers/{NUMBER}/measures").json()[0]["number"] == MASKED
    assert api("disp").get(f"/api/v1/callers/{NUMBER}/summary").json()["measures"][0]["number"] == MASKED
    assert [x["number"] for x in api("disp").get("/api/v1/callbacks").json()] == [MASKED]
    assert [x["number"] for x in api("ct").get("/api/v1/callbacks").json()] == ["+6281277771234"]
    # Linked to an incident, the number is in the timeline's `call_linked` entry.
    third = offer(api, clock, ref="m3")
    c = api("ct").post(f"/api/v1/calls/{third['id']}/claim", json={"version": third["version"]}).json()
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "call_id": c["id"]}).json()
    damkar = next(a for a in api("admin").get("/api/v1/agencies").json() if a["code"] == "DAMKAR")
    api("disp").post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": damkar["id"]})

    def linked(who: str) -> str:
        entries = api(who).get(f"/api/v1/incidents/{inc['id']}/timeline").json()
        return next(e["text"] for e in entries if e["kind"] == "call_linked")

    # The entry names the call and its number masked, for everyone: the full number is never stored in it.
    for who in ("sup", "ct", "disp", "admin", "damkar"):
        assert linked(who) == f"panggilan #{c['id']} · {MASKED}", who
    # The incident page shows it masked to everyone, supervisors included (reveal is a separate, audited act).
    for who in ("sup", "disp"):
        page = api(who).get(f"/incident/{inc['id']}/timeline")
        assert page.status_code == 200 and MASKED in page.text and NUMBER not in page.text


def test_the_stored_call_linked_entry_holds_no_full_number(api, engine, clock):
    """The timeline is append-only and goes into exports and evidence: a linked call is written by its id
    and its number masked — linked as the incident is created or afterwards — and so is its event. A
    withheld number is written without digits (the incident page would show the id's as a number)."""
    first = offer(api, clock, ref="t1")
    c1 = api("ct").post(f"/api/v1/calls/{first['id']}/claim", json={"version": first["version"]}).json()
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "call_id": c1["id"]}).json()
    second = offer(api, clock, number="+62 812-7777-1234", ref="t2")
    hidden = api("phone").post("/api/v1/call-events", json={"event_id": "t3", "call_ref": "t3", "type": "offered",
                                                              "at": clock.now().isoformat(),
                                                              "caller_number": "anonymous"}).json()["call"]
    for c in (second, hidden):
        r = api("ct").post(f"/api/v1/incidents/{inc['id']}/calls", json={"call_id": c["id"]})
        assert r.status_code == 200, r.text
    with unit_of_work(engine) as db:
        rows = db.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == inc["id"],
                                                      TimelineEntry.kind == "call_linked")
                          .order_by(TimelineEntry.id)).all()
        stored = [(e.code, e.params, e.text, e.data) for e in rows]
        events = [json.dumps(e.payload) for e in db.scalars(select(Event).where(Event.kind == "timeline.added"))
                  if e.payload["kind"] == "call_linked"]
    assert stored == [
        ("timeline.call_linked", {"call_id": c1["id"], "number": MASKED}, "", {"call_id": c1["id"]}),
        ("timeline.call_linked", {"call_id": second["id"], "number": MASKED}, "", {"call_id": second["id"]}),
        ("timeline.call_linked_withheld", {}, "", {"call_id": hidden["id"]})]
    assert len(events) == 3 and not [e for e in events if "77771234" in e or "7777-1234" in e]
    # Every reader reads the same masked words, in their own language; the incident page shows the masked number.
    said = {"id": [f"panggilan #{c1['id']} · {MASKED}", f"panggilan #{second['id']} · {MASKED}",
                   "panggilan · nomor disembunyikan"],
            "en": [f"call #{c1['id']} · {MASKED}", f"call #{second['id']} · {MASKED}", "call · number withheld"]}
    for who in ("sup", "disp"):
        for lang, expected in said.items():
            texts = [e["text"] for e in api(who).get(f"/api/v1/incidents/{inc['id']}/timeline",
                                                     headers={"Accept-Language": lang}).json()
                     if e["kind"] == "call_linked"]
            assert texts == expected, (who, lang)
        page = api(who).get(f"/incident/{inc['id']}/timeline").text
        assert page.count(MASKED) == 2 and "77771234" not in page


def test_an_older_call_linked_entry_holding_the_number_is_still_masked_on_read(api, engine, clock):
    """Entries written before the number was kept out of the text stay as they are (append-only): they
    are masked on read, as before, for a reader without numbers.reveal."""
    call = offer(api, clock)
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran"}).json()
    with unit_of_work(engine) as db:
        db.add(TimelineEntry(incident_id=inc["id"], at=clock.now(), actor="Operator", kind="call_linked",
                             text=NUMBER, data={"call_id": call["id"]}))

    def linked(who: str) -> str:
        entries = api(who).get(f"/api/v1/incidents/{inc['id']}/timeline").json()
        return next(e["text"] for e in entries if e["kind"] == "call_linked")

    assert linked("sup") == NUMBER and linked("disp") == MASKED and linked("admin") == MASKED
    page = api("sup").get(f"/incident/{inc['id']}/timeline").text
    assert MASKED in page and NUMBER not in page


def test_the_event_stream_masks_as_the_rest_api_does(live_server, api):
    import httpx

    def post(who: str, path: str, body: dict) -> httpx.Response:
        return httpx.post(live_server + path, json=body, headers={"Authorization": f"Bearer {token_for(who)}"},
                          timeout=10)

    with SSEClient(live_server, token_for("disp")) as disp, SSEClient(live_server, token_for("ct")) as ct, \
            SSEClient(live_server, token_for("admin")) as admin:
        call = post("phone", "/api/v1/call-events", {"event_id": "s1", "call_ref": "s1", "type": "offered",
                                                     "at": "2026-11-27T01:00:00Z", "caller_number": NUMBER}).json()
        assert ct.until(lambda e: e.event == "call.created").data["payload"]["caller_number"] == NUMBER
        assert disp.until(lambda e: e.event == "call.created").data["payload"]["caller_number"] == MASKED
        assert admin.until(lambda e: e.event == "call.created").data["payload"]["caller_number"] == MASKED
        c = call["call"]
        post("disp", f"/api/v1/calls/{c['id']}/claim", {"version": c["version"]})
        # Now the dispatcher handles it: their stream carries it whole; the administrator's still masked.
        assert disp.until(lambda e: e.event == "call.updated").data["payload"]["caller_number"] == NUMBER
        assert admin.until(lambda e: e.event == "call.updated").data["payload"]["caller_number"] == MASKED
        inc = post("disp", "/api/v1/incidents", {"category_code": "kebakaran", "call_id": c["id"]}).json()
        tl = admin.until(lambda e: e.event == "timeline.added" and e.data["payload"]["kind"] == "call_linked")
        assert tl.data["payload"]["text"] == f"panggilan #{c['id']} · {MASKED}"
        assert tl.data["payload"]["incident_id"] == inc["id"]
        tl = ct.until(lambda e: e.event == "timeline.added" and e.data["payload"]["kind"] == "call_linked")
        assert tl.data["payload"]["text"] == f"panggilan #{c['id']} · {MASKED}"  # no full number stored to send


def test_revealing_one_number_is_role_limited_and_audited(api, engine, clock):
    call = offer(api, clock)
    m = api("sup").post(f"/api/v1/callers/{NUMBER}/measures", json={"kind": "flag", "reason": "uji"}).json()
    body = {"reason": "verifikasi laporan berulang untuk Polres"}
    for who in ("disp", "admin", "damkar", "phone"):
        r = api(who).post(f"/api/v1/calls/{call['id']}/reveal-number", json=body)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", who
    assert api("sup").post(f"/api/v1/calls/{call['id']}/reveal-number", json={}).status_code == 422
    short = api("sup").post(f"/api/v1/calls/{call['id']}/reveal-number", json={"reason": "x"})
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "body.reason"
    assert api("sup").post("/api/v1/calls/999999/reveal-number", json=body).status_code == 404
    r = api("sup").post(f"/api/v1/calls/{call['id']}/reveal-number", json=body)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.json() == {"entity": "call", "id": call["id"], "number": NUMBER, "masked": MASKED}
    r = api("ct").post(f"/api/v1/measures/{m['id']}/reveal-number", json={"reason": "telepon balik"})
    assert r.status_code == 200 and r.json()["number"] == "+6281277771234"
    with unit_of_work(engine, write=False) as db:
        reveals = db.scalars(select(AuditEntry).where(AuditEntry.action == "caller.number.reveal")
                             .order_by(AuditEntry.seq)).all()
    assert [(e.actor, e.entity, e.entity_id, e.data_dict) for e in reveals] == [
        ("sup (supervisor)", "call", str(call["id"]), body),
        ("ct (call_taker)", "caller_measure", str(m["id"]), {"reason": "telepon balik"})]
    assert all("1234" not in e.data for e in reveals)  # who, why, which record — never the number itself


@pytest.fixture
def october_calls(api, clock):  # type: ignore[no-untyped-def]
    for i, outcome in enumerate(("prank", "emergency")):
        call = offer(api, clock, ref=f"r{i}")
        finish(api, "ct", call, outcome)
    return clock.now()


def test_reports_carry_no_full_number_and_the_evidence_pack_keeps_it(api, october_calls):
    period = "from=2026-11-01&to=2026-12-01"
    html = api("sup").get(f"/api/v1/reports/period?{period}&format=html")
    assert html.status_code == 200 and "77771234" not in html.text
    data = api("sup").get(f"/api/v1/reports/period?{period}&format=json")
    assert "77771234" not in data.text
    book = load_workbook(io.BytesIO(api("sup").get(f"/api/v1/reports/period?{period}&format=xlsx").content))
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells and not [c for c in cells if "77771234" in c]
    export = json.loads(api("sup").get(f"/api/v1/reports/monitoring?{period}&format=json").content)
    assert {c["caller_masked"] for c in export["calls"]} == {MASKED}
    pack = api("sup").get(f"/api/v1/callers/{NUMBER}/evidence", params={"from": "2026-11-01", "to": "2026-12-01"})
    assert pack.status_code == 200 and pack.content.startswith(b"%PDF")
    assert api("disp").get(f"/api/v1/callers/{NUMBER}/evidence",
                           params={"from": "2026-11-01", "to": "2026-12-01"}).status_code == 403


def test_the_audit_log_shows_an_admin_no_callers_numbers_but_a_supervisor_all(api) -> None:
    r = api("phone").post("/api/v1/call-events", json={
        "event_id": "audit-mask-1", "call_ref": "audit-mask", "type": "offered", "at": "2026-11-27T01:00:00Z",
        "caller_number": "081234567890"})
    assert r.status_code == 201, r.text
    r = api("sup").post("/api/v1/calls", json={"caller_number": "081298765432", "answered": True})
    assert r.status_code == 201, r.text
    admin = api("admin").get("/api/v1/audit?limit=50").text
    sup = api("sup").get("/api/v1/audit?limit=50").text
    assert "081298765432" in sup and "081298765432" not in admin and "****432" in admin
    assert api("admin").get("/api/v1/audit/verify").json()["ok"] is True
