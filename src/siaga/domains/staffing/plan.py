"""Operators needed each hour of the week, and a shift roster that covers them. Pure functions: the
demand (calls per hour, handle time, patience) comes from the centre's history (service.py) or from a
simulation scenario (domains/simulate).

The target is the wallboard's: **answered within `within_s` seconds, as a share of offered calls**
(callers who hang up first count against it), NENA-STA-020.1's 90% within 15 s by default. With a
patience estimate the model is Erlang A (callers give up); without one (no hang-ups in the history) it
falls back to Erlang C, where every caller waits for an answer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from siaga.domains.staffing.erlang import erlang_a

HOURS_PER_WEEK = 168
MAX_OPERATORS = 500
DEFAULT_SHIFT_STARTS = (0, 8, 16)  # local hours: three 8-hour shifts a day
DEFAULT_SHIFT_HOURS = 8


@dataclass(frozen=True)
class HourNeed:
    how: int  # hour of the week: weekday * 24 + hour, Monday 00:00 local = 0
    arrivals_per_hour: float
    operators: int
    answered_within: float  # predicted share of offered calls answered within the target time
    abandon: float  # predicted share of offered calls that hang up before an answer
    occupancy: float


@lru_cache(maxsize=4096)
def predict(operators: int, arrivals_per_hour: float, handle_s: float, patience_s: float,
            within_s: float) -> tuple[float, float, float]:
    """(answered within t / offered, abandoned / offered, occupancy) for one hour."""
    r = erlang_a(operators, arrivals_per_hour / 3600.0, handle_s, patience_s, within_s)
    return r.p_answered_within, r.p_abandon, r.occupancy


def operators_needed(arrivals_per_hour: float, handle_s: float, patience_s: float, target: float,
                     within_s: float, min_operators: int = 1) -> int:
    """The fewest operators (at least `min_operators`) that answer `target` of offered calls within t."""
    if not 0 < target < 1:
        raise ValueError("target must be between 0 and 1 (exclusive)")
    n = max(1, min_operators)
    if arrivals_per_hour <= 0:
        return max(0, min_operators)
    if math.isinf(patience_s):  # Erlang C: below the offered load the queue never settles
        n = max(n, math.floor(arrivals_per_hour * handle_s / 3600.0) + 1)
    while n < MAX_OPERATORS:
        if predict(n, round(arrivals_per_hour, 9), handle_s, patience_s, within_s)[0] >= target:
            return n
        n += 1
    return MAX_OPERATORS


def needs(arrivals_per_hour: Sequence[float], handle_s: float, patience_s: float, target: float,
          within_s: float, min_operators: int = 1) -> list[HourNeed]:
    """One HourNeed per hour of the week (168 rates in, Monday 00:00 local first)."""
    if len(arrivals_per_hour) != HOURS_PER_WEEK:
        raise ValueError("give 168 hourly arrival rates, Monday 00:00 first")
    out = []
    for how, rate in enumerate(arrivals_per_hour):
        n = operators_needed(rate, handle_s, patience_s, target, within_s, min_operators)
        if n == 0 or rate <= 0:
            out.append(HourNeed(how, rate, n, 1.0, 0.0, 0.0))
            continue
        within, abandon, occupancy = predict(n, round(rate, 9), handle_s, patience_s, within_s)
        out.append(HourNeed(how, rate, n, within, abandon, occupancy))
    return out


@dataclass(frozen=True)
class Shift:
    weekday: int  # 0 = Monday
    start_hour: int  # local hour (site's zone)
    hours: int
    operators: int

    @property
    def start_how(self) -> int:
        return self.weekday * 24 + self.start_hour


def roster(required: Sequence[int], starts: Sequence[int] = DEFAULT_SHIFT_STARTS,
           shift_hours: int = DEFAULT_SHIFT_HOURS) -> list[Shift]:
    """Shifts of `shift_hours` starting at `starts` (local hours) every day, so that every hour of the week
    has at least `required[how]` operators. Greedy set cover on the cyclic week: take the first hour still
    short, and add one operator to the shift covering it that covers the most remaining shortfall
    (ties: the earliest start). With non-overlapping shifts (00/08/16) that is exactly the largest need
    of each shift's hours, which is optimal."""
    if len(required) != HOURS_PER_WEEK:
        raise ValueError("give 168 hourly requirements, Monday 00:00 first")
    if not 1 <= shift_hours <= 24 or not starts or any(not 0 <= s < 24 for s in starts):
        raise ValueError("shift hours must be 1..24 and starts local hours 0..23")
    candidates = sorted({d * 24 + s for d in range(7) for s in starts})
    covers = {c: [(c + k) % HOURS_PER_WEEK for k in range(shift_hours)] for c in candidates}
    by_hour: dict[int, list[int]] = {h: [] for h in range(HOURS_PER_WEEK)}
    for c, hours in covers.items():
        for h in hours:
            by_hour[h].append(c)
    if any(not by_hour[h] for h in range(HOURS_PER_WEEK) if required[h] > 0):
        raise ValueError("these shift starts leave hours of the week uncovered")
    short = [int(r) for r in required]
    count = dict.fromkeys(candidates, 0)
    for h in range(HOURS_PER_WEEK):
        while short[h] > 0:
            best = max(by_hour[h], key=lambda c: (sum(1 for x in covers[c] if short[x] > 0), -c))
            count[best] += 1
            for x in covers[best]:
                short[x] -= 1
    return [Shift(c // 24, c % 24, shift_hours, n) for c, n in sorted(count.items()) if n > 0]


def on_duty(shifts: Sequence[Shift]) -> list[int]:
    """Operators on duty in each hour of the week under a roster."""
    hours = [0] * HOURS_PER_WEEK
    for s in shifts:
        for k in range(s.hours):
            hours[(s.start_how + k) % HOURS_PER_WEEK] += s.operators
    return hours
