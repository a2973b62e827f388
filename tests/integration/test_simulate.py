"""The simulator against a real database (both backends): the Bengkalis trial replayed as history, the same
calls under the recommended 24/7 roster, staffing read back from the written history, live replay
through the call-events API, and the command line."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from siaga.core.audit import verify_chain
from siaga.core.authz import SYSTEM
from siaga.core.clock import SiteZone
from siaga.core.context import Ctx
from siaga.core.errors import Problem
from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import Call, CallLocation
from siaga.domains.incidents.models import Assignment, Incident
from siaga.domains.regions.models import Region
from siaga.domains.simulate import actions, engine, live, reference, scenario, story
from siaga.domains.staffing import service as staffing
from tests.integration.test_cli import siaga

WIB = SiteZone.named("Asia/Jakarta")  # the Bengkalis trial scenario's zone

TRIAL = scenario.load("trial-2025")


def write(engine_, clock, settings, roster_spec: str = "scenario", sc: scenario.Scenario = TRIAL):  # type: ignore[no-untyped-def]
    roster = scenario.resolve_roster(roster_spec, sc)
    with unit_of_work(engine_) as db:
        ctx = Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings)
        result = actions.write_history(ctx, sc, roster, sc.seed, sc.start, sc.end)
    with unit_of_work(engine_, write=False) as db:
        told = story.from_database(db, result.tag, roster, WIB)
    return result, told, roster


def test_trial_replay_reproduces_the_published_figures(engine, clock, settings):
    result, told, roster = write(engine, clock, settings)
    assert result.calls == told.offered == 6870
    assert told.answered == pytest.approx(1026, rel=0.05)
    # where the rest went, told by the rows themselves
    assert told.missed > 0.7 * told.offered  # most calls came when nobody was on duty
    assert told.staffed["missed_out_of_hours"] == 0 and told.unstaffed["abandoned"] == 0
    assert told.abandoned > 0 and told.short_hangups_staffed <= told.abandoned
    assert told.total("prank") > 0.3 * told.answered  # a high share of pranks among the answered
    assert told.offered == told.answered + told.abandoned + told.missed
    # the story read back from the database is the one the writer saw
    assert told.as_dict() == result.story.as_dict()
    with unit_of_work(engine, write=False) as db:
        ours = Call.external_ref.like(story.run_prefix(result.tag) + "%")
        assert db.scalar(select(func.count()).select_from(Call).where(ours)) == 6870
        assert db.scalar(select(func.count()).select_from(CallLocation)) == 6870
        by_status = dict(db.execute(select(Call.status, func.count()).where(ours).group_by(Call.status)).all())
        assert by_status == {"ended": told.answered, "abandoned": told.abandoned + told.missed}
        incidents = db.scalars(select(Incident)).all()
        assert len(incidents) == told.total("emergency") == result.incidents > 0
        desa = {r.kode for r in db.scalars(select(Region).where(Region.level.in_(("desa", "kelurahan"))))}
        assert all(i.kode_wilayah in desa and i.status == "closed" and i.category_code for i in incidents)
        assert all(i.number.startswith("BKS-2025-") for i in incidents)
        assert len({i.number for i in incidents}) == len(incidents)
        linked = db.scalar(select(func.count()).select_from(Call).where(ours, Call.incident_id.is_not(None)))
        assert linked == len(incidents)
        assignments = db.scalars(select(Assignment)).all()
        assert len(assignments) == result.assignments >= len(incidents)
        assert all(a.notified_at < a.acknowledged_at < a.dispatched_at < a.on_scene_at < a.cleared_at
                   for a in assignments)
        operators = set(db.scalars(select(Call.operator_id).where(ours, Call.answered_at.is_not(None))))
        assert len(operators) == 1 and None not in operators  # the one call-taker of the test database
        assert verify_chain(db).ok


def test_the_recommended_24x7_roster_answers_far_more(engine, clock, settings):
    _result, told, roster = write(engine, clock, settings, "recommended")
    assert min(roster.weekly) >= 1
    assert told.offered == 6870 and told.missed == 0
    assert told.answered > 3 * 1026
    assert told.share(told.answered_within) > 0.55


def test_the_same_run_is_not_written_twice(engine, clock, settings):
    short = dataclasses.replace(TRIAL, end=date(2025, 7, 3), offered_total=None, calls_per_day=50.0)
    write(engine, clock, settings, sc=short)
    with pytest.raises(Problem) as raised:
        write(engine, clock, settings, sc=short)
    assert raised.value.status == 409


def test_staffing_reads_the_written_history(engine, clock, settings):
    write(engine, clock, settings)
    with unit_of_work(engine, write=False) as db:
        real = staffing.staffing(db, clock.now(), WIB, TRIAL.start, TRIAL.end, 0.9, 15)
        plan = staffing.staffing(db, clock.now(), WIB, TRIAL.start, TRIAL.end, 0.9, 15, include_simulated=True)
    # by default a centre is staffed from its real calls: the simulated ones are counted, not measured
    assert real.method == "no_data" and real.calls_offered == 0 and real.simulated_calls == 6870
    assert plan.method == "erlang_a" and plan.calls_offered == 6870 and plan.simulated_included
    assert 30 < plan.handle_s < 80  # the answered calls' mix: mostly short pranks and silent calls
    assert plan.patience_s is not None and 10 < plan.patience_s < 60
    assert plan.peak_operators >= 1 and min(h.operators for h in plan.hours) >= 1
    busiest = max(plan.hours, key=lambda h: h.arrivals_per_hour)
    assert busiest.hour in range(17, 23)  # the evening peak of the scenario
    # The pickup delay is measured in the written history (the trial's operators take 4–14 s: median ~9 s,
    # shorter among the answered since long rings lose callers) and staffing's prediction for its own roster
    # (one operator round the clock) agrees with the simulator running that roster (issue #17: it used to
    # say 96.6% against the simulator's ~62%); the 90% target is out of any roster's reach.
    assert plan.pickup_source == "measured" and plan.pickup_measured == plan.calls_answered
    assert 7 < plan.pickup_s < 10 and plan.pickup_stay is not None and 0.55 < plan.pickup_stay < 0.75
    assert set(plan.roster.on_duty) == {1} and plan.pickup_ceiling is not None and plan.pickup_ceiling < 0.9
    simulated = in_memory(TRIAL, scenario.resolve_roster("24x7:1", TRIAL))
    predicted = plan.roster.expected_answered_within
    assert predicted is not None and abs(predicted - simulated.share(simulated.answered_within)) < 0.03


def test_live_replay_through_the_call_events_api(api, engine):
    calls = list(engine_calls(limit=40))
    result = live.replay(api("phone"), calls, speed=1e9, answer="sim", operators=["ct"], run="t1",
                         sleep=lambda _s: None)
    assert result.errors == [] and result.calls == 40
    assert result.sent["offered"] == 40 and result.sent["answered"] + result.sent["abandoned"] == 40
    with unit_of_work(engine, write=False) as db:
        rows = db.execute(select(Call.external_ref, Call.status, Call.answered_at, Call.outcome, Call.operator_id)
                          .where(Call.external_ref.like("sim-t1-%"))).all()
        located = db.scalar(select(func.count()).select_from(CallLocation))
    assert len(rows) == 40 and located == 40
    answered = {c.seq for c in calls if c.answered_at is not None}
    for ref, status, answered_at, outcome, operator in rows:
        seq = int(ref.rsplit("-", 1)[1])
        if seq in answered:
            assert status == "ended" and answered_at is not None and operator is not None
        else:
            assert status == "abandoned" and outcome == "abandoned"
    again = live.replay(api("phone"), calls, speed=1e9, run="t1", sleep=lambda _s: None)
    assert sum(again.sent.values()) == 0 and again.duplicates == sum(result.sent.values())


def test_live_replay_sends_the_pickup_delay(api, engine):
    """The simulator's pickup delay reaches the centre as ringing → answered, measured as a real one is."""
    calls = list(engine_calls(limit=12))
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    result = live.replay(api("phone"), calls, speed=1.0, answer="sim", operators=["ct"], run="t3", sleep=sleep,
                         monotonic=lambda: now[0])
    assert result.errors == []
    with unit_of_work(engine, write=False) as db:
        rang = {ref: (answered - ringing).total_seconds() for ref, ringing, answered in db.execute(
            select(Call.external_ref, Call.ringing_at, Call.answered_at)
            .where(Call.external_ref.like("sim-t3-%"), Call.answered_at.is_not(None))).all()}
    delays = {f"sim-t3-{c.seq:07d}": c.delay_s for c in calls if c.answered_at is not None}
    assert rang.keys() == delays.keys() and rang
    assert all(abs(rang[ref] - delays[ref]) < 0.01 for ref in rang)


