"""The only writer of simulated history: calls (with their network location), and for every answered
emergency an incident with its category, desa, and the agencies the response plan names, already closed,
with each step's time. Bulk inserts in batches inside the caller's transaction (fast enough for a year of
a busy centre), one audit entry for the whole run, no live events (history is not news).

Each run is tagged: its calls' external_ref is `sim-<tag>-<n>`, the tag a hash of (scenario, seed,
period, roster), so the same run cannot be written twice and its rows can be found again."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update

from siaga.core.clock import site_zone
from siaga.core.context import Ctx
from siaga.core.errors import Problem
from siaga.db.engine import dialect_insert
from siaga.domains.agencies.models import Agency
from siaga.domains.calls.models import Call, CallLocation
from siaga.domains.incidents.models import Assignment, Incident, IncidentCounter
from siaga.domains.response.models import ResponseRule
from siaga.domains.response.plans import Facts, choose_rules
from siaga.domains.simulate import engine, reference, story
from siaga.domains.simulate.scenario import Roster, Scenario
from siaga.domains.users.models import User

BATCH = 2000
ISLANDS = {"14.03.01", "14.03.02", "14.03.10", "14.03.11"}  # Bengkalis, Bantan, Rupat, Rupat Utara: by boat


@dataclass
class WriteResult:
    tag: str
    calls: int
    incidents: int
    assignments: int
    story: story.Story


def run_tag(scenario: Scenario, seed: int, start: date, end: date, roster: Roster) -> str:
    key = f"{scenario.name}|{seed}|{start}|{end}|{roster.label}|{roster.weekly}|{roster.closed_on_holidays}"
    return hashlib.sha1(key.encode()).hexdigest()[:10]


def _batches(items: Iterable[engine.SimCall], size: int) -> Iterator[list[engine.SimCall]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


class _Response:
    """Stage times for the simulated agencies' response (seconds, lognormal around these means)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed + 7919)

    def _ln(self, mean: float, cv: float = 0.6) -> float:
        sigma = math.sqrt(math.log(1 + cv * cv))
        return float(self.rng.lognormal(math.log(mean) - sigma * sigma / 2, sigma))

    def times(self, created: datetime, island: bool) -> dict[str, datetime]:
        notified = created + timedelta(seconds=float(self.rng.uniform(10, 90)))
        acknowledged = notified + timedelta(seconds=self._ln(75))
        dispatched = acknowledged + timedelta(seconds=self._ln(150))
        on_scene = dispatched + timedelta(seconds=self._ln(1800 if island else 1200, 0.5))
        cleared = on_scene + timedelta(seconds=self._ln(3600, 0.7))
        return {"notified_at": notified, "acknowledged_at": acknowledged, "dispatched_at": dispatched,
                "on_scene_at": on_scene, "cleared_at": cleared}


def write_history(ctx: Ctx, scenario: Scenario, roster: Roster, seed: int, start: date, end: date,
                  progress: Callable[[int], None] | None = None) -> WriteResult:
    db = ctx.db
    tag = run_tag(scenario, seed, start, end, roster)
    prefix = story.run_prefix(tag)
    if db.scalar(select(Call.id).where(Call.external_ref.like(prefix + "%")).limit(1)) is not None:
        raise Problem(409, "duplicate", what="simulation run", value=tag)
    places = reference.places_from_db(db)
    categories = reference.categories_from_db(db)
    if not places:
        raise Problem(422, "validation_failed", errors=[{"field": "gazetteer", "code": "missing",
                                                         "message": "no desa with coordinates: run `siaga demo load`"}])
    priority = {c.code: c.priority for c in categories}
    rules = db.scalars(select(ResponseRule).where(ResponseRule.active.is_(True))).all()
    agencies = {a.code: a.id for a in db.scalars(select(Agency).where(Agency.active.is_(True)))}
    operators = list(db.scalars(select(User.id).where(User.role == "call_taker", User.active.is_(True))
                                .order_by(User.id)))
    zone = site_zone(ctx.settings)
    queue = engine.Queue(roster, start, end, zone)
    response = _Response(seed)
    result = WriteResult(tag=tag, calls=0, incidents=0, assignments=0, story=story.Story(roster=roster.label))
    calls = engine.run(engine.generate(scenario, places, categories, seed, start, end, zone=zone), queue)
    note = f"simulasi {scenario.name} (seed {seed}, roster {roster.label})"
    for chunk in _batches(calls, BATCH):
        incident_ids = _write_incidents(ctx, chunk, priority, rules, agencies, operators, response, note, result)
        call_rows = [{
            "external_ref": f"{prefix}{c.seq:07d}", "caller_number": c.caller_number, "called_number": "112",
            "status": "ended" if c.answered else "abandoned", "offered_at": c.offered_at,
            "ringing_at": c.ringing_at, "answered_at": c.answered_at, "ended_at": c.ended_at,
            "operator_id": operators[c.server % len(operators)] if operators and c.server is not None else None,
            "outcome": c.outcome, "incident_id": incident_ids.get(c.seq), "notes": note, "simulated": True,
            "version": 1,
        } for c in chunk]
        ids = db.execute(insert(Call).returning(Call.id, sort_by_parameter_order=True), call_rows).scalars().all()
        db.execute(insert(CallLocation), [{
            "call_id": call_id, "source": "network", "lat": c.lat, "lon": c.lon, "accuracy_m": c.accuracy_m,
            "kode_wilayah": None, "address_text": "", "received_at": c.offered_at, "valid": True,
            "invalid_reason": ""} for call_id, c in zip(ids, chunk, strict=True)])
        for c in chunk:
            result.story.add(c.offered_at, c.answered_at, c.ended_at, c.outcome, c.staffed)
        result.calls += len(chunk)
        if progress:
            progress(result.calls)
    result.story.incidents = result.incidents
    s = result.story
    ctx.audit("simulate.history", "simulation", tag, {
        "scenario": scenario.name, "seed": seed, "from": start.isoformat(), "to": end.isoformat(),
        "roster": roster.label, "calls": result.calls, "incidents": result.incidents,
        "answered": s.answered, "abandoned": s.abandoned, "missed_out_of_hours": s.missed})
    return result


