"""Simulation scenarios (data/bengkalis/scenarios/*.json) and rosters: who is on duty when.

A scenario says how calls arrive (a total or a daily rate, shaped by hour of day and weekday, holidays
apart), what callers want (the outcome an answered call gets), how long calls take, how long callers
wait before hanging up, where they call from (kecamatan weights over the gazetteer's desa points), the
emergency categories, and the roster the centre ran. Everything is checked when read, with messages
that name the field."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from siaga.core.clock import SiteZone
from siaga.domains.staffing import plan
from siaga.settings import SHIPPED_SITE

SCENARIO_DIR = SHIPPED_SITE / "scenarios"
INTENTS = ("emergency", "information", "prank", "ghost", "wrong_number", "test")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScenarioError(ValueError):
    """A scenario or roster that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Lognormal:
    mean: float
    cv: float

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log(1.0 + self.cv ** 2))

    @property
    def mu(self) -> float:
        return math.log(self.mean) - self.sigma ** 2 / 2.0


@dataclass(frozen=True)
class Roster:
    """Operators on duty per hour of the week (local hours of the site's zone), optionally nobody on public
    holidays."""

    label: str
    weekly: tuple[int, ...]  # 168, Monday 00:00 local first
    closed_on_holidays: bool = False
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.weekly) != plan.HOURS_PER_WEEK or any(n < 0 for n in self.weekly):
            raise ScenarioError("a roster needs 168 non-negative operator counts (Monday 00:00 local first)")

    def operators_at(self, when: datetime, zone: SiteZone) -> int:
        local = zone.local(when)
        if self.closed_on_holidays and local.date() in self.holidays:
            return 0
        return self.weekly[local.weekday() * 24 + local.hour]

    @property
    def max_operators(self) -> int:
        return max(self.weekly)

    @property
    def operator_hours_per_week(self) -> int:
        return sum(self.weekly)

    def describe(self) -> str:
        days = []
        for d in range(7):
            hours = self.weekly[d * 24:(d + 1) * 24]
            if not any(hours):
                continue
            if len(set(hours)) == 1:
                days.append(f"{WEEKDAYS[d]} 00-24 ×{hours[0]}")
                continue
            spans, start = [], None
            for h in range(25):
                n = hours[h] if h < 24 else -1
                if start is None or n != hours[start]:
                    if start is not None and hours[start] > 0:
                        spans.append(f"{start:02d}-{h:02d} ×{hours[start]}")
                    start = h if h < 24 else None
            days.append(f"{WEEKDAYS[d]} " + ", ".join(spans))
        text = "; ".join(days) or "nobody on duty"
        return text + ("; closed on public holidays" if self.closed_on_holidays else "")


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    start: date
    end: date  # inclusive
    seed: int
    offered_total: int | None
    calls_per_day: float | None
    hourly_profile: tuple[float, ...]
    weekday_factor: tuple[float, ...]
    holidays: frozenset[date]
    holiday_factor: float
    intents: dict[str, float]
    handle: dict[str, Lognormal]
    short_hangup_share: float
    short_hangup_mean_s: float
    patience_mean_s: float
    ring_timeout_s: float
    answer_delay_s: tuple[float, float]
    roster: Roster
    categories: dict[str, float]
    kecamatan_weights: dict[str, float]
    subcategory_share: float
    prank_pool: int
    prank_repeat_share: float
    withheld_share: float
    expected: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def day_weight(self, day: date) -> float:
        return self.holiday_factor if day in self.holidays else self.weekday_factor[day.weekday()]

    def days(self, start: date | None = None, end: date | None = None) -> list[date]:
        first, last = start or self.start, end or self.end
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def mean_handle_s(self) -> float:
        return sum(self.intents[k] * self.handle[k].mean for k in INTENTS)

    def mean_patience_s(self) -> float:
        """Mean of the patience mixture (short hang-ups and the rest), capped by the ring timeout."""
        def capped(mean: float) -> float:  # E[min(Exp(mean), T)]
            return mean * (1.0 - math.exp(-self.ring_timeout_s / mean))
        s = self.short_hangup_share
        return s * capped(self.short_hangup_mean_s) + (1 - s) * capped(self.patience_mean_s)

    def patience_survival(self, seconds: float) -> float:
        """P(a caller is still on the line after `seconds`): the mixture of exponentials, cut at the ring
        timeout."""
        if seconds >= self.ring_timeout_s:
            return 0.0
        s = self.short_hangup_share
        return s * math.exp(-seconds / self.short_hangup_mean_s) + (1 - s) * math.exp(-seconds / self.patience_mean_s)

    def pickup(self) -> plan.Pickup:
        """The staffing module's pickup model of this scenario's callers and operators: the median of the
        pickup delay (uniform over `answer_delay_s`) and the share of callers who stay through it (their
        patience survival averaged over the delay), as `siaga staffing` measures both in a centre's history."""
        low, high = self.answer_delay_s
        points = [low + (high - low) * (k + 0.5) / 200 for k in range(200)]  # midpoint rule
        stay = sum(self.patience_survival(d) for d in points) / len(points)
        return plan.Pickup(delay_s=(low + high) / 2, stay=max(stay, 1e-9))

    def arrivals_per_hour_of_week(self, start: date | None = None, end: date | None = None) -> list[float]:
        """Expected calls offered in each hour of the week (the average over the period's days)."""
        days = self.days(start, end)
        profile = _normalised(self.hourly_profile)
        per_day = self.calls_per_day
        if self.offered_total is not None:
            per_day = self.offered_total / sum(self.day_weight(d) / _mean(self.weekday_factor) for d in
                                               self.days())
        assert per_day is not None
        sums = [0.0] * plan.HOURS_PER_WEEK
        counts = [0] * plan.HOURS_PER_WEEK
        for d in days:
            w = self.day_weight(d) / _mean(self.weekday_factor)
            for h in range(24):
                sums[d.weekday() * 24 + h] += per_day * w * profile[h]
                counts[d.weekday() * 24 + h] += 1
        return [s / c if c else 0.0 for s, c in zip(sums, counts, strict=True)]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _normalised(values: Sequence[float]) -> list[float]:
    total = sum(values)
    return [v / total for v in values]