def test_live_replay_for_training_leaves_answering_to_people(api, engine):
    calls = list(engine_calls(limit=3))
    now = [0.0]
    taken: list[int] = []

    def sleep(seconds: float) -> None:  # the call-taker takes the first call while the callers wait
        if not taken:
            waiting = api("ct").get("/api/v1/calls", params={"live": "true"}).json()
            first = min(waiting, key=lambda c: c["id"])
            r = api("ct").post(f"/api/v1/calls/{first['id']}/claim", json={"version": first["version"]})
            assert r.status_code == 200, r.text
            taken.append(first["id"])
        now[0] += seconds

    result = live.replay(api("phone"), calls, speed=1.0, answer="humans", run="t2", sleep=sleep,
                         monotonic=lambda: now[0])
    assert result.errors == [] and taken
    with unit_of_work(engine, write=False) as db:
        rows = {r.id: r for r in db.scalars(select(Call).where(Call.external_ref.like("sim-t2-%")))}
    assert len(rows) == 3
    mine = rows[taken[0]]
    assert mine.answered_at is not None and mine.status == "ended"  # the caller hung up after talking
    others = [c for i, c in rows.items() if i != taken[0]]
    assert all(c.status == "abandoned" and c.answered_at is None for c in others)


def in_memory(sc: scenario.Scenario, roster: scenario.Roster) -> story.Story:
    stream = engine.generate(sc, reference.places_from_csv(), reference.categories_from_csv(), sc.seed, zone=WIB)
    return story.from_calls(engine.run(stream, engine.Queue(roster, sc.start, sc.end, WIB)), roster)


