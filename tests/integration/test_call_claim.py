"""Taking a waiting call: the call-taker who presses 'take' first has it; the second is told who has
it; an ended call cannot be taken. On SQLite and PostgreSQL, with real concurrent requests."""

from __future__ import annotations

from sqlalchemy import select

from siaga.db.engine import unit_of_work
from siaga.events.models import Event
from tests.integration.test_concurrency import client, race


def offered(api, ref: str = "sip-1", at: str = "2026-11-27T00:59:50Z", **extra) -> dict:  # type: ignore[no-untyped-def]
    r = api("phone").post("/api/v1/call-events", json={"event_id": f"{ref}-offered", "call_ref": ref,
                                                       "type": "offered", "at": at, "caller_number": "081234567890",
                                                       **extra})
    assert r.status_code == 201, r.text
    return r.json()["call"]


def claim(api, who: str, call: dict, **headers):  # type: ignore[no-untyped-def]
    return api(who).post(f"/api/v1/calls/{call['id']}/claim", json={"version": call["version"]}, headers=headers)


def me(api, who: str) -> int:  # type: ignore[no-untyped-def]
    return api(who).get("/api/v1/me").json()["id"]


def test_claiming_a_waiting_call_answers_it_as_mine_audited_and_announced(api, engine):
    call = offered(api)
    r = claim(api, "ct", call)
    assert r.status_code == 200, r.text
    taken = r.json()
    assert taken["status"] == "answered" and taken["operator_id"] == me(api, "ct")
    assert taken["answered_at"].startswith("2026-11-27T01:00:00")  # the clock's now
    assert taken["version"] == call["version"] + 1
    # the dispatcher reads the same call, its number masked (domains/calls/privacy.py)
    assert api("disp").get(f"/api/v1/calls/{call['id']}").json() == {**taken, "caller_number": "****890"}
    audit = api("sup").get(f"/api/v1/audit?entity=call&entity_id={call['id']}").json()
    assert audit[0]["action"] == "call.claim" and audit[0]["actor"] == "ct (call_taker)"
    with unit_of_work(engine, write=False) as db:
        events = db.scalars(select(Event).where(Event.entity == "call", Event.entity_id == call["id"])
                            .order_by(Event.id)).all()
    assert events[-1].kind == "call.updated" and events[-1].payload == taken


def test_a_ringing_call_and_one_answered_without_an_operator_can_be_taken_keeping_the_answer_time(api):
    offered(api, ref="sip-ring")
    ringing = api("phone").post("/api/v1/call-events", json={
        "event_id": "sip-ring-2", "call_ref": "sip-ring", "type": "ringing", "at": "2026-11-27T00:59:52Z"}).json()
    assert ringing["call"]["status"] == "ringing"
    r = claim(api, "ct", ringing["call"])
    assert r.status_code == 200 and r.json()["status"] == "answered"
    offered(api, ref="sip-pbx")
    answered = api("phone").post("/api/v1/call-events", json={
        "event_id": "sip-pbx-2", "call_ref": "sip-pbx", "type": "answered", "at": "2026-11-27T00:59:55Z"}).json()
    assert answered["call"]["operator_id"] is None
    r = claim(api, "disp", answered["call"])
    assert r.status_code == 200 and r.json()["operator_id"] == me(api, "disp")
    assert r.json()["answered_at"].startswith("2026-11-27T00:59:55")


def test_the_second_call_taker_is_told_who_has_the_call_in_their_language(api):
    call = offered(api)
    assert claim(api, "ct", call).status_code == 200
    r = claim(api, "disp", call)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "call_taken" and r.json()["params"]["username"] == "ct"
    assert r.json()["title"] == "Panggilan sudah diambil oleh ct"
    r = claim(api, "disp", call, **{"Accept-Language": "en"})
    assert r.json()["title"] == "This call has already been taken by ct"
    assert api("disp").get(f"/api/v1/calls/{call['id']}").json()["operator_id"] == me(api, "ct")


def test_taking_my_own_call_again_changes_nothing(api):
    call = offered(api)
    first = claim(api, "ct", call).json()
    again = claim(api, "ct", call)  # a double click, with the version from before the first
    assert again.status_code == 200 and again.json() == first
    audit = api("sup").get(f"/api/v1/audit?entity=call&entity_id={call['id']}").json()
    assert [e["action"] for e in audit].count("call.claim") == 1


def test_an_ended_call_cannot_be_taken(api):
    call = offered(api)
    ended = api("phone").post("/api/v1/call-events", json={
        "event_id": "sip-1-end", "call_ref": "sip-1", "type": "abandoned", "at": "2026-11-27T00:59:58Z"}).json()
    r = claim(api, "ct", ended["call"])
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert r.json()["params"] == {"current": "abandoned", "target": "answered"}
    assert api("ct").get(f"/api/v1/calls/{call['id']}").json()["operator_id"] is None


def test_claim_needs_a_version_and_an_existing_call(api):
    call = offered(api)
    r = api("ct").post(f"/api/v1/calls/{call['id']}/claim", json={})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.version"
    r = api("ct").post("/api/v1/calls/999999/claim", json={"version": 1})
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_two_call_takers_pressing_take_at_once_exactly_one_gets_the_call(live_server):
    a, b = client(live_server, "ct"), client(live_server, "disp")
    ids = {who: c.get("/api/v1/me").json()["id"] for who, c in (("ct", a), ("disp", b))}
    phone = client(live_server, "phone")
    for round_ in range(5):
        call = phone.post("/api/v1/call-events", json={
            "event_id": f"race-{round_}", "call_ref": f"race-{round_}", "type": "offered",
            "at": "2026-11-27T00:59:50Z"}).json()["call"]
        url, body = f"/api/v1/calls/{call['id']}/claim", {"version": call["version"]}
        ra, rb = race(lambda url=url, body=body: a.post(url, json=body),
                      lambda url=url, body=body: b.post(url, json=body))
        assert sorted([ra.status_code, rb.status_code]) == [200, 409], (round_, ra.text, rb.text)
        winner, loser = ("ct", rb) if ra.status_code == 200 else ("disp", ra)
        # The loser queued on the row lock and saw the winner's name, not a bare version conflict.
        assert loser.json()["code"] == "call_taken" and loser.json()["params"]["username"] == winner
        final = a.get(f"/api/v1/calls/{call['id']}").json()
        assert final["operator_id"] == ids[winner] and final["version"] == call["version"] + 1


def test_a_call_that_changed_while_waiting_is_still_taken_by_the_first_who_presses(api):
    """The queue showed the call offered; it began ringing meanwhile (a newer version). Taking it must not
    send the call-taker to reload while the caller waits: it is still waiting and nobody has it."""
    call = offered(api, ref="sip-changing")
    r = api("phone").post("/api/v1/call-events", json={
        "event_id": "sip-changing-ringing", "call_ref": "sip-changing", "type": "ringing",
        "at": "2026-11-27T00:59:55Z"})
    assert r.status_code == 201, r.text
    assert api("ct").get(f"/api/v1/calls/{call['id']}").json()["version"] > call["version"]
    r = claim(api, "ct", call)  # with the version the queue showed
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "answered" and r.json()["operator_id"] == me(api, "ct")
    assert claim(api, "disp", call).json()["code"] == "call_taken"  # the second still learns who has it