def available() -> dict[str, Path]:
    """Scenario name → file. The name is the file's `name` (e.g. trial-2025 for trial_2025.json)."""
    out = {}
    for path in sorted(SCENARIO_DIR.glob("*.json")):
        try:
            name = json.loads(path.read_text(encoding="utf-8")).get("name") or path.stem
        except (OSError, json.JSONDecodeError):
            name = path.stem
        out[str(name)] = path
    return out


def load(name_or_path: str) -> Scenario:
    known = available()
    path = known.get(name_or_path) or known.get(name_or_path.replace("_", "-"))
    if path is None:
        candidate = Path(name_or_path)
        if candidate.suffix == ".json" and candidate.is_file():
            path = candidate
        else:
            raise ScenarioError(f"unknown scenario {name_or_path!r}; known: {', '.join(sorted(known)) or 'none'} "
                                "(or give a path to a .json file)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from exc
    return parse(data, default_name=path.stem)


def _get(data: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if key not in data:
        if default is ...:
            raise ScenarioError(f"scenario field {key!r} is missing")
        return default
    value = data[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ScenarioError(f"scenario field {key!r} has the wrong type")
    return value


def _day(value: Any, key: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ScenarioError(f"scenario field {key!r}: not a date (YYYY-MM-DD): {value!r}") from exc


def _numbers(value: Any, key: str, length: int) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != length or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value):
        raise ScenarioError(f"scenario field {key!r} needs {length} non-negative numbers")
    if not sum(value) > 0:
        raise ScenarioError(f"scenario field {key!r} must not be all zero")
    return tuple(float(v) for v in value)


def _share(value: Any, key: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ScenarioError(f"scenario field {key!r} must be a share between 0 and 1")
    return float(value)


def _weights(value: Any, key: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value.values()):
        raise ScenarioError(f"scenario field {key!r} needs a map of names to non-negative weights")
    total = sum(value.values())
    if not total > 0:
        raise ScenarioError(f"scenario field {key!r} must not be all zero")
    return {str(k): float(v) / total for k, v in value.items()}


def parse_roster(spec: Any, label: str, holidays: frozenset[date] = frozenset()) -> Roster:
    """{"shifts": [{"days": ["mon", ...] or "mon-fri" or "all", "from": 8, "to": 16, "operators": 1}],
    "closed_on_holidays": true} or {"weekly": [168 counts]}. `to` may wrap past midnight (22 → 6)."""
    if not isinstance(spec, dict):
        raise ScenarioError("a roster is a JSON object with 'shifts' or 'weekly'")
    closed = bool(spec.get("closed_on_holidays", False))
    if "weekly" in spec:
        weekly = spec["weekly"]
        if not isinstance(weekly, list) or len(weekly) != plan.HOURS_PER_WEEK or not all(
                isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 500 for n in weekly):
            raise ScenarioError("roster 'weekly' needs 168 whole numbers 0..500, Monday 00:00 local first")
        return Roster(label, tuple(weekly), closed, holidays)
    shifts = spec.get("shifts")
    if not isinstance(shifts, list) or not shifts:
        raise ScenarioError("a roster needs 'shifts' (a list) or 'weekly' (168 counts)")
    weekly_counts = [0] * plan.HOURS_PER_WEEK
    for i, shift in enumerate(shifts):
        where = f"roster shift {i + 1}"
        if not isinstance(shift, dict):
            raise ScenarioError(f"{where}: an object with days, from, to, operators")
        days = _days(shift.get("days", "all"), where)
        start, stop, ops = shift.get("from"), shift.get("to"), shift.get("operators", 1)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop, ops)) \
                or not (0 <= start <= 23 and 0 <= stop <= 24 and 0 <= ops <= 500) or start == stop:
            raise ScenarioError(f"{where}: 'from' 0..23 and 'to' 0..24 (local hours, not equal) and 'operators' "
                                "0..500 must be whole numbers")
        length = (stop - start) % 24 or 24
        for d in days:
            for k in range(length):
                weekly_counts[(d * 24 + start + k) % plan.HOURS_PER_WEEK] += ops
    return Roster(label, tuple(weekly_counts), closed, holidays)


def _days(value: Any, where: str) -> list[int]:
    if value == "all":
        return list(range(7))
    if isinstance(value, str) and "-" in value:
        a, _, b = value.partition("-")
        if a in WEEKDAYS and b in WEEKDAYS:
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            return [(i + k) % 7 for k in range((j - i) % 7 + 1)]
    if isinstance(value, list) and value and all(v in WEEKDAYS for v in value):
        return [WEEKDAYS.index(v) for v in value]
    raise ScenarioError(f"{where}: 'days' is 'all', a range like 'mon-fri' or a list like ['sat', 'sun']")


def constant_roster(operators: int, label: str | None = None) -> Roster:
    return Roster(label or f"24x7:{operators}", tuple([operators] * plan.HOURS_PER_WEEK))


def parse(data: Any, default_name: str = "scenario") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a JSON object")
    start, end = _day(_get(data, "start", str), "start"), _day(_get(data, "end", str), "end")
    if start > end:
        raise ScenarioError("scenario 'start' is after 'end'")
    offered_total = _get(data, "offered_total", int, None)
    calls_per_day = _get(data, "calls_per_day", float, None)
    if (offered_total is None) == (calls_per_day is None):
        raise ScenarioError("give exactly one of 'offered_total' (calls in the whole period) and 'calls_per_day'")
    if offered_total is not None and not 0 <= offered_total <= 50_000_000:
        raise ScenarioError("'offered_total' must be 0..50,000,000")
    if calls_per_day is not None and not 0 <= calls_per_day <= 1_000_000:
        raise ScenarioError("'calls_per_day' must be 0..1,000,000")
    holidays = frozenset(_day(d, "holidays") for d in _get(data, "holidays", list, []))
    intents = _weights(_get(data, "intents", dict), "intents")
    unknown = set(intents) - set(INTENTS)
    if unknown:
        raise ScenarioError(f"unknown intents {sorted(unknown)}; use {', '.join(INTENTS)}")
    intents = {k: intents.get(k, 0.0) for k in INTENTS}
    handle_spec = _get(data, "handle_time_s", dict)
    handle = {}
    for k in INTENTS:
        spec = handle_spec.get(k)
        if not isinstance(spec, dict) or not all(isinstance(spec.get(x), int | float) for x in ("mean", "cv")) \
                or not (1 <= spec["mean"] <= 7200 and 0 <= spec["cv"] <= 5):
            raise ScenarioError(f"handle_time_s.{k} needs mean (1..7200 s) and cv (0..5)")
        handle[k] = Lognormal(float(spec["mean"]), float(spec["cv"]))
    patience = _get(data, "patience", dict)
    try:
        short_share_raw = patience["short_hangup_share"]
        short_mean = float(patience["short_hangup_mean_s"])
        patience_mean = float(patience["mean_s"])
        ring_timeout = float(patience.get("ring_timeout_s", 120))
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioError("patience needs short_hangup_share, short_hangup_mean_s, mean_s "
                            "(and optionally ring_timeout_s)") from exc
    short_share = _share(short_share_raw, "patience.short_hangup_share")
    if not (0 < short_mean <= 600 and 0 < patience_mean <= 3600 and 1 <= ring_timeout <= 3600):
        raise ScenarioError("patience times must be positive seconds (short ≤ 600, mean ≤ 3600, timeout ≤ 3600)")
    delay = _get(data, "answer_delay_s", list, [2, 6])
    if len(delay) != 2 or not all(isinstance(v, int | float) for v in delay) or not 0 <= delay[0] <= delay[1] <= 120:
        raise ScenarioError("answer_delay_s is [min, max] seconds, 0 ≤ min ≤ max ≤ 120")
    kecamatan = _weights(_get(data, "kecamatan_weights", dict), "kecamatan_weights")
    categories = _weights(_get(data, "categories", dict), "categories")
    callers = _get(data, "callers", dict, {})
    name = str(_get(data, "name", str, default_name))
    return Scenario(
        name=name, title=str(_get(data, "title", str, name)), description=str(_get(data, "description", str, "")),
        start=start, end=end, seed=int(_get(data, "seed", int, 1)),
        offered_total=offered_total, calls_per_day=calls_per_day,
        hourly_profile=_numbers(_get(data, "hourly_profile", list), "hourly_profile", 24),
        weekday_factor=_numbers(_get(data, "weekday_factor", list), "weekday_factor", 7),
        holidays=holidays, holiday_factor=float(_get(data, "holiday_factor", float, 1.0)),
        intents=intents, handle=handle, short_hangup_share=short_share, short_hangup_mean_s=short_mean,
        patience_mean_s=patience_mean, ring_timeout_s=ring_timeout,
        answer_delay_s=(float(delay[0]), float(delay[1])),
        roster=parse_roster(_get(data, "roster", dict), "scenario", holidays),
        categories=categories, kecamatan_weights=kecamatan,
        subcategory_share=_share(_get(data, "subcategory_share", float, 0.7), "subcategory_share"),
        prank_pool=int(callers.get("prank_pool", 150)),
        prank_repeat_share=_share(callers.get("prank_repeat_share", 0.6), "callers.prank_repeat_share"),
        withheld_share=_share(callers.get("withheld_share", 0.02), "callers.withheld_share"),
        expected=dict(_get(data, "expected", dict, {})), sources=list(_get(data, "sources", list, [])),
    )


def recommended_roster(scenario: Scenario, target: float = 0.9, within_s: float = 15.0,
                       min_operators: int = 1) -> Roster:
    """The staffing module's answer for the scenario's own demand: Erlang A per hour of the week
    (arrivals, mean handle time, mean patience, the pickup delay: `Scenario.pickup`), covered by 8-hour shifts at
    00/08/16 local time, every day."""
    rates = scenario.arrivals_per_hour_of_week()
    needs = plan.needs(rates, scenario.mean_handle_s(), scenario.mean_patience_s(), target, within_s, min_operators,
                       scenario.pickup())
    shifts = plan.roster([n.operators for n in needs])
    return Roster("recommended", tuple(plan.on_duty(shifts)), False, scenario.holidays)


def staffing_period(spec: str) -> tuple[date | None, date | None]:
    """'staffing' → (None, None): the staffing page's default period; 'staffing:FROM:TO' → those days."""
    parts = spec.split(":")
    if parts[0] != "staffing" or len(parts) not in (1, 3):
        raise ScenarioError("--roster staffing or staffing:YYYY-MM-DD:YYYY-MM-DD (the history to staff from)")
    if len(parts) == 1:
        return None, None
    first, last = _day(parts[1], "--roster staffing from"), _day(parts[2], "--roster staffing to")
    if first > last:
        raise ScenarioError("--roster staffing:FROM:TO: FROM is after TO")
    return first, last


def roster_of(label: str, on_duty: Sequence[int]) -> Roster:
    return Roster(label, tuple(int(n) for n in on_duty))


def resolve_roster(spec: str | None, scenario: Scenario) -> Roster:
    """'scenario' (what the scenario ran), 'recommended', '24x7:N', or a path to a roster JSON file.
    ('staffing[:FROM:TO]', the roster the staffing module suggests from the database's own history, needs
    the database: see cli/simulate.py.)"""
    if spec in (None, "", "scenario"):
        return scenario.roster
    if spec == "recommended":
        return recommended_roster(scenario)
    if spec.startswith("24x7:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            n = -1
        if not 0 <= n <= 500:
            raise ScenarioError("--roster 24x7:N needs N operators, 0..500")
        return constant_roster(n)
    path = Path(spec)
    if path.suffix == ".json" and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ScenarioError(f"cannot read roster {path}: {exc}") from exc
        return parse_roster(data, path.stem, scenario.holidays)
    raise ScenarioError(f"unknown roster {spec!r}: use scenario, recommended, staffing[:FROM:TO], 24x7:N "
                        "or a .json file")