def engine_calls(limit: int):  # type: ignore[no-untyped-def]
    sc = scenario.load("bengkalis-24x7")
    day = date(2026, 3, 2)
    calls = engine.run(engine.generate(sc, reference.places_from_csv(), reference.categories_from_csv(), 5, day, day,
                                       zone=WIB),
                       engine.Queue(sc.roster, day, day, WIB))
    for i, c in enumerate(calls):
        if i >= limit:
            return
        yield c


def test_cli_simulate_tells_the_trial_story(tmp_path):
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    assert siaga(url, "db", "upgrade").returncode == 0
    assert siaga(url, "demo", "load", "--no-incidents").returncode == 0
    r = siaga(url, "simulate", "--scenario", "trial-2025", "--write", "--compare", "recommended")
    assert r.returncode == 0, r.stderr
    assert "Written: 6,870 calls" in r.stdout and "Where the calls went" in r.stdout
    assert "marked as simulated" in r.stdout
    assert "Published: 6,870 offered, 1,026 answered" in r.stdout and "Same calls, two rosters" in r.stdout
    again = siaga(url, "simulate", "--scenario", "trial-2025", "--write")
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr
    r = siaga(url, "staffing", "--from", "2025-07-01", "--to", "2025-10-19", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["calls_offered"] == 0 and body["simulated_calls"] == 6870  # not the centre's real work
    r = siaga(url, "staffing", "--from", "2025-07-01", "--to", "2025-10-19", "--json", "--include-simulated")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["calls_offered"] == 6870 and body["method"] == "erlang_a"
    r = siaga(url, "report", "--from", "2025-07-01", "--to", "2025-10-19", "--format", "json", "--out", "-")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["calls"]["total"]["offered"] == 0
    assert json.loads(r.stdout)["simulated"]["calls"] == 6870 and "Left out: 6,870 simulated calls" in r.stderr
    r = siaga(url, "simulate", "--scenario", "trial-2025", "--json")  # in memory: nothing written
    assert json.loads(r.stdout)["story"]["offered"] == 6870
    # the roster `siaga staffing` suggests from the written history, met by the same calls
    r = siaga(url, "simulate", "--scenario", "trial-2025", "--roster", "staffing:2025-07-01:2025-10-19")
    assert r.returncode == 1 and "only 6,870 simulated ones" in r.stderr and "--include-simulated" in r.stderr
    r = siaga(url, "simulate", "--scenario", "trial-2025", "--roster", "staffing:2025-07-01:2025-10-19", "--json",
              "--include-simulated")
    assert r.returncode == 0, r.stderr
    staffed = json.loads(r.stdout)["story"]
    assert staffed["roster"] == "staffing 2025-07-01..2025-10-19" and staffed["missed_out_of_hours"] == 0
    assert staffed["answered"] > 3 * 1026
    r = siaga(url, "simulate", "--scenario", "trial-2025", "--roster", "staffing:2024-01-01:2024-01-31")
    assert r.returncode == 1 and "no answered calls" in r.stderr


@pytest.mark.parametrize("args, message", [
    (("--scenario", "nope"), "unknown scenario 'nope'"),
    (("--scenario", "trial-2025", "--from", "2025-09-01", "--to", "2025-08-01"), "after"),
    (("--roster", "plenty"), "unknown roster"),
    (("--roster", "24x7:-1"), "24x7:N"),
    (("--write", "--live", "http://127.0.0.1:1"), "not both"),
    (("--live", "http://127.0.0.1:1"), "telephony API token"),
])
def test_cli_simulate_errors_are_readable(tmp_path, args, message, monkeypatch):
    monkeypatch.delenv("SIAGA_SIMULATE_TOKEN", raising=False)
    r = siaga(f"sqlite:///{tmp_path / 'x.db'}", "simulate", *args)
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
