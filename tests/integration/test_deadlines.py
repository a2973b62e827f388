"""Nobody can silently fail to respond: each step of an agency's assignment has a deadline in the
database; a missed one alerts the supervisor, a second miss notifies the backup agency. Deadlines fire
exactly once — across a restart and across two app processes."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from siaga.core.audit import AuditEntry
from siaga.db.engine import unit_of_work
from siaga.domains.dispatch.escalation import fire_due
from siaga.domains.incidents.models import Deadline
from tests.conftest import BACKEND, ids


def new_incident(api, category="kebakaran", priority=1) -> dict:  # type: ignore[no-untyped-def]
    r = api("ct").post("/api/v1/incidents", json={"category_code": category, "priority": priority})
    assert r.status_code == 201, r.text
    return r.json()


def send(api, incident: dict, code: str) -> dict:  # type: ignore[no-untyped-def]
    agency_id = ids(api, "/api/v1/agencies")[code]
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/assignments", json={"agency_id": agency_id})
    assert r.status_code == 201, r.text
    return next(a for a in r.json()["assignments"] if a["agency_id"] == agency_id)


def get(api, incident: dict) -> dict:  # type: ignore[no-untyped-def]
    return api("disp").get(f"/api/v1/incidents/{incident['id']}").json()


def timeline(api, incident: dict) -> list[dict]:  # type: ignore[no-untyped-def]
    return api("disp").get(f"/api/v1/incidents/{incident['id']}/timeline").json()


def fire(engine, clock, settings_) -> int:  # type: ignore[no-untyped-def]
    return fire_due(engine, clock, settings_)


def test_missed_acknowledge_alerts_supervisor_then_backup_agency(api, engine, clock, settings):
    incident = new_incident(api)
    damkar = send(api, incident, "DAMKAR")
    assert damkar["due_step"] == "acknowledge"
    clock.advance(seconds=59)
    assert fire(engine, clock, settings) == 0  # P1: 60 s to acknowledge
    clock.advance(seconds=2)
    assert fire(engine, clock, settings) == 1
    assert fire(engine, clock, settings) == 0  # exactly once
    after = next(a for a in get(api, incident)["assignments"] if a["id"] == damkar["id"])
    assert after["escalation_level"] == 1 and after["state"] == "notified"
    assert any(e["kind"] == "escalated" and "supervisor" in e["text"] for e in timeline(api, incident))
    clock.advance(seconds=61)
    assert fire(engine, clock, settings) == 1
    now = get(api, incident)
    bpbd = ids(api, "/api/v1/agencies")["BPBD"]  # Damkar's backup in the Bengkalis plan
    backup = next(a for a in now["assignments"] if a["agency_id"] == bpbd)
    assert backup["state"] == "notified" and backup["due_step"] == "acknowledge"
    assert next(a for a in now["assignments"] if a["id"] == damkar["id"])["escalation_level"] == 2
    assert any("cadangan" in e["text"] for e in timeline(api, incident))


def test_escalations_read_in_each_readers_language_and_the_backup_says_whom_it_stands_in_for(
        api, engine, clock, settings):
    """The timeline stores what the escalation said as a message code: an English reader reads it in English,
    an Indonesian one in Indonesian, from the same row; the backup agency's assignment names the agency it
    stands in for, and the incident page's timeline speaks the reader's language."""
    incident = new_incident(api)
    send(api, incident, "DAMKAR")
    clock.advance(seconds=61)
    assert fire(engine, clock, settings) == 1
    clock.advance(seconds=61)
    assert fire(engine, clock, settings) == 1
    url = f"/api/v1/incidents/{incident['id']}/timeline"
    said = {lang: [e for e in api("disp").get(url, headers={"Accept-Language": lang}).json()
                   if e["kind"] in ("escalated", "assignment")] for lang in ("id", "en")}
    assert [e["text"] for e in said["id"]] == [
        "Damkar", "Damkar belum menerima (acknowledge) dalam batas waktu: supervisor diberi tahu",
        "Damkar masih belum menerima (acknowledge): instansi cadangan BPBD diberi tahu", "cadangan untuk Damkar"]
    assert [e["text"] for e in said["en"]] == [
        "Damkar", "Damkar has not acknowledged in time: the supervisor was alerted",
        "Damkar has still not acknowledged: the backup agency BPBD was notified", "backup for Damkar"]
    assert [e["code"] for e in said["en"]] == [None, "timeline.escalated_supervisor", "timeline.escalated_backup",
                                               "timeline.backup_for"]
    assert said["en"][1]["params"] == {"agency": "Damkar", "step": {"$msg": "deadline_step.acknowledge"}}
    agencies = ids(api, "/api/v1/agencies")
    backup = next(a for a in get(api, incident)["assignments"] if a["agency_id"] == agencies["BPBD"])
    assert backup["backup_for_agency_id"] == agencies["DAMKAR"] and backup["reason"] == ""
    page = api("disp").get(f"/incident/{incident['id']}/timeline?lang=en").text
    assert "the backup agency BPBD was notified" in page and "Escalated" in page and "cadangan" not in page


def test_each_step_done_in_time_cancels_its_deadline_and_starts_the_next(api, engine, clock, settings):
    incident = new_incident(api, priority=2)
    damkar = send(api, incident, "DAMKAR")
    clock.advance(seconds=30)
    r = api("damkar").post(f"/api/v1/assignments/{damkar['id']}/state",
                           json={"state": "acknowledged", "version": damkar["version"]})
    a = next(x for x in r.json()["assignments"] if x["id"] == damkar["id"])
    assert a["due_step"] == "units"
    unit = next(u for u in api("damkar").get("/api/v1/units").json() if u["callsign"] == "DMK-BKS-01")
    r = api("damkar").post(f"/api/v1/assignments/{damkar['id']}/units", json={"unit_id": unit["id"]})
    a = next(x for x in r.json()["assignments"] if x["id"] == damkar["id"])
    assert a["due_step"] == "on_scene"
    unit = api("damkar").get(f"/api/v1/units/{unit['id']}").json()
    api("damkar").post(f"/api/v1/units/{unit['id']}/status", json={"status": "on_scene", "version": unit["version"]})
    a = next(x for x in get(api, incident)["assignments"] if x["id"] == damkar["id"])
    assert a["due_step"] is None and a["escalation_level"] == 0
    clock.advance(hours=3)
    assert fire(engine, clock, settings) == 0  # nothing left to miss


def test_declining_alerts_the_supervisor_and_ends_its_deadlines(api, engine, clock, settings):
    incident = new_incident(api)
    dinkes = send(api, incident, "DINKES")
    r = api("dinkes").post(f"/api/v1/assignments/{dinkes['id']}/state",
                           json={"state": "declined", "version": dinkes["version"], "reason": "ambulans habis"})
    a = next(x for x in r.json()["assignments"] if x["id"] == dinkes["id"])
    assert a["escalation_level"] == 1 and a["due_step"] is None
    clock.advance(hours=1)
    assert fire(engine, clock, settings) == 0


def test_policy_per_agency_and_priority(api, engine, clock, settings):
    agencies = ids(api, "/api/v1/agencies")
    r = api("admin").put("/api/v1/deadline-policies", json={"agency_id": agencies["POLRES"], "priority": 3,
                                                             "step": "acknowledge", "seconds": 300})
    assert r.status_code == 200, r.text
    assert api("disp").put("/api/v1/deadline-policies", json={"step": "acknowledge", "seconds": 30}).status_code == 403
    incident = new_incident(api, category="gangguan_keamanan", priority=3)
    polres = send(api, incident, "POLRES")
    due = polres["due_at"]
    assert due.startswith("2026-11-27T01:05:00")
    clock.advance(seconds=299)
    assert fire(engine, clock, settings) == 0
    clock.advance(seconds=2)
    assert fire(engine, clock, settings) == 1


def test_closing_needs_a_note_after_resolving_stood_every_agency_down(api, engine, clock, settings):
    incident = new_incident(api)
    damkar = send(api, incident, "DAMKAR")
    api("disp").post(f"/api/v1/incidents/{incident['id']}/status",
                     json={"status": "resolved", "version": get(api, incident)["version"]})
    damkar = next(a for a in get(api, incident)["assignments"] if a["id"] == damkar["id"])
    assert damkar["state"] == "stood_down"
    refused = api("disp").post(f"/api/v1/incidents/{incident['id']}/status",
                               json={"status": "closed", "version": get(api, incident)["version"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.note"
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/status",
                         json={"status": "closed", "version": get(api, incident)["version"], "note": "selesai"})
    assert r.status_code == 200
    clock.advance(hours=2)
    assert fire(engine, clock, settings) == 0
    # Reopening needs a reason and is in the timeline and the audit log.
    refused = api("sup").post(f"/api/v1/incidents/{incident['id']}/status",
                              json={"status": "dispatched", "version": get(api, incident)["version"]})
    assert refused.status_code == 422
    reopened = api("sup").post(f"/api/v1/incidents/{incident['id']}/status",
                               json={"status": "dispatched", "version": get(api, incident)["version"],
                                     "note": "korban kedua ditemukan"})
    assert reopened.status_code == 200 and reopened.json()["closed_at"] is None
    assert any(e["data"].get("from") == "closed" and e["text"] == "korban kedua ditemukan"
               for e in timeline(api, incident))


def test_escalation_reaches_every_console_as_an_event(api, engine, clock, settings):
    incident = new_incident(api)
    send(api, incident, "DAMKAR")
    clock.advance(seconds=61)
    fire(engine, clock, settings)
    with unit_of_work(engine, write=False) as db:
        from siaga.events.models import Event

        event = db.scalars(select(Event).where(Event.kind == "incident.escalated")).one()
        assert event.payload["assignments"][0]["escalation_level"] == 1
        assert event.audience["agencies"] == [ids(api, "/api/v1/agencies")["DAMKAR"]]


def test_a_deadline_that_fell_due_while_down_fires_on_start(api, engine, clock, settings):
    """The service is down (no ticker) while the deadline passes; the first tick at start fires it."""
    from fastapi.testclient import TestClient

    from siaga.app import create_app

    incident = new_incident(api)
    send(api, incident, "DAMKAR")
    clock.advance(minutes=5)
    restarted = create_app(settings.model_copy(update={"deadline_tick_seconds": 0.05}), clock=clock, engine=engine)
    with TestClient(restarted):
        deadline = time.monotonic() + 10
        while restarted.state.ticker.fired < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # further ticks must not fire it again
    assert restarted.state.ticker.fired == 1
    with unit_of_work(engine, write=False) as db:
        assert db.scalar(select(func.count()).select_from(Deadline).where(Deadline.state == "fired")) == 1


def test_two_threads_racing_fire_each_deadline_once(api, engine, clock, settings):
    import threading

    for _ in range(8):
        send(api, new_incident(api), "DAMKAR")
    clock.advance(minutes=2)
    results: list[int] = []
    threads = [threading.Thread(target=lambda n=n: results.append(fire_due(engine, clock, settings, process=f"t{n}")))
               for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 8
    with unit_of_work(engine, write=False) as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "deadline.fire")) == 8


@pytest.mark.skipif(BACKEND != "postgresql", reason="several app processes share one PostgreSQL; SQLite is one")
def test_two_app_processes_fire_each_deadline_once(api, engine, settings, db_url):
    """Two real `siaga serve` processes (wall clock) find the same overdue deadlines: each fires once."""
    from tests.integration.test_two_processes import start

    for _ in range(12):
        send(api, new_incident(api), "DAMKAR")  # due 2026-11-27 01:01 — long past for the wall clock
    procs = []
    env_backup = os.environ.get("SIAGA_DEADLINE_TICK_SECONDS")
    os.environ["SIAGA_DEADLINE_TICK_SECONDS"] = "0.05"
    try:
        procs = [start(db_url, poll=1.0) for _ in range(2)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with unit_of_work(engine, write=False) as db:
                level0 = db.scalars(select(Deadline).where(Deadline.level == 0)).all()
            if all(d.state == "fired" for d in level0):
                break
            time.sleep(0.2)
    finally:
        for proc, _base in procs:
            proc.terminate()
            proc.wait(10)
        if env_backup is None:
            os.environ.pop("SIAGA_DEADLINE_TICK_SECONDS", None)
    with unit_of_work(engine, write=False) as db:
        level0 = db.scalars(select(Deadline).where(Deadline.level == 0)).all()
        fires = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "deadline.fire"))
    assert len(level0) == 12 and all(d.state == "fired" for d in level0)
    assert fires == 12


STEPS = st.lists(st.sampled_from(["ack", "unit", "wait", "wait_long", "tick", "decline"]), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_deadline_state_machine_properties(api, engine, clock, settings, steps):
    """Whatever happens in whatever order: a deadline fires at most once, a finished or acknowledged
    assignment has no pending acknowledge deadline, and escalation never goes down."""
    incident = new_incident(api)
    a = send(api, incident, "DINKES")
    level = 0
    for step in steps:
        current = next(x for x in get(api, incident)["assignments"] if x["id"] == a["id"])
        if step == "ack":
            api("dinkes").post(f"/api/v1/assignments/{a['id']}/state",
                               json={"state": "acknowledged", "version": current["version"]})
        elif step == "decline":
            api("dinkes").post(f"/api/v1/assignments/{a['id']}/state",
                               json={"state": "declined", "version": current["version"], "reason": "penuh"})
        elif step == "unit":
            free = [u for u in api("dinkes").get("/api/v1/units").json() if u["status"] == "available"]
            if free:
                api("dinkes").post(f"/api/v1/assignments/{a['id']}/units", json={"unit_id": free[0]["id"]})
        elif step == "wait":
            clock.advance(seconds=30)
        elif step == "wait_long":
            clock.advance(minutes=20)
        else:
            fire_due(engine, clock, settings)
        after = next(x for x in get(api, incident)["assignments"] if x["id"] == a["id"])
        assert after["escalation_level"] >= level
        level = after["escalation_level"]
        if after["state"] != "notified":
            assert after["due_step"] != "acknowledge"
        if after["state"] in ("declined", "cleared", "cancelled"):
            assert after["due_step"] is None
    with unit_of_work(engine, write=False) as db:
        fired = db.scalars(select(Deadline).where(Deadline.state == "fired")).all()
        audits = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "deadline.fire"))
    assert audits <= len(fired)  # a fired row is audited once, or not at all when the step was already done
