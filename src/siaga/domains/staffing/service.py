"""Staffing from the centre's own history: arrivals by hour of the week, handle times and caller patience
measured in the calls table (one grouped query, the same on SQLite and PostgreSQL), then the operators
needed each hour (plan.py) and a roster.

- Arrivals: calls offered in each hour of the week in the site's zone (WIB for Bengkalis), divided by
  how many times that hour occurs in the period. Every offered call counts, prank and ghost calls too: they take
  an operator's time.
- Handle time: answered → ended, over answered calls that have ended (0 s .. 4 h; longer is a call left
  open, not work).
- Patience: the maximum-likelihood estimate for exponential patience with censoring — the time every
  caller was seen waiting (offered → answered, or offered → hang-up) divided by the number of hang-ups
  before an answer (abandoned and missed-out-of-hours calls). Without hang-ups there is no estimate and
  the model is Erlang C.
- Pickup delay (issue #17, plan.py's docstring): answered − ringing_at (the first ring at an operator's phone)
  over answered calls that rang (0 s .. 10 min), its median; and the share of the calls that rang at an
  operator which were answered (the callers who stay through the ring). Without a measured pickup the
  configured default (SIAGA_PICKUP_DEFAULT_SECONDS) is used and the stay comes from the patience.
- Calls made by `siaga simulate` (calls/marks.py) are left out unless `include_simulated`: the
  history is the centre's real work; `History.simulated` counts what was left out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Float, and_, case, cast, extract, func, select
from sqlalchemy.orm import Session

from siaga.core.clock import SiteZone
from siaga.domains.calls.marks import real_call, simulated_call
from siaga.domains.calls.models import Call
from siaga.domains.kpi.definitions import percentile
from siaga.domains.kpi.sql import local_of_cell, utc_cell
from siaga.domains.staffing import plan, schemas

MAX_HANDLE_S = 4 * 3600
MAX_PICKUP_S = 600
DEFAULT_PICKUP_S = 5.0
MAX_PERIOD_DAYS = 3 * 366
DEFAULT_PERIOD_DAYS = 56  # eight weeks: every hour of the week seen eight times


@dataclass
class History:
    period_from: date
    period_to: date  # inclusive
    occurrences: list[int]  # how many times each hour of the week falls in the period
    offered: list[int]  # calls offered per hour of the week
    answered: int
    abandoned: int  # hung up before an answer (abandoned or missed out of hours)
    handle_sum_s: float
    handle_n: int
    exposure_s: float  # waiting time seen, answered and abandoned callers alike
    simulated: int = 0  # calls of the period made by `siaga simulate`
    simulated_included: bool = False
    pickups: list[float] = field(default_factory=list)  # measured pickup delays, sorted
    rang: int = 0  # calls that rang at an operator's phone
    rang_answered: int = 0  # ... and were answered

    @property
    def pickup_s(self) -> float | None:
        return percentile(self.pickups, 50)

    @property
    def pickup_stay(self) -> float | None:
        return self.rang_answered / self.rang if self.rang and self.rang_answered else None

    @property
    def handle_s(self) -> float | None:
        return self.handle_sum_s / self.handle_n if self.handle_n else None

    @property
    def patience_s(self) -> float | None:
        return self.exposure_s / self.abandoned if self.abandoned and self.exposure_s > 0 else None

    @property
    def arrivals_per_hour(self) -> list[float]:
        return [o / n if n else 0.0 for o, n in zip(self.offered, self.occurrences, strict=True)]


def hour_occurrences(period_from: date, period_to: date) -> list[int]:
    counts = [0] * plan.HOURS_PER_WEEK
    day = period_from
    while day <= period_to:
        base = day.weekday() * 24
        for h in range(24):
            counts[base + h] += 1
        day += timedelta(days=1)
    return counts


def _hour_of_week(cell: str | datetime, zone: SiteZone) -> int:
    """Monday 00:00 local = 0 ... Sunday 23:00 local = 167, of a UTC hour (or quarter) from kpi.sql.utc_cell:
    the database groups by UTC hour as the KPIs do, Python (zoneinfo) places each group in the site's week,
    so SQLite and PostgreSQL agree and no zone offset is written into SQL."""
    local = local_of_cell(cell, zone)
    return local.weekday() * 24 + local.hour


def _seconds(dialect: str, end, start):  # type: ignore[no-untyped-def]
    if dialect == "postgresql":
        return cast(extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def history(db: Session, period_from: date, period_to: date, zone: SiteZone,
            include_simulated: bool = False) -> History:
    """The calls offered from 00:00 local on `period_from` to 24:00 local on `period_to` (both days whole),
    in the site's zone."""
    dialect = db.get_bind().dialect.name
    start, end = zone.day_start(period_from), zone.day_start(period_to + timedelta(days=1))
    cell = utc_cell(Call.offered_at, zone.whole_hours).label("cell")
    offered_in_period = and_(Call.offered_at >= start, Call.offered_at < end)
    simulated = db.scalar(select(func.count()).select_from(Call).where(offered_in_period, simulated_call())) or 0
    in_period = offered_in_period if include_simulated else and_(offered_in_period, real_call())
    offered = [0] * plan.HOURS_PER_WEEK
    for c, n in db.execute(select(cell, func.count()).where(in_period).group_by(cell)).all():
        if c is not None:
            offered[_hour_of_week(c, zone)] += int(n)
    handle = _seconds(dialect, Call.ended_at, Call.answered_at)
    waited_answered = _seconds(dialect, Call.answered_at, Call.offered_at)
    waited_abandoned = _seconds(dialect, Call.ended_at, Call.offered_at)
    handled = and_(Call.answered_at.is_not(None), Call.ended_at.is_not(None), handle >= 0, handle <= MAX_HANDLE_S)
    gave_up = and_(Call.answered_at.is_(None), Call.ended_at.is_not(None), waited_abandoned >= 0)
    row = db.execute(select(
        func.count(Call.answered_at),
        func.coalesce(func.sum(case((gave_up, 1), else_=0)), 0),
        func.coalesce(func.sum(case((handled, handle), else_=0.0)), 0.0),
        func.coalesce(func.sum(case((handled, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(Call.answered_at.is_not(None), waited_answered >= 0), waited_answered),
                                    (gave_up, waited_abandoned), else_=0.0)), 0.0),
    ).where(in_period)).one()
    pickup = _seconds(dialect, Call.answered_at, Call.ringing_at)
    rang = db.execute(select(func.count(), func.count(Call.answered_at))
                      .where(in_period, Call.ringing_at.is_not(None))).one()
    pickups = sorted(float(v) for v in db.scalars(select(pickup).where(
        in_period, Call.ringing_at.is_not(None), Call.answered_at.is_not(None), pickup >= 0,
        pickup <= MAX_PICKUP_S)))
    return History(period_from=period_from, period_to=period_to, pickups=pickups, rang=int(rang[0]),
                   rang_answered=int(rang[1]),
                   occurrences=hour_occurrences(period_from, period_to), offered=offered,
                   answered=int(row[0]), abandoned=int(row[1]), handle_sum_s=float(row[2]),
                   handle_n=int(row[3]), exposure_s=float(row[4]), simulated=int(simulated),
                   simulated_included=include_simulated)


