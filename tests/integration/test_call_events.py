"""The generic call-event intake: idempotent by event id, never refusing an emergency call for its data."""

from __future__ import annotations

import pytest


def event(event_id: str, type_: str, at: str, ref: str = "sip-abc", **extra):  # type: ignore[no-untyped-def]
    return {"event_id": event_id, "call_ref": ref, "type": type_, "at": at, **extra}


def send(api, body):  # type: ignore[no-untyped-def]
    return api("phone").post("/api/v1/call-events", json=body)


def test_offered_answered_ended_makes_one_call_with_its_times_and_operator(api):
    r = send(api, event("e1", "offered", "2026-11-27T01:00:00Z", caller_number="081211112222"))
    assert r.status_code == 201 and r.json()["duplicate"] is False
    send(api, event("e2", "answered", "2026-11-27T01:00:04Z", operator_username="ct"))
    call = send(api, event("e3", "ended", "2026-11-27T01:02:00Z")).json()["call"]
    assert call["status"] == "ended" and call["caller_number"] == "081211112222"
    assert call["offered_at"].startswith("2026-11-27T01:00:00")
    assert call["answered_at"].startswith("2026-11-27T01:00:04")
    assert call["ended_at"].startswith("2026-11-27T01:02:00")
    me = api("ct").get("/api/v1/me").json()
    assert call["operator_id"] == me["id"]
    assert len(api("ct").get("/api/v1/calls").json()) == 1


def test_a_replayed_event_changes_nothing(api):
    first = send(api, event("e1", "offered", "2026-11-27T01:00:00Z", caller_number="0812"))
    again = send(api, event("e1", "offered", "2026-11-27T01:00:00Z", caller_number="0812"))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["call"] == first.json()["call"]
    assert len(api("ct").get("/api/v1/calls").json()) == 1


def test_hangup_before_answer_is_abandoned(api):
    send(api, event("e1", "offered", "2026-11-27T01:00:00Z"))
    call = send(api, event("e2", "ended", "2026-11-27T01:00:09Z")).json()["call"]
    assert call["status"] == "abandoned" and call["outcome"] == "abandoned"
    assert api("ct").get("/api/v1/calls?live=true").json() == []


def test_answered_arriving_before_offered_still_makes_a_call(api):
    call = send(api, event("e2", "answered", "2026-11-27T01:00:04Z", caller_number="0813")).json()["call"]
    assert call["status"] == "answered"
    call = send(api, event("e1", "offered", "2026-11-27T01:00:00Z")).json()["call"]
    assert call["status"] == "answered"


def test_a_garbled_location_is_kept_flagged_and_the_call_still_queued(api):
    call = send(api, event("e1", "offered", "2026-11-27T01:00:00Z", caller_number="0814",
                           location={"source": "pidf_lo", "valid": False,
                                     "invalid_reason": "PIDF-LO: malformed gml:pos"})).json()["call"]
    assert call["status"] == "offered"
    assert call["locations"][0]["valid"] is False
    assert "gml:pos" in call["locations"][0]["invalid_reason"]
    # What the new call was announced with is what a fresh read gives (they are not read back on creation).
    assert api("ct").get(f"/api/v1/calls/{call['id']}").json()["locations"] == call["locations"]
    call = send(api, event("e2", "location", "2026-11-27T01:00:01Z",
                           location={"source": "aml", "lat": 1.47, "lon": 102.1, "accuracy_m": 12,
                                     "kode_wilayah": "99.99.99"})).json()["call"]
    assert call["locations"][1]["valid"] is False and "kode wilayah" in call["locations"][1]["invalid_reason"]
    assert call["locations"][1]["lat"] == 1.47
    assert [c["id"] for c in api("ct").get("/api/v1/calls?live=true").json()] == [call["id"]]


@pytest.mark.parametrize("body, field", [
    ({"call_ref": "x", "type": "offered", "at": "2026-11-27T01:00:00Z"}, "body.event_id"),
    ({"event_id": "x", "call_ref": "x", "type": "rang", "at": "2026-11-27T01:00:00Z"}, "body.type"),
    ({"event_id": "x", "call_ref": "x", "type": "offered", "at": "2026-11-27T01:00:00"}, "body.at"),
])
def test_an_event_that_cannot_be_a_call_event_is_refused_with_the_field(api, body, field):
    r = send(api, body)
    assert r.status_code == 422 and field in [e["field"] for e in r.json()["errors"]]


def test_operator_records_outcome_before_closing_a_call(api):
    call = api("ct").post("/api/v1/calls", json={"caller_number": "0815 1234 5678"}).json()
    r = api("ct").patch(f"/api/v1/calls/{call['id']}", json={"version": call["version"], "end": True})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.outcome"
    r = api("ct").patch(f"/api/v1/calls/{call['id']}", json={"version": call["version"], "outcome": "prank",
                                                             "end": True})
    assert r.status_code == 200 and r.json()["status"] == "ended" and r.json()["outcome"] == "prank"
    stale = api("ct").patch(f"/api/v1/calls/{call['id']}", json={"version": call["version"], "notes": "x"})
    assert stale.status_code == 409


def test_an_event_id_reused_for_another_call_is_refused_and_creates_nothing(api):
    send(api, event("e1", "offered", "2026-11-27T01:00:00Z", ref="call-A"))
    r = send(api, event("e1", "offered", "2026-11-27T01:00:05Z", ref="call-B"))
    assert r.status_code == 409
    assert [c["external_ref"] for c in api("ct").get("/api/v1/calls").json()] == ["call-A"]


def test_a_calls_first_events_racing_make_one_call(live_server):
    import threading

    import httpx

    from tests.conftest import token_for

    barrier = threading.Barrier(4)
    results: list[int] = []

    def fire(i: int) -> None:
        body = event(f"race-{i}", ["offered", "ringing", "answered", "location"][i], "2026-11-27T01:00:00Z",
                     ref="sip-race", caller_number="0812")
        barrier.wait()
        r = httpx.post(live_server + "/api/v1/call-events", json=body,
                       headers={"Authorization": f"Bearer {token_for('phone')}"}, timeout=30)
        results.append(r.status_code)

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [201, 201, 201, 201]
    calls = httpx.get(live_server + "/api/v1/calls", headers={"Authorization": f"Bearer {token_for('ct')}"}).json()
    assert len(calls) == 1 and calls[0]["status"] == "answered"


@pytest.mark.parametrize("typed", ["abc", "0" * 40, "0812", "+0123456789"])
def test_a_hand_typed_number_that_is_no_number_is_refused_saying_how_to_write_one(api, typed):
    r = api("ct").post("/api/v1/calls", json={"caller_number": typed}, headers={"Accept-Language": "id"})
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["field"] == "body.caller_number" and error["code"] == "phone_number"
    assert "0812 3456 7890" in error["message"]
    assert api("ct").get("/api/v1/calls", params={"caller_number": typed}).json() == []  # nothing recorded


@pytest.mark.parametrize(("typed", "stored"), [("0812-3456-7890", "081234567890"),
                                               ("+62 812 3456 7890", "+6281234567890"), ("112", "112"), ("", "")])
def test_a_hand_typed_number_is_kept_tidy(api, typed, stored):
    r = api("ct").post("/api/v1/calls", json={"caller_number": typed})
    assert r.status_code == 201 and r.json()["caller_number"] == stored
