"""The KPI queries: counts gathered with SQL aggregates over a period [from, to) of the site's calendar days,
grouped by one dimension; the KPIs themselves are computed from those counts by `kpi/definitions.py` only.

Calls belong to the period in which they were offered; incidents (and their assignments, units and stage
times) to the period in which the incident was created. Grouping a call by category or kecamatan uses its
incident's (calls without an incident — pranks, ghosts, information — fall in the "none" group).

Rows made by `siaga simulate` (see `calls/marks.py`) are left out unless `include_simulated=True`;
`simulated_counts` says how many were left out."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any, Literal, get_args

import numpy as np
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from siaga.core.clock import SiteZone
from siaga.core.i18n import t
from siaga.domains.agencies.models import Agency
from siaga.domains.calls.marks import real_call, real_incident, simulated_call, simulated_incident
from siaga.domains.calls.models import CALL_OUTCOMES, Call
from siaga.domains.incidents.models import Assignment, Category, Incident, UnitAssignment
from siaga.domains.kpi.definitions import (
    ANSWER_TARGETS_S,
    PROCESSING_TARGET_S,
    STAGES,
    UNCLASSIFIED,
    CallCounts,
    ProcessingCounts,
    StageTimes,
    percentile,
)
from siaga.domains.kpi.sql import kecamatan_of, local_of_cell, seconds_between, utc_cell
from siaga.domains.regions.models import Region
from siaga.domains.users.models import User

TIME_DIMENSIONS = ("day", "week", "month", "hour", "dow")
DIMENSIONS = ("total", *TIME_DIMENSIONS, "category", "kecamatan", "agency", "operator")
Dimension = Literal["total", "day", "week", "month", "hour", "dow", "category", "kecamatan", "agency", "operator"]
assert get_args(Dimension) == DIMENSIONS
MAX_YEARS = 2
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 1, 1)
TOTAL = "all"

Key = str | int | None
Progress = Callable[[str], None]


class PeriodError(ValueError):
    """A period that cannot be reported: names the field and a stable code (API 422, CLI message)."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