def _numbers(ctx: Ctx, years: Counter[int]) -> dict[int, Iterator[int]]:
    """Reserve a block of incident numbers per year (in the site's zone) in one counter update each."""
    out = {}
    for year, n in years.items():
        ctx.db.execute(dialect_insert(ctx.db, IncidentCounter).values(year=year, last=0)
                       .on_conflict_do_nothing(index_elements=["year"]))
        last = ctx.db.execute(update(IncidentCounter).where(IncidentCounter.year == year)
                              .values(last=IncidentCounter.last + n).returning(IncidentCounter.last)).scalar_one()
        out[year] = iter(range(last - n + 1, last + 1))
    return out


def _write_incidents(ctx: Ctx, chunk: list[engine.SimCall], priority: dict[str, int], rules: Any,
                     agencies: dict[str, int], operators: list[int], response: _Response, note: str,
                     result: WriteResult) -> dict[int, int]:
    emergencies = [c for c in chunk if c.answered_at is not None and c.outcome == "emergency" and c.category]
    if not emergencies:
        return {}
    created = {c.seq: c.answered_at + timedelta(seconds=c.handle_s * 0.6) for c in emergencies}  # type: ignore[operator]
    zone = site_zone(ctx.settings)
    numbers = _numbers(ctx, Counter(zone.local(created[c.seq]).year for c in emergencies))
    rows, plans = [], []
    for c in emergencies:
        at = created[c.seq]
        prio = priority.get(c.subcategory or "", priority.get(c.category or "", 3))
        local = zone.local(at)
        facts = Facts(c.category or "", c.subcategory, prio, c.place.kode, {}, local.hour)
        codes = [code for rule in choose_rules(rules, facts) for code in (rule.agency_codes or [])]
        chosen = [agencies[code] for code in dict.fromkeys(codes) if code in agencies]
        steps = [response.times(at, c.place.kecamatan in ISLANDS) for _ in chosen]
        resolved = max((s["cleared_at"] for s in steps), default=at + timedelta(minutes=30))
        plans.append((chosen, steps))
        rows.append({
            "number": f"{ctx.settings.incident_prefix}-{local.year}-{next(numbers[local.year]):06d}",
            "category_code": c.category, "subcategory_code": c.subcategory, "priority": prio, "status": "closed",
            "lat": c.lat, "lon": c.lon, "kode_wilayah": c.place.kode,
            "address_text": f"{c.place.name}, Kec. {c.place.kecamatan_name}", "patokan": "", "landmark_id": None,
            "description": f"[{note}]", "created_at": at,
            "created_by": operators[c.server % len(operators)] if operators and c.server is not None else None,
            "resolved_at": resolved, "closed_at": resolved + timedelta(minutes=20), "outcome_note": note,
            "answers": {}, "version": 1,
        })
    ids = ctx.db.execute(insert(Incident).returning(Incident.id, sort_by_parameter_order=True), rows).scalars().all()
    assignment_rows = [{"incident_id": incident_id, "agency_id": agency_id, "state": "cleared", **step,
                        "declined_at": None, "cancelled_at": None, "stood_down_at": None, "reason": "",
                        "escalation_level": 0, "escalated_at": None, "version": 1}
                       for incident_id, (chosen, steps) in zip(ids, plans, strict=True)
                       for agency_id, step in zip(chosen, steps, strict=True)]
    if assignment_rows:
        ctx.db.execute(insert(Assignment), assignment_rows)
    result.incidents += len(ids)
    result.assignments += len(assignment_rows)
    return {c.seq: incident_id for c, incident_id in zip(emergencies, ids, strict=True)}
