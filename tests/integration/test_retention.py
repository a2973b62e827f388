"""Retention of nuisance records: once older than SIAGA_NUISANCE_RETENTION_DAYS, prank, ghost and wrong-number
calls with no incident lose their number, notes and location detail (the row stays, so statistics still
count it); ended measures and callback attempts too; the event log's copies of call payloads too. Calls of
incidents and genuine calls are kept. Run by the ticker (a short batch at a time) and by `siaga callers
purge`; audited with counts, never numbers; the evidence pack says when records were anonymised."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from siaga.core.audit import AuditEntry, verify_chain
from siaga.core.authz import SYSTEM
from siaga.core.context import Ctx
from siaga.core.idempotency import IdempotencyRecord
from siaga.db.engine import unit_of_work
from siaga.domains.callers import retention
from siaga.domains.callers.models import CallbackAttempt
from siaga.domains.calls.models import Call, CallerMeasure, CallLocation
from siaga.domains.calls.privacy import ANONYMISED
from siaga.events.models import Event

OLD = "081288880001"
KEPT = "081288880002"
GHOST = {"asked_key_press": True, "listened_background": True, "callback_tried": True, "location_checked": True}


def call(api, clock, number: str, outcome: str | None, ref: str, notes: str = "", incident: bool = False) -> dict:  # type: ignore[no-untyped-def]
    r = api("phone").post("/api/v1/call-events", json={
        "event_id": ref, "call_ref": ref, "type": "offered", "at": clock.now().isoformat(), "caller_number": number,
        "location": {"source": "network", "lat": 1.47, "lon": 102.1, "accuracy_m": 50,
                     "address_text": "Jl. Ahmad Yani 7"}})
    assert r.status_code == 201, r.text
    c = r.json()["call"]
    if outcome is None:
        return c
    c = api("ct").post(f"/api/v1/calls/{c['id']}/claim", json={"version": c["version"]}).json()
    if incident:
        api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "call_id": c["id"]})
        c = api("ct").get(f"/api/v1/calls/{c['id']}").json()
    body = {"version": c["version"], "outcome": outcome, "notes": notes, "end": True}
    if outcome == "ghost":
        body["checklist"] = GHOST
    r = api("ct").patch(f"/api/v1/calls/{c['id']}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def history(api, clock):  # type: ignore[no-untyped-def]
    """A year ago: nuisance calls, a genuine one, a prank that became an incident, a measure and a callback.
    Then 400 days pass, and one recent prank comes in."""
    made = {
        "prank": call(api, clock, OLD, "prank", "old-prank", notes="anak-anak tertawa, nama Budi"),
        "ghost": call(api, clock, OLD, "ghost", "old-ghost", notes="hening"),
        "wrong": call(api, clock, OLD, "wrong_number", "old-wrong"),
        "emergency": call(api, clock, KEPT, "emergency", "old-emergency", notes="kebakaran dapur"),
        "info": call(api, clock, KEPT, "information", "old-info", notes="tanya jadwal"),
        "incident_prank": call(api, clock, KEPT, "prank", "old-inc", notes="ternyata ada asap", incident=True),
    }
    manual = api("ct").post("/api/v1/calls", json={"caller_number": OLD, "answered": True},
                            headers={"Idempotency-Key": "manual-1"})
    assert manual.status_code == 201
    m = api("sup").post(f"/api/v1/callers/{OLD}/measures", json={"kind": "flag", "reason": "Budi, anak tetangga",
                                                                   "duration_hours": 1}).json()
    lifted = api("sup").post(f"/api/v1/measures/{m['id']}/decision", json={
        "action": "lift", "version": m["version"], "note": "orang tua Budi sudah ditegur"})
    assert lifted.status_code == 200
    attempt = api("ct").post(f"/api/v1/calls/{made['ghost']['id']}/callbacks",
                             json={"result": "no_answer", "note": "nomor 0812 8888 0001 tidak aktif"})
    assert attempt.status_code == 201
    clock.advance(days=400)
    made["recent"] = call(api, clock, OLD, "prank", "recent-prank", notes="lagi")
    made["measure"] = m
    return made


def rows(engine, model, *where):  # type: ignore[no-untyped-def]
    with unit_of_work(engine, write=False) as db:
        return db.scalars(select(model).where(*where)).all()


def test_the_purge_anonymises_old_nuisance_records_and_keeps_the_rest(engine, clock, settings, history):
    before = {o: n for o, n in _outcome_counts(engine).items()}
    dry = retention.purge_all(engine, clock, settings, dry_run=True)
    assert (dry["calls"], dry["locations"], dry["measures"], dry["callbacks"]) == (3, 3, 1, 1)
    assert dry["events"] > 0 and dry["idempotency_records"] == 1
    assert _audits(engine) == []  # a dry run writes nothing
    done = retention.purge_all(engine, clock, settings)
    assert (done["calls"], done["locations"], done["measures"], done["callbacks"], done["idempotency_records"]) == \
        (3, 3, 1, 1, 1)
    assert done["events"] == dry["events"]
    by_id = {c.id: c for c in rows(engine, Call)}
    for key in ("prank", "ghost", "wrong"):
        c = by_id[history[key]["id"]]
        assert (c.caller_number, c.notes, c.outcome) == (ANONYMISED, "", history[key]["outcome"])
    for key in ("emergency", "info", "incident_prank", "recent"):  # genuine, an incident's, or not old yet
        c = by_id[history[key]["id"]]
        assert c.caller_number in (OLD, KEPT) and c.notes == history[key]["notes"]
    locations = {loc.call_id: loc for loc in rows(engine, CallLocation)}
    old_loc = locations[history["prank"]["id"]]
    assert (old_loc.lat, old_loc.lon, old_loc.address_text) == (None, None, "")
    assert locations[history["emergency"]["id"]].lat == 1.47
    measure = rows(engine, CallerMeasure, CallerMeasure.id == history["measure"]["id"])[0]
    assert (measure.number, measure.note, measure.reason, measure.state) == (ANONYMISED, "", "", "lifted")
    attempt = rows(engine, CallbackAttempt)[0]
    assert (attempt.number, attempt.note, attempt.result) == (ANONYMISED, "", "no_answer")
    assert rows(engine, IdempotencyRecord) == []
    for e in rows(engine, Event, Event.entity == "call", Event.at < clock.now() - timedelta(days=365)):
        assert e.payload["caller_number"] == ANONYMISED and e.payload["notes"] == ""
    recent_events = rows(engine, Event, Event.entity == "call", Event.entity_id == history["recent"]["id"])
    assert recent_events and all(e.payload["caller_number"] == OLD for e in recent_events)
    # Statistics still count every call; the chain is intact; the audit entries carry counts, not numbers.
    assert _outcome_counts(engine) == before
    audits = _audits(engine)
    assert audits and audits[-1]["calls"] == 3 and audits[-1]["retention_days"] == 365
    with unit_of_work(engine, write=False) as db:
        assert verify_chain(db).ok
        texts = [e.data for e in db.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purge"))]
    assert not [t for t in texts if "88880001" in t or "Budi" in t]
    # Nothing twice: a second purge changes nothing and writes no audit entry.
    again = retention.purge_all(engine, clock, settings)
    assert sum(again[k] for k in retention.KINDS) == 0 and len(_audits(engine)) == len(audits)


def test_an_anonymised_number_joins_no_history_and_the_evidence_pack_says_so(api, engine, clock, settings, history):
    from siaga.core.clock import SiteZone
    from siaga.domains.reports.evidence import evidence_html

    def pack() -> str:
        with unit_of_work(engine, write=False) as db:
            day = clock.now().date()
            return evidence_html(db, OLD, day - timedelta(days=366), day, clock.now(), "id", retention_days=365,
                                 zone=SiteZone.named("Asia/Jakarta"))

    assert "belum ada catatan yang dianonimkan" in pack()
    assert api("ct").get(f"/api/v1/callers/{OLD}/history").json()["total_calls"] == 5
    retention.purge_all(engine, clock, settings)
    history_now = api("ct").get(f"/api/v1/callers/{OLD}/history").json()
    assert history_now["total_calls"] == 2  # the recent prank and the hand-recorded call (no outcome)
    assert "dianonimkan" in pack() and "Anonimisasi terakhir" in pack()
    assert "Periode paket ini dimulai sebelum batas itu" in pack()
    with unit_of_work(engine, write=False) as db:
        en = evidence_html(db, OLD, clock.now().date() - timedelta(days=10), clock.now().date(), clock.now(), "en",
                           zone=SiteZone.named("Asia/Jakarta"))
    assert "Last anonymisation" in en and "starts before that cutoff" not in en


def run_tick(ticker) -> None:  # type: ignore[no-untyped-def]
    """One tick on an event loop of its own thread: the browser tests' Playwright keeps a loop running in
    the main thread for the whole session."""
    import threading

    import anyio

    errors: list[BaseException] = []

    def target() -> None:
        try:
            anyio.run(ticker.tick)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]


def test_the_ticker_purges_a_batch_at_a_time_and_then_waits(engine, clock, settings, history, monkeypatch):

    from siaga.timers.ticker import Ticker

    batches = []
    real = retention.purge_batch
    monkeypatch.setattr(retention, "purge_batch", lambda ctx, limit: batches.append(limit) or real(ctx, limit))
    monkeypatch.setattr(retention, "BATCH", 2)
    ticker = Ticker(engine, clock, settings)

    def anonymised() -> int:
        return len([c for c in rows(engine, Call) if c.caller_number == ANONYMISED])

    run_tick(ticker)
    assert anonymised() == 2 and batches == [2]  # one short batch per tick, never the whole backlog at once
    for _ in range(30):
        run_tick(ticker)
    assert anonymised() == 3
    done = len(batches)
    for _ in range(3):  # caught up: nothing until PURGE_EVERY later
        run_tick(ticker)
    assert len(batches) == done
    clock.advance(seconds=retention.PURGE_EVERY.total_seconds() + 1)
    run_tick(ticker)
    assert len(batches) == done + 1


def test_a_failing_purge_never_reaches_the_ticker(engine, clock, settings, monkeypatch):

    def broken(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("database away")

    monkeypatch.setattr(retention, "purge_batch", broken)
    assert retention.purge_step(engine, clock, settings) == 0  # logged, retried later


@pytest.mark.slow
def test_the_command_counts_then_purges(api, engine, db_url, clock):
    from tests.integration.test_cli import siaga

    # Calls offered long before today (by the real clock the command uses).
    for i, outcome in enumerate(("prank", "ghost", "emergency")):
        ref = f"cli-{i}"
        r = api("phone").post("/api/v1/call-events", json={"event_id": ref, "call_ref": ref, "type": "offered",
                                                             "at": "2024-06-01T03:00:00+00:00", "caller_number": OLD})
        c = api("ct").post(f"/api/v1/calls/{r.json()['call']['id']}/claim", json={"version": 1}).json()
        body = {"version": c["version"], "outcome": outcome, "end": True}
        if outcome == "ghost":
            body["checklist"] = GHOST
        assert api("ct").patch(f"/api/v1/calls/{c['id']}", json=body).status_code == 200
    dry = siaga(db_url, "callers", "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Would anonymise" in dry.stdout and "2 calls" in dry.stdout
    done = siaga(db_url, "callers", "purge")
    assert done.returncode == 0, done.stderr
    assert "Anonymised" in done.stdout and "2 calls" in done.stdout
    assert sorted(c.caller_number for c in rows(engine, Call)) == [OLD, ANONYMISED, ANONYMISED]


def _outcome_counts(engine) -> dict[str | None, int]:  # type: ignore[no-untyped-def]
    with unit_of_work(engine, write=False) as db:
        return dict(db.execute(select(Call.outcome, func.count()).group_by(Call.outcome)).all())


def _audits(engine) -> list[dict]:  # type: ignore[no-untyped-def]
    with unit_of_work(engine, write=False) as db:
        return [json.loads(e.data) for e in db.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purge")
                                                         .order_by(AuditEntry.seq))]


def test_purge_batches_as_the_system_only_touch_what_is_due(engine, clock, settings):

    with unit_of_work(engine) as db:
        result = retention.purge_batch(Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings))
    assert not result.changed and not result.more
    assert result.cutoff == clock.now() - timedelta(days=365)
    assert _audits(engine) == []