class UnsupportedDimension(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """Calendar days [start_date, end_date) in the site's zone: 1 Oct → 1 Nov is October. The zone travels
    with the period, so every grouping of it (day, hour, day of week) is reckoned in the same zone."""

    start_date: date
    end_date: date
    zone: SiteZone

    @property
    def start(self) -> datetime:
        return self.zone.day_start(self.start_date)

    @property
    def end(self) -> datetime:
        return self.zone.day_start(self.end_date)

    @property
    def last_day(self) -> date:
        return self.end_date - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days

    def natural_grouping(self) -> str:
        """day for up to ~2 months, week up to ~6 months, month beyond."""
        return "day" if self.days <= 62 else "week" if self.days <= 190 else "month"


def make_period(start: date | None, end: date | None, zone: SiteZone) -> Period:
    if start is None:
        raise PeriodError("from", "missing", "from is required (YYYY-MM-DD, the first day)")
    if end is None:
        raise PeriodError("to", "missing", "to is required (YYYY-MM-DD, the day after the last one)")
    for name, value in (("from", start), ("to", end)):
        if not EARLIEST <= value <= LATEST:
            raise PeriodError(name, "out_of_range", f"{name} must lie between {EARLIEST} and {LATEST}")
    if end <= start:
        raise PeriodError("to", "period_order", f"to ({end}) must be after from ({start}); the period is [from, to)")
    try:
        limit = start.replace(year=start.year + MAX_YEARS)
    except ValueError:  # 29 February
        limit = start.replace(year=start.year + MAX_YEARS, month=3, day=1)
    if end > limit:
        raise PeriodError("to", "period_too_long", f"a period covers at most {MAX_YEARS} years "
                          f"(from {start}, to at most {limit})")
    return Period(start, end, zone)


def _in(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


# --- calls -------------------------------------------------------------------------------------------------

CALL_DIMENSIONS = ("total", *TIME_DIMENSIONS, "category", "kecamatan", "operator")
CALL_FIELDS = ("offered", "answered", "answered_10s", "answered_15s", "answered_20s", "answer_s_sum", "abandoned",
               *(f"o_{o}" for o in CALL_OUTCOMES))


def _call_raw_keys(dims: Iterable[str], zone: SiteZone) -> dict[str, ColumnElement[Any]]:
    """The columns a set of groupings needs: the UTC hour (sql.utc_cell) for every calendar grouping, the
    operator, and the incident's category and kecamatan."""
    raw: dict[str, ColumnElement[Any]] = {}
    for dim in dims:
        if dim not in CALL_DIMENSIONS:
            raise UnsupportedDimension(f"calls cannot be grouped by {dim}")
        if dim in TIME_DIMENSIONS:
            raw["cell"] = utc_cell(Call.offered_at, zone.whole_hours)
        elif dim == "operator":
            raw["operator"] = Call.operator_id
        elif dim == "category":
            raw["category"] = Incident.category_code
        elif dim == "kecamatan":
            raw["kecamatan"] = kecamatan_of(Incident.kode_wilayah)
    return raw


def _call_query(raw: dict[str, ColumnElement[Any]], period: Period, *columns: Any,
                include_simulated: bool = False) -> Any:
    query = select(*raw.values(), *columns).select_from(Call)
    if "category" in raw or "kecamatan" in raw:
        query = query.outerjoin(Incident, Incident.id == Call.incident_id)
    query = query.where(_in(Call.offered_at, period))
    return query if include_simulated else query.where(real_call())


def call_counts(db: Session, period: Period, by: str = "total", *,
                include_simulated: bool = False) -> dict[Key, CallCounts]:
    """The calls of the period grouped by one dimension (see `call_counts_by`)."""
    return call_counts_by(db, period, [by], include_simulated=include_simulated)[by]


def call_counts_by(db: Session, period: Period, dims: Iterable[str], *,
                   include_simulated: bool = False) -> dict[str, dict[Key, CallCounts]]:
    """Offered, answered, answered within 10/15/20 s, answer-time sum, abandoned and every outcome, and the
    average of the slowest 10%, per group of each requested grouping — in two scans of the period's calls
    whatever the number of groupings:

    1. one aggregate query grouped by the raw keys the groupings need (UTC hour, operator, category,
       kecamatan), rolled up in numpy into each grouping (counts and sums add up exactly);
    2. one streamed pass over the answered calls' answer times for COCOM's "average of the slowest 10%"
       (not additive): per group, the ceil(n/10) longest, exactly as `definitions.slowest_10pct_avg`."""
    dims = list(dict.fromkeys(dims))
    raw = _call_raw_keys(dims, period.zone)
    wait = seconds_between(Call.answered_at, Call.offered_at)

    def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    aggregates = [
        func.count(), func.count(Call.answered_at),
        *(count_if(wait <= s) for s in ANSWER_TARGETS_S),
        func.coalesce(func.sum(wait), 0.0),
        count_if(and_(Call.answered_at.is_(None), Call.outcome == "abandoned")),
        *(count_if(Call.outcome == o) for o in CALL_OUTCOMES),
    ]
    query = _call_query(raw, period, *aggregates, include_simulated=include_simulated)
    if raw:
        query = query.group_by(*raw.values())
    rows = db.connection().execute(query).cursor.fetchall()
    n_raw = len(raw)
    values = np.array([row[n_raw:] for row in rows], dtype=np.float64).reshape(len(rows), len(CALL_FIELDS))
    raw_keys = _RawKeys(rows, list(raw), period.zone)
    result: dict[str, dict[Key, CallCounts]] = {}
    for dim in dims:
        keys, index = raw_keys.group(dim)
        sums = np.zeros((len(keys), len(CALL_FIELDS)))
        np.add.at(sums, index, values)
        result[dim] = {key: _call_counts_of(sums[i]) for i, key in enumerate(keys)}

    # Pass 2: the answered calls' answer times, straight off the cursor (no row objects: 10^6 rows).
    pickup = seconds_between(Call.answered_at, Call.ringing_at)
    cursor = db.connection().execute(
        _call_query(raw, period, wait, pickup, include_simulated=include_simulated)
        .where(Call.answered_at.is_not(None))).cursor
    answered_rows = cursor.fetchall()
    waits = np.fromiter(map(itemgetter(n_raw), answered_rows), dtype=np.float64, count=len(answered_rows))
    pickups = np.array([np.nan if r[n_raw + 1] is None else float(r[n_raw + 1]) for r in answered_rows],
                       dtype=np.float64)
    answered_keys = _RawKeys(answered_rows, list(raw), period.zone)
    by_wait = np.argsort(-waits, kind="stable")
    sorted_waits = waits[by_wait]
    for dim in dims:
        keys, index = answered_keys.group(dim)
        for key, avg in zip(keys, _slowest_decile(index, by_wait, sorted_waits, len(keys)), strict=True):
            if key in result[dim] and not math.isnan(avg):
                result[dim][key].slowest_10pct_avg_s = round(float(avg), 2)
        for key, values in zip(keys, _pickups_by_group(index, pickups, len(keys)), strict=True):
            if key in result[dim] and len(values):
                ordered = values.tolist()
                counts = result[dim][key]
                counts.pickup_measured = len(ordered)
                counts.pickup_median_s, counts.pickup_p90_s = percentile(ordered, 50), percentile(ordered, 90)
    return {dim: _filled(period, dim, result[dim], CallCounts) for dim in dims}


def _call_counts_of(row: np.ndarray) -> CallCounts:
    v = dict(zip(CALL_FIELDS, row.tolist(), strict=True))
    outcomes = {o: int(v[f"o_{o}"]) for o in CALL_OUTCOMES}
    outcomes[UNCLASSIFIED] = int(v["offered"]) - sum(outcomes.values())
    return CallCounts(offered=int(v["offered"]), answered=int(v["answered"]), answered_10s=int(v["answered_10s"]),
                      answered_15s=int(v["answered_15s"]), answered_20s=int(v["answered_20s"]),
                      answer_s_sum=round(v["answer_s_sum"], 3), abandoned=int(v["abandoned"]), outcomes=outcomes)


def _pickups_by_group(index: np.ndarray, pickups: np.ndarray, groups: int) -> list[np.ndarray]:
    """Per group, its measured pickup delays sorted (calls that never rang at a phone, or whose answer came
    before the ring — a clock step — are not measured)."""
    measured = ~np.isnan(pickups) & (pickups >= 0) if len(pickups) else np.zeros(0, dtype=bool)
    idx, vals = index[measured], pickups[measured]
    order = np.lexsort((vals, idx))
    idx, vals = idx[order], vals[order]
    bounds = np.searchsorted(idx, np.arange(groups + 1))
    return [vals[bounds[g]:bounds[g + 1]] for g in range(groups)]


def _slowest_decile(index: np.ndarray, by_wait: np.ndarray, sorted_waits: np.ndarray, groups: int) -> np.ndarray:
    """Per group: the mean of its ceil(n/10) longest waits (NaN for a group without answered calls).
    `by_wait` orders all answered calls longest first (computed once); a stable sort by group keeps that
    order inside each group, so a call's rank in its group is its position minus the group's start."""
    if not len(sorted_waits):
        return np.full(groups, np.nan)
    in_wait_order = index[by_wait]
    small = in_wait_order.astype(np.int16) if groups < 2**15 else in_wait_order  # radix sort for small ints
    regroup = np.argsort(small, kind="stable")
    grp, waits = in_wait_order[regroup], sorted_waits[regroup]
    counts = np.bincount(grp, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    take = (counts + 9) // 10
    top = (np.arange(len(grp)) - starts[grp]) < take[grp]
    sums = np.bincount(grp[top], weights=waits[top], minlength=groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(take > 0, sums / np.maximum(take, 1), np.nan)


def _encode(values: list[Any]) -> tuple[list[Any], np.ndarray]:
    """Distinct values (first-seen order) and each value's position among them (C-speed: no Python loop)."""
    distinct = list(dict.fromkeys(values))
    position = {v: i for i, v in enumerate(distinct)}
    return distinct, np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values))


def _time_key(dim: str, local: datetime) -> Key:
    day = local.date()
    if dim == "day":
        return day.isoformat()
    if dim == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if dim == "month":
        return day.replace(day=1).isoformat()
    if dim == "hour":
        return local.hour
    return local.isoweekday()  # dow: 1 Monday .. 7 Sunday


class _RawKeys:
    """The raw key columns of one pass, each encoded once: distinct values and each row's code."""

    def __init__(self, rows: list[Any], names: list[str], zone: SiteZone) -> None:
        self.count = len(rows)
        self.encoded = {name: _encode(list(map(itemgetter(i), rows))) for i, name in enumerate(names)}
        if "cell" in self.encoded:
            self.local = [local_of_cell(cell, zone) for cell in self.encoded["cell"][0]]

    def group(self, dim: str) -> tuple[list[Key], np.ndarray]:
        """The groups of one grouping and each row's group."""
        if dim == "total":
            return [TOTAL], np.zeros(self.count, dtype=np.int64)
        if dim in TIME_DIMENSIONS:
            codes = self.encoded["cell"][1]
            mapped = [_time_key(dim, local) for local in self.local]
        else:
            distinct, codes = self.encoded[dim]
            mapped = [_key(dim, value) for value in distinct]
        keys, table = _encode(mapped)
        return keys, table[codes] if self.count else np.zeros(0, dtype=np.int64)


# --- incidents: NFPA 1225 processing -----------------------------------------------------------------------

PROCESSING_FIELDS = ("incidents", "measured", "within_60s", "processing_s_sum")


def _incident_raw_keys(dims: Iterable[str], zone: SiteZone) -> dict[str, ColumnElement[Any]]:
    raw: dict[str, ColumnElement[Any]] = {}
    for dim in dims:
        if dim not in DIMENSIONS:
            raise UnsupportedDimension(f"incidents cannot be grouped by {dim}")
        if dim in TIME_DIMENSIONS:
            raw["cell"] = utc_cell(Incident.created_at, zone.whole_hours)
        elif dim == "category":
            raw["category"] = Incident.category_code
        elif dim == "kecamatan":
            raw["kecamatan"] = kecamatan_of(Incident.kode_wilayah)
        elif dim == "operator":
            raw["operator"] = Incident.created_by
        elif dim == "agency":
            raw["agency"] = Assignment.agency_id
    return raw


def processing_counts(db: Session, period: Period, by: str = "total", *,
                      include_simulated: bool = False) -> dict[Key, ProcessingCounts]:
    return processing_counts_by(db, period, [by], include_simulated=include_simulated)[by]


def processing_counts_by(db: Session, period: Period, dims: Iterable[str], *,
                         include_simulated: bool = False) -> dict[str, dict[Key, ProcessingCounts]]:
    """Incidents created in the period and the NFPA 1225 processing time of each: first answered call of
    the incident → first unit dispatched to it, one aggregate query for every grouping but agency (rolled
    up like the calls). By agency: each agency's assignments, from the incident's first answer to that
    agency's first unit (a second query)."""
    dims = list(dict.fromkeys(dims))
    result: dict[str, dict[Key, ProcessingCounts]] = {}
    in_period = _in(Incident.created_at, period)
    counted_incidents = in_period if include_simulated else and_(in_period, real_incident(Incident.id))
    answered = Call.answered_at.is_not(None) if include_simulated else and_(Call.answered_at.is_not(None),
                                                                              real_call())
    first_answer = (select(Call.incident_id.label("iid"), func.min(Call.answered_at).label("t0"))
                    .join(Incident, Incident.id == Call.incident_id)
                    .where(in_period, answered)
                    .group_by(Call.incident_id).subquery("first_answer"))
    for group_dims in ([d for d in dims if d != "agency"], [d for d in dims if d == "agency"]):
        if not group_dims:
            continue
        raw = _incident_raw_keys(group_dims, period.zone)
        if "agency" in raw:
            dispatched: Any = Assignment.dispatched_at
            base = select().select_from(Incident).join(Assignment, Assignment.incident_id == Incident.id)
            counted: Any = Assignment.id
        else:
            first_unit = (select(UnitAssignment.incident_id.label("iid"),
                                 func.min(UnitAssignment.dispatched_at).label("t1"))
                          .join(Incident, Incident.id == UnitAssignment.incident_id).where(in_period)
                          .group_by(UnitAssignment.incident_id).subquery("first_unit"))
            dispatched = first_unit.c.t1
            base = select().select_from(Incident).outerjoin(first_unit, first_unit.c.iid == Incident.id)
            counted = Incident.id
        processing = seconds_between(dispatched, first_answer.c.t0)
        query = (base.outerjoin(first_answer, first_answer.c.iid == Incident.id)
                 .add_columns(*raw.values(), func.count(counted), func.count(processing),
                              func.coalesce(func.sum(case((processing <= PROCESSING_TARGET_S, 1), else_=0)), 0),
                              func.coalesce(func.sum(processing), 0.0))
                 .where(counted_incidents))
        if raw:
            query = query.group_by(*raw.values())
        rows = db.connection().execute(query).cursor.fetchall()
        values = np.array([row[len(raw):] for row in rows], dtype=np.float64).reshape(len(rows), 4)
        raw_keys = _RawKeys(rows, list(raw), period.zone)
        for dim in group_dims:
            keys, index = raw_keys.group(dim)
            sums = np.zeros((len(keys), 4))
            np.add.at(sums, index, values)
            found = {key: ProcessingCounts(incidents=int(v[0]), measured=int(v[1]), within_60s=int(v[2]),
                                           processing_s_sum=round(float(v[3]), 3))
                     for key, v in zip(keys, sums, strict=True)}
            result[dim] = _filled(period, dim, found, ProcessingCounts)
    return {dim: result[dim] for dim in dims}


# --- agencies: stage times ---------------------------------------------------------------------------------

def stage_times(db: Session, period: Period, by: str = "agency", *,
                include_simulated: bool = False) -> dict[Key, StageTimes]:
    return stage_times_by(db, period, [by], include_simulated=include_simulated)[by]


def stage_times_by(db: Session, period: Period, dims: Iterable[str], *,
                   include_simulated: bool = False) -> dict[str, dict[Key, StageTimes]]:
    """Each assignment's stage times (definitions.StageTimes), grouped, from one query; medians and 90th
    percentiles are taken from the values in Python (`definitions.percentile`: SQLite has no percentile
    aggregate). Assignments are far fewer than calls: a year of a busy centre is some 10^5 rows."""
    dims = list(dict.fromkeys(dims))
    raw = _incident_raw_keys(dims, period.zone)
    stage_columns = [seconds_between(getattr(Assignment, end), getattr(Assignment, start))
                     for _name, start, end in STAGES]
    query = (select(*raw.values(), *stage_columns).select_from(Assignment)
             .join(Incident, Incident.id == Assignment.incident_id).where(_in(Incident.created_at, period)))
    if not include_simulated:
        query = query.where(real_incident(Incident.id))
    rows = db.connection().execute(query).cursor.fetchall()
    matrix = np.array([row[len(raw):] for row in rows], dtype=np.float64).reshape(len(rows), len(STAGES))
    raw_keys = _RawKeys(rows, list(raw), period.zone)
    result: dict[str, dict[Key, StageTimes]] = {}
    for dim in dims:
        keys, index = raw_keys.group(dim)
        found = {key: StageTimes(assignments=int(n))
                 for key, n in zip(keys, np.bincount(index, minlength=len(keys)), strict=True)}
        for column, (name, _start, _end) in enumerate(STAGES):
            measured = ~np.isnan(matrix[:, column])  # NULL (a stage not reached) reads as NaN
            group, value = index[measured], matrix[measured, column]
            order = np.lexsort((value, group))
            group, value = group[order], value[order]
            bounds = np.searchsorted(group, np.arange(len(keys) + 1))
            for i, key in enumerate(keys):
                found[key].values[name] = value[bounds[i]:bounds[i + 1]].tolist()
        result[dim] = _filled(period, dim, found, StageTimes)
    return result


# --- simulated rows -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SimulatedCounts:
    """Rows of the period made by `siaga simulate`; `included` says whether the figures count them."""

    calls: int
    incidents: int
    included: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"included": self.included, "calls": self.calls, "incidents": self.incidents}


def simulated_counts(db: Session, period: Period, *, included: bool = False) -> SimulatedCounts:
    """How many of the period's calls and incidents the simulator made (see `calls/marks.py`)."""
    calls = db.scalar(select(func.count()).select_from(Call)
                      .where(_in(Call.offered_at, period), simulated_call())) or 0
    incidents = db.scalar(select(func.count()).select_from(Incident)
                          .where(_in(Incident.created_at, period), simulated_incident(Incident.id))) or 0
    return SimulatedCounts(calls=int(calls), incidents=int(incidents), included=included)


# --- keys and labels ---------------------------------------------------------------------------------------

def _key(by: str, raw: Any) -> Key:
    if raw is None:
        return None
    if by in ("hour", "dow", "agency", "operator"):
        return int(raw)
    return str(raw)


def time_keys(period: Period, by: str) -> list[Key]:
    """Every bucket of a time dimension in the period, so a quiet hour or day shows as zero."""
    if by == "hour":
        return list(range(24))
    if by == "dow":
        return list(range(1, 8))
    keys: list[Key] = []
    day = period.start_date
    if by == "week":
        day -= timedelta(days=day.weekday())
    elif by == "month":
        day = day.replace(day=1)
    while day < period.end_date:
        keys.append(day.isoformat())
        if by == "day":
            day += timedelta(days=1)
        elif by == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys


def _filled(period: Period, by: str, found: dict[Key, Any], empty: Callable[[], Any]) -> dict[Key, Any]:
    if by == "total":
        return {TOTAL: found.get(TOTAL) or empty()}
    if by in TIME_DIMENSIONS:
        return {k: found.get(k) or empty() for k in time_keys(period, by)}
    return dict(sorted(found.items(), key=lambda kv: (kv[0] is None, str(kv[0]))))


def month_name(month: int, lang: str) -> str:
    return t(f"month.{month}", lang)


def format_day(day: date, lang: str) -> str:
    return f"{day.day} {month_name(day.month, lang)} {day.year}"


def labels(db: Session, by: str, keys: Iterable[Key], lang: str) -> dict[Key, str]:
    """What to call each group, in the reader's language: category names, kecamatan names, agency short
    names, operators' full names, local hours ("08:00"), days of the week, dates ("1 Oktober 2026")."""
    keys = list(keys)
    none = t("kpi.none", lang)
    if by == "total":
        return {k: t("kpi.total", lang) for k in keys}
    if by == "hour":
        return {k: f"{k:02d}:00" for k in keys if isinstance(k, int)}
    if by == "dow":
        return {k: t(f"dow.{k}", lang) for k in keys if isinstance(k, int)}
    if by in ("day", "week"):
        return {k: format_day(date.fromisoformat(k), lang) for k in keys if isinstance(k, str)}
    if by == "month":
        return {k: f"{month_name(int(k[5:7]), lang)} {k[:4]}" for k in keys if isinstance(k, str)}
    names: dict[Any, str] = {}
    wanted = [k for k in keys if k is not None]
    if by == "category" and wanted:
        column = Category.name_id if lang == "id" else Category.name_en
        names = dict(db.execute(select(Category.code, column).where(Category.code.in_(wanted))).all())
    elif by == "kecamatan" and wanted:
        names = dict(db.execute(select(Region.kode, Region.name).where(Region.kode.in_(wanted))).all())
    elif by == "agency" and wanted:
        names = dict(db.execute(select(Agency.id, Agency.short_name).where(Agency.id.in_(wanted))).all())
    elif by == "operator" and wanted:
        names = dict(db.execute(select(User.id, User.full_name).where(User.id.in_(wanted))).all())
    return {k: (none if k is None else names.get(k, str(k))) for k in keys}
