"""A caller's history: earlier calls from the same number however it was written, what they turned out
to be, and the open incidents they belong to. A withheld number has none."""

from __future__ import annotations

import pytest

NUMBER = "+6281234567890"


def call_event(api, ref: str, at: str, number: str = NUMBER, type_: str = "offered") -> dict:  # type: ignore[no-untyped-def]
    r = api("phone").post("/api/v1/call-events", json={"event_id": f"{ref}-{type_}", "call_ref": ref,
                                                       "type": type_, "at": at, "caller_number": number})
    assert r.status_code == 201, r.text
    return r.json()["call"]


GHOST_PROTOCOL = {"asked_key_press": True, "listened_background": True, "callback_tried": True,
                  "location_checked": True}


def finish(api, call: dict, outcome: str) -> dict:  # type: ignore[no-untyped-def]
    body = {"version": call["version"], "outcome": outcome}
    if outcome == "ghost":  # a silent call is recorded as ghost only after the silent-caller protocol
        body["checklist"] = GHOST_PROTOCOL
    r = api("ct").patch(f"/api/v1/calls/{call['id']}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def history(api, number: str, who: str = "ct", **params):  # type: ignore[no-untyped-def]
    return api(who).get(f"/api/v1/callers/{number}/history", params=params)


@pytest.fixture
def calls(api) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Five calls from one number written four ways, one from another number."""
    made = {
        "old_prank": call_event(api, "c1", "2026-10-01T03:00:00Z", "081234567890"),       # 57 days ago
        "ghost": call_event(api, "c2", "2026-11-20T03:00:00Z", "6281234567890"),
        "prank": call_event(api, "c3", "2026-11-26T03:00:00Z", NUMBER),
        "fire": call_event(api, "c4", "2026-11-27T00:50:00Z", "006281234567890"),
        "other": call_event(api, "c5", "2026-11-27T00:55:00Z", "081299998888"),
    }
    made["old_prank"] = finish(api, made["old_prank"], "prank")
    made["ghost"] = finish(api, made["ghost"], "ghost")
    made["prank"] = finish(api, made["prank"], "prank")
    r = api("ct").post("/api/v1/calls", json={"caller_number": "0812-3456-7890"})  # typed by hand
    assert r.status_code == 201 and r.json()["caller_number"] == "081234567890"
    made["typed"] = r.json()
    return made


def test_every_form_of_the_number_finds_the_same_history_newest_first(api, calls):
    h = history(api, "081234567890").json()
    assert [c["id"] for c in h["calls"]] == [calls[k]["id"] for k in ("typed", "fire", "prank", "ghost",
                                                                      "old_prank")]
    assert h["normalised"] == NUMBER and h["withheld"] is False and h["total_calls"] == 5
    for form in ("+6281234567890", "6281234567890", "0812-3456-7890", "+62 0812 3456 7890"):
        assert history(api, form).json()["calls"] == h["calls"], form
    assert calls["other"]["id"] not in [c["id"] for c in h["calls"]]
    assert set(h["calls"][0]) == {"id", "caller_number", "status", "offered_at", "answered_at", "ended_at",
                                  "outcome", "incident_id", "incident_number"}


def test_outcomes_are_counted_over_all_time_and_the_last_30_days(api, calls):
    h = history(api, NUMBER).json()
    assert h["outcomes"]["prank"] == 2 and h["outcomes"]["ghost"] == 1 and h["outcomes"]["unclassified"] == 2
    assert h["outcomes_last_30_days"]["prank"] == 1 and h["outcomes_last_30_days"]["ghost"] == 1
    assert h["calls_last_30_days"] == 4 and sum(h["outcomes"].values()) == h["total_calls"] == 5
    assert h["outcomes"]["emergency"] == 0  # every outcome is present, so a console need not guess


def test_open_incidents_of_the_callers_calls_are_listed_and_closed_ones_are_not(api, calls):
    fire = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran",
                                                    "call_id": calls["fire"]["id"]}).json()
    h = history(api, NUMBER).json()
    entry = next(c for c in h["calls"] if c["id"] == calls["fire"]["id"])
    assert entry["incident_id"] == fire["id"] and entry["incident_number"] == fire["number"]
    assert entry["outcome"] == "emergency"
    assert [i["id"] for i in h["open_incidents"]] == [fire["id"]]
    assert h["open_incidents"][0]["call_ids"] == [calls["fire"]["id"]]
    r = api("disp").post(f"/api/v1/incidents/{fire['id']}/status",
                         json={"status": "cancelled", "version": fire["version"], "note": "Salah alamat"})
    assert r.status_code == 200, r.text
    h = history(api, NUMBER).json()
    assert h["open_incidents"] == [] and h["calls"][1]["incident_number"] == fire["number"]


def test_the_call_being_handled_can_be_left_out(api, calls):
    h = history(api, NUMBER, exclude_call_id=calls["typed"]["id"]).json()
    assert calls["typed"]["id"] not in [c["id"] for c in h["calls"]] and h["total_calls"] == 4


def test_only_the_20_newest_calls_are_listed_but_all_are_counted(api):
    for i in range(22):
        call_event(api, f"many-{i}", f"2026-11-26T{i:02d}:00:00Z")
    h = history(api, NUMBER).json()
    assert len(h["calls"]) == 20 and h["total_calls"] == 22
    assert h["calls"][0]["offered_at"].startswith("2026-11-26T21:00") and h["outcomes"]["unclassified"] == 22


@pytest.mark.parametrize("number", ["anonymous", "unknown", "Anonymous", "%20"])
def test_a_withheld_number_has_an_empty_history_not_an_error(api, number):
    for i, raw in enumerate(("anonymous", "unknown", "")):
        call_event(api, f"hidden-{i}", "2026-11-27T00:50:00Z", raw)
    r = history(api, number)
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["withheld"] is True and h["normalised"] == "" and h["calls"] == [] and h["total_calls"] == 0
    assert h["open_incidents"] == [] and set(h["outcomes"].values()) == {0}


def test_caller_history_is_for_the_centre_only(api):
    assert history(api, NUMBER, who="damkar").status_code == 403
    assert history(api, NUMBER, who="phone").status_code == 403
    r = history(api, "0" * 61)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