def default_period(now: datetime, zone: SiteZone) -> tuple[date, date]:
    today = zone.today(now)
    return today - timedelta(days=DEFAULT_PERIOD_DAYS), today - timedelta(days=1)


def staffing(db: Session, now: datetime, zone: SiteZone, period_from: date | None, period_to: date | None,
             target: float, within_s: float, min_operators: int = 1,
             include_simulated: bool = False, default_pickup_s: float = DEFAULT_PICKUP_S) -> schemas.StaffingOut:
    default_from, default_to = default_period(now, zone)
    if period_from is None and period_to is not None:
        period_from = period_to - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if period_to is None and period_from is not None:
        period_to = min(default_to, period_from + timedelta(days=DEFAULT_PERIOD_DAYS - 1))
        period_to = max(period_to, period_from)
    period_from, period_to = period_from or default_from, period_to or default_to
    hist = history(db, period_from, period_to, zone, include_simulated)
    return build(hist, target, within_s, min_operators, default_pickup_s)


def build(hist: History, target: float, within_s: float, min_operators: int = 1,
          default_pickup_s: float = DEFAULT_PICKUP_S) -> schemas.StaffingOut:
    handle_s, patience_s = hist.handle_s, hist.patience_s
    measured = hist.pickup_s
    pickup = plan.Pickup(delay_s=measured if measured is not None else default_pickup_s,
                         stay=hist.pickup_stay if measured is not None else None)
    p = patience_s if patience_s is not None else math.inf
    method = "no_data" if handle_s is None else ("erlang_a" if patience_s is not None else "erlang_c")
    rates = hist.arrivals_per_hour
    if handle_s is None:  # nothing answered yet: only the minimum cover can be said
        hours = [plan.HourNeed(h, rates[h], min_operators, 0.0, 0.0, 0.0) for h in range(plan.HOURS_PER_WEEK)]
    else:
        hours = plan.needs(rates, handle_s, p, target, within_s, min_operators, pickup)
    required = [h.operators for h in hours]
    shifts = plan.roster(required) if any(required) else []
    on_duty = plan.on_duty(shifts)
    expected_within = None
    if handle_s is not None:
        expected_within = plan.expected_within(on_duty, rates, handle_s, p, within_s, pickup)
    return schemas.StaffingOut(
        period_from=hist.period_from, period_to=hist.period_to,
        days=(hist.period_to - hist.period_from).days + 1,
        target=target, within_s=within_s, min_operators=min_operators, method=method,
        calls_offered=sum(hist.offered), calls_answered=hist.answered, calls_abandoned=hist.abandoned,
        simulated_included=hist.simulated_included, simulated_calls=hist.simulated,
        handle_s=round(handle_s, 1) if handle_s is not None else None,
        patience_s=round(patience_s, 1) if patience_s is not None else None,
        pickup_s=round(pickup.delay_s, 1), pickup_source="measured" if measured is not None else "default",
        pickup_measured=len(hist.pickups),
        pickup_stay=round(pickup.stay_with(p), 4) if handle_s is not None else None,
        pickup_ceiling=round(pickup.stay_with(p), 4) if handle_s is not None else None,
        peak_operators=max(required) if required else 0,
        required_operator_hours_per_week=sum(required),
        hours=[schemas.HourOut(weekday=h.how // 24, hour=h.how % 24, calls=hist.offered[h.how],
                               arrivals_per_hour=round(h.arrivals_per_hour, 3), operators=h.operators,
                               answered_within=round(h.answered_within, 4), abandon=round(h.abandon, 4),
                               occupancy=round(h.occupancy, 4)) for h in hours],
        roster=schemas.RosterOut(
            shift_hours=plan.DEFAULT_SHIFT_HOURS, shift_starts=list(plan.DEFAULT_SHIFT_STARTS),
            shifts=[schemas.ShiftOut(weekday=s.weekday, start_hour=s.start_hour, hours=s.hours,
                                     operators=s.operators) for s in shifts],
            operator_hours_per_week=sum(s.operators * s.hours for s in shifts),
            on_duty=on_duty,
            expected_answered_within=round(expected_within, 4) if expected_within is not None else None),
    )
