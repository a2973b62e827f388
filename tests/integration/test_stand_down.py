"""An agency is never paged for a finished incident (issue #15): resolving or cancelling an incident stands
down every open assignment, releases its units and stops every pending deadline in the same transaction —
the acknowledge and units clocks, the supervisor's, the backup agency's — so no later tick, in this process or
another, pages anyone for it. The timeline says which agencies were stood down and their consoles hear it."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from siaga.core.audit import AuditEntry
from siaga.db.engine import open_session, unit_of_work
from siaga.domains.dispatch.escalation import fire_due, fire_one
from siaga.domains.incidents import actions as incidents
from siaga.domains.incidents import schemas as inc
from siaga.domains.incidents.models import Deadline
from siaga.domains.users.actions import principal_of
from siaga.domains.users.models import User
from siaga.events.hub import read_events
from siaga.timers.ticker import Ticker
from tests.conftest import BACKEND, ids
from tests.consoles import follow, snapshot_as, without_position
from tests.integration.test_deadlines import fire, get, new_incident, send, timeline


def act(api, who: str, assignment: dict, state: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    r = api(who).post(f"/api/v1/assignments/{assignment['id']}/state",
                      json={"state": state, "version": assignment["version"], **extra})
    assert r.status_code == 200, r.text
    return next(a for a in r.json()["assignments"] if a["id"] == assignment["id"])


def set_status(api, incident: dict, status: str, note: str = ""):  # type: ignore[no-untyped-def]
    return api("disp").post(f"/api/v1/incidents/{incident['id']}/status",
                            json={"status": status, "version": get(api, incident)["version"], "note": note})


def two_agencies_one_escalated(api, engine, clock, settings) -> tuple[dict, dict, dict]:  # type: ignore[no-untyped-def]
    """A P1 fire: Damkar never acknowledged (the supervisor was alerted; its backup, BPBD, is paged at the next
    miss), Dinkes acknowledged and owes units within 120 s."""
    incident = new_incident(api)
    damkar = send(api, incident, "DAMKAR")
    dinkes = act(api, "dinkes", send(api, incident, "DINKES"), "acknowledged")
    assert dinkes["due_step"] == "units"
    clock.advance(seconds=61)
    assert fire(engine, clock, settings) == 1  # Damkar's acknowledge: the supervisor is alerted
    damkar = next(a for a in get(api, incident)["assignments"] if a["id"] == damkar["id"])
    assert damkar["escalation_level"] == 1 and damkar["due_step"] == "acknowledge"  # level 1: the backup next
    return incident, damkar, dinkes


def principal(engine, username: str):  # type: ignore[no-untyped-def]
    with open_session(engine, write=False) as db:
        return principal_of(db.scalar(select(User).where(User.username == username)))


@pytest.mark.parametrize(("status", "note", "said_id", "said_en"), [
    ("resolved", "", "Insiden selesai ditangani: tugas Damkar, Dinkes / PSC 119 dihentikan, tenggat waktunya "
     "dibatalkan", "Incident resolved: Damkar, Dinkes / PSC 119 stood down, their deadlines stopped"),
    ("cancelled", "laporan palsu", "Insiden dibatalkan: tugas Damkar, Dinkes / PSC 119 dihentikan, tenggat "
     "waktunya dibatalkan", "Incident cancelled: Damkar, Dinkes / PSC 119 stood down, their deadlines stopped"),
])
def test_a_finished_incident_pages_no_agency_and_escalates_nothing(api, engine, clock, settings, status, note,
                                                                   said_id, said_en):
    incident, damkar, dinkes = two_agencies_one_escalated(api, engine, clock, settings)
    consoles = {who: principal(engine, who) for who in ("damkar", "dinkes")}
    before = {who: snapshot_as(engine, p, clock.now()) for who, p in consoles.items()}
    assert all(str(incident["id"]) in s["incidents"] for s in before.values())

    r = set_status(api, incident, status, note)
    assert r.status_code == 200, r.text
    out = r.json()
    assert {a["agency_id"]: a["state"] for a in out["assignments"]} == {
        damkar["agency_id"]: "stood_down", dinkes["agency_id"]: "stood_down"}
    assert all(a["stood_down_at"] and a["due_at"] is None and a["due_step"] is None for a in out["assignments"])

    # Past every deadline there was (the backup's, Dinkes' units, any on-scene), ticked by the ticker's own jobs.
    clock.advance(hours=3)
    # asyncio.run in a thread of its own: a browser test earlier in this worker may hold a loop in this one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, Ticker(engine, clock, settings).tick()).result() == 0
    assert fire(engine, clock, settings) == 0
    after = get(api, incident)
    assert len(after["assignments"]) == 2  # the backup (BPBD) was never paged
    assert ids(api, "/api/v1/agencies")["BPBD"] not in {a["agency_id"] for a in after["assignments"]}
    assert next(a for a in after["assignments"] if a["id"] == damkar["id"])["escalation_level"] == 1
    with open_session(engine, write=False) as db:
        states = db.scalars(select(Deadline.state).where(Deadline.incident_id == incident["id"])).all()
        fired = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "deadline.fire"))
    assert sorted(states) == ["cancelled", "cancelled", "cancelled", "fired"] and fired == 1

    # One timeline entry names the agencies stood down, in the reader's language; no escalation after it.
    url = f"/api/v1/incidents/{incident['id']}/timeline"
    entries = {lang: api("disp").get(url, headers={"Accept-Language": lang}).json() for lang in ("id", "en")}
    kinds = [e["kind"] for e in entries["id"]]
    assert kinds.count("stood_down") == 1 and "escalated" not in kinds[kinds.index("stood_down"):]
    assert kinds.count("escalated") == 1  # the supervisor's, before the incident ended
    entry = {lang: next(e for e in es if e["kind"] == "stood_down") for lang, es in entries.items()}
    assert entry["id"]["text"] == said_id and entry["en"]["text"] == said_en
    assert entry["en"]["code"] == f"timeline.stood_down_{status}"

    # Each agency's console, following its stream, ends where a fresh snapshot is — and shows it stood down
    # (resolved: still on its board, marked; cancelled: gone from it).
    events = read_events(engine, min(s["last_event_id"] for s in before.values()), 10_000)
    for who, p in consoles.items():
        state = follow(engine, before[who], events, p)
        assert without_position(state) == without_position(snapshot_as(engine, p, clock.now()))
        shown = state["incidents"].get(str(incident["id"]))
        if status == "resolved":
            mine = next(a for a in shown["assignments"] if a["agency_id"] == p.agency_id)
            assert mine["state"] == "stood_down"
            assert any(e["kind"] == "stood_down" for e in state["timeline"].values())
        else:
            assert shown is None
        told = [e for e in events
                if e["kind"] == "incident.status_changed" and p.agency_id in e["audience"]["agencies"]]
        assert told and all(a["state"] == "stood_down" for a in told[-1]["payload"]["assignments"])


def test_the_units_sent_are_released_as_when_an_assignment_is_cleared(api, engine, clock, settings):
    """A unit on the road (or on scene) returns to its station; one only assigned is free at once."""
    incident = new_incident(api)
    damkar = act(api, "damkar", send(api, incident, "DAMKAR"), "acknowledged")
    units = [u for u in api("damkar").get("/api/v1/units").json() if u["status"] == "available"][:2]
    for u in units:
        r = api("damkar").post(f"/api/v1/assignments/{damkar['id']}/units", json={"unit_id": u["id"]})
        assert r.status_code == 200, r.text
    rolling = api("damkar").get(f"/api/v1/units/{units[0]['id']}").json()
    r = api("damkar").post(f"/api/v1/units/{rolling['id']}/status",
                           json={"status": "en_route", "version": rolling["version"]})
    assert r.status_code == 200, r.text
    assert set_status(api, incident, "resolved").status_code == 200
    now = {u["id"]: u["status"] for u in api("damkar").get("/api/v1/units").json()}
    assert now[units[0]["id"]] == "returning" and now[units[1]["id"]] == "available"
    assert not any(ua["active"] for a in get(api, incident)["assignments"] for ua in a["units"])


def test_a_deadline_read_as_due_before_the_resolution_does_not_fire_after_it(api, engine, clock, settings):
    """The ticker lists the due deadlines, then claims each in its own transaction: one listed just before the
    incident was resolved finds, when it claims it, the deadline cancelled and the incident finished."""
    incident, _, _ = two_agencies_one_escalated(api, engine, clock, settings)
    clock.advance(minutes=5)
    with open_session(engine, write=False) as db:
        due = db.scalars(select(Deadline.id).where(Deadline.state == "pending", Deadline.due_at <= clock.now())).all()
    assert len(due) == 2  # Damkar's backup deadline, Dinkes' units
    assert set_status(api, incident, "resolved").status_code == 200
    for deadline_id in due:
        with unit_of_work(engine) as db:
            from siaga.core.authz import SYSTEM
            from siaga.core.context import Ctx

            assert fire_one(Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings), deadline_id, "other") is False
    assert len(get(api, incident)["assignments"]) == 2


def test_a_tick_racing_the_resolution_waits_for_it_and_fires_nothing(api, engine, clock, settings, ctx_factory):
    """The resolution holds the incident (and, on SQLite, the database) while a tick in another thread reaches
    the incident's overdue deadlines: the tick waits, then finds nothing to fire. Across processes it is the
    same row lock (PostgreSQL) or database lock (SQLite)."""
    incident, _, _ = two_agencies_one_escalated(api, engine, clock, settings)
    clock.advance(minutes=5)
    results: list[int] = []
    started = threading.Event()

    def tick() -> None:
        started.set()
        results.append(fire_due(engine, clock, settings, process="racer"))

    with ctx_factory("disp") as ctx:
        incidents.change_incident_status(ctx, incident["id"], inc.IncidentStatusIn(
            status="resolved", version=get(api, incident)["version"]))
        racer = threading.Thread(target=tick)
        racer.start()
        started.wait()
        time.sleep(0.5)  # the tick has listed the due deadlines and waits on the lock we hold
    racer.join(timeout=30)
    assert results == [0]
    assert len(get(api, incident)["assignments"]) == 2
    with open_session(engine, write=False) as db:
        assert db.scalar(select(func.count()).select_from(Deadline).where(
            Deadline.incident_id == incident["id"], Deadline.state == "pending")) == 0


def test_reopening_a_resolved_incident_sends_agencies_again_only_when_asked(api, engine, clock, settings):
    """Reopening (resolved → dispatched) pages nobody by itself: the assignments stay stood down and no clock
    restarts. A resolved incident takes no new agency until reopened. Sent again, an agency stood down is
    notified anew on its own assignment, with fresh deadlines (its earlier times stay in the timeline)."""
    incident, damkar, dinkes = two_agencies_one_escalated(api, engine, clock, settings)
    assert set_status(api, incident, "resolved").status_code == 200
    refused = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                               json={"agency_ids": [damkar["agency_id"]]})
    assert refused.status_code == 409 and refused.json()["params"] == {"current": "resolved", "target": "assigned"}
    reopened = set_status(api, incident, "dispatched", "api menyala lagi")
    assert reopened.status_code == 200, reopened.text
    assert {a["state"] for a in reopened.json()["assignments"]} == {"stood_down"}
    clock.advance(hours=1)
    assert fire(engine, clock, settings) == 0
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/assignments", json={"agency_id": damkar["agency_id"]})
    assert r.status_code == 201, r.text
    again = next(a for a in r.json()["assignments"] if a["id"] == damkar["id"])
    assert again["state"] == "notified" and again["escalation_level"] == 0 and again["stood_down_at"] is None
    assert again["due_step"] == "acknowledge"
    assert next(a for a in r.json()["assignments"] if a["id"] == dinkes["id"])["state"] == "stood_down"
    clock.advance(seconds=61)
    assert fire(engine, clock, settings) == 1  # its clock runs again: the supervisor hears of a new miss
    # Resolved again: stood down again, one entry naming only the agency that was working.
    assert set_status(api, incident, "resolved").status_code == 200
    said = [e["text"] for e in timeline(api, incident) if e["kind"] == "stood_down"]
    assert said[-1].startswith("Insiden selesai ditangani: tugas Damkar dihentikan") and len(said) == 2


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks: SQLite has one writer at a time, so no deadlock")
def test_a_crew_report_waits_for_the_incident_before_it_holds_the_unit(api, engine, clock, settings):
    """Resolving locks the incident, then its units. A crew's status report used to lock its unit first and
    then wait for the incident (its timeline row), so the two deadlocked and PostgreSQL failed one of them.
    Now the report takes the incident first: while a resolve holds the incident, the unit stays free."""
    import psycopg

    incident = new_incident(api)
    damkar = act(api, "damkar", send(api, incident, "DAMKAR"), "acknowledged")
    unit = next(u for u in api("damkar").get("/api/v1/units").json() if u["status"] == "available")
    sent = api("damkar").post(f"/api/v1/assignments/{damkar['id']}/units", json={"unit_id": unit["id"]})
    assert sent.status_code == 200, sent.text
    unit = api("damkar").get(f"/api/v1/units/{unit['id']}").json()
    # Connections of their own: the app's pool is small, and the test must not take its places.
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    resolver = psycopg.connect(dsn)  # the resolve's first step, held open
    pool = ThreadPoolExecutor(1)
    try:
        resolver.execute("SELECT id FROM incident WHERE id = %s FOR UPDATE", (incident["id"],))
        report = pool.submit(api("damkar").post, f"/api/v1/units/{unit['id']}/status",
                             json={"status": "en_route", "version": unit["version"]})
        deadline = time.monotonic() + 30
        with psycopg.connect(dsn, autocommit=True) as watcher:  # until the report is waiting for a lock
            waiting = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND datname = current_database()")
            while not watcher.execute(waiting).fetchone()[0]:
                assert time.monotonic() < deadline and not report.done(), "the report never waited"
                time.sleep(0.02)
        # the resolve's next step: the unit is not held by the waiting report
        resolver.execute("SELECT id FROM unit WHERE id = %s FOR UPDATE NOWAIT", (unit["id"],))
    finally:
        resolver.rollback()  # never leave the report waiting behind a failed test
        resolver.close()
        pool.shutdown(wait=True)
    r = report.result(timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "en_route"
