"""Operators needed each hour of the week, and a shift roster that covers them. Pure functions: the
demand (calls per hour, handle time, patience) comes from the centre's history (service.py) or from a
simulation scenario (domains/simulate).

The target is the wallboard's: **answered within `within_s` seconds, as a share of offered calls**
(callers who hang up first count against it), NENA-STA-020.1's 90% within 15 s by default. With a
patience estimate the model is Erlang A (callers give up); without one (no hang-ups in the history) it
falls back to Erlang C, where every caller waits for an answer.

**The pickup delay** (issue #17). A free operator does not answer at once: their phone rings for D seconds
(the pickup delay, measured per call as answered_at − ringing_at) and the caller may hang up meanwhile. Plain
Erlang A answers at the instant an operator is free, which is why it promised 96.6% within 15 s for the
trial's demand under a 24/7 single-operator roster while the simulator, whose operators take 4–14 s to pick
up, gave ~62%. The model here splits a caller's time to answer into the queue and the ring:

- the queue is Erlang A with the operator's time per call h + D (the phone rings on their desk: they are
  taken for the ring and the talk) and the waiting budget T − D (a caller answered within T must have
  reached a free operator by T − D); `reach` = P(a free operator's phone rings for the caller by T − D);
- the ring: the caller stays on the line through it with probability `stay`; measured in the history as
  the share of calls that rang at an operator and were answered (any patience shape, the pickup
  delay's whole distribution), else e^(−D/p) for the exponential patience of Erlang A (memoryless, so a
  caller's wait in the queue does not change it);
- answered within T = reach × stay; hung up = 1 − P(reaches an operator) × stay.

D is the measured median (`History.pickup_s`), or the configured default (SIAGA_PICKUP_DEFAULT_SECONDS)
without history. More operators raise `reach` only: when target / stay is above REACH_CAP (callers hang
up during the ring more often than the target allows, which staffing cannot cure — only a quicker pickup
can), the hours are staffed for reach ≥ target and `stay` is reported as the ceiling any roster can reach."""

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


REACH_CAP = 0.99


@dataclass(frozen=True)
class Pickup:
    """The pickup model: `delay_s` D, the median ring before a human answers, and `stay`, the share of
    callers still on the line when it ends (None: e^(−D/patience), Erlang A's exponential patience)."""

    delay_s: float = 0.0
    stay: float | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.delay_s < 3600 and math.isfinite(self.delay_s)):
            raise ValueError("the pickup delay must be 0..3600 seconds")
        if self.stay is not None and not 0 < self.stay <= 1:
            raise ValueError("the share of callers staying through the ring must be in (0, 1]")

    def stay_with(self, patience_s: float) -> float:
        if self.stay is not None:
            return self.stay
        return 1.0 if math.isinf(patience_s) or self.delay_s == 0 else math.exp(-self.delay_s / patience_s)


NO_PICKUP = Pickup()


@lru_cache(maxsize=8192)
def _queue(operators: int, arrivals_per_hour: float, handle_s: float, patience_s: float, within_s: float,
           delay_s: float) -> tuple[float, float, float]:
    """(reach: P(an operator's phone rings by T − D), P(never reaches an operator), occupancy)."""
    budget = within_s - delay_s
    r = erlang_a(operators, arrivals_per_hour / 3600.0, handle_s + delay_s, patience_s, max(0.0, budget))
    reach = r.p_answered_within if budget >= 0 else 0.0
    return reach, r.p_abandon, r.occupancy


def predict(operators: int, arrivals_per_hour: float, handle_s: float, patience_s: float,
            within_s: float, pickup: Pickup = NO_PICKUP) -> tuple[float, float, float]:
    """(answered within t / offered, abandoned / offered, occupancy) for one hour (module docstring: the
    queue to T − D with operators taken h + D per call, then the ring, survived with probability stay)."""
    reach, lost, occupancy = _queue(operators, arrivals_per_hour, handle_s, patience_s, within_s, pickup.delay_s)
    stay = pickup.stay_with(patience_s)
    return reach * stay, 1.0 - (1.0 - lost) * stay, occupancy


def reach_needed(target: float, stay: float) -> float:
    """The share of callers that must reach an operator by T − D for `target` answered within T: target /
    stay; when that is above REACH_CAP the target is out of any roster's reach (stay is the ceiling) and the
    queue alone is held to the target (more operators would buy a point or two at the price of a shift)."""
    need = target / stay
    return need if need <= REACH_CAP else target


def operators_needed(arrivals_per_hour: float, handle_s: float, patience_s: float, target: float,
                     within_s: float, min_operators: int = 1, pickup: Pickup = NO_PICKUP) -> int:
    """The fewest operators (at least `min_operators`) that answer `target` of offered calls within t
    (with a pickup delay: that bring `reach_needed` of callers to an operator by t − D)."""
    if not 0 < target < 1:
        raise ValueError("target must be between 0 and 1 (exclusive)")
    n = max(1, min_operators)
    if arrivals_per_hour <= 0:
        return max(0, min_operators)
    if math.isinf(patience_s):  # Erlang C: below the offered load the queue never settles
        n = max(n, math.floor(arrivals_per_hour * (handle_s + pickup.delay_s) / 3600.0) + 1)
    goal = reach_needed(target, pickup.stay_with(patience_s))
    while n < MAX_OPERATORS:
        if _queue(n, round(arrivals_per_hour, 9), handle_s, patience_s, within_s, pickup.delay_s)[0] >= goal:
            return n
        n += 1
    return MAX_OPERATORS


def needs(arrivals_per_hour: Sequence[float], handle_s: float, patience_s: float, target: float,
          within_s: float, min_operators: int = 1, pickup: Pickup = NO_PICKUP) -> list[HourNeed]:
    """One HourNeed per hour of the week (168 rates in, Monday 00:00 local first)."""
    if len(arrivals_per_hour) != HOURS_PER_WEEK:
        raise ValueError("give 168 hourly arrival rates, Monday 00:00 first")
    out = []
    for how, rate in enumerate(arrivals_per_hour):
        n = operators_needed(rate, handle_s, patience_s, target, within_s, min_operators, pickup)
        if n == 0 or rate <= 0:
            out.append(HourNeed(how, rate, n, 1.0, 0.0, 0.0))
            continue
        within, abandon, occupancy = predict(n, round(rate, 9), handle_s, patience_s, within_s, pickup)
        out.append(HourNeed(how, rate, n, within, abandon, occupancy))
    return out


def expected_within(on_duty: Sequence[int], arrivals_per_hour: Sequence[float], handle_s: float,
                    patience_s: float, within_s: float, pickup: Pickup = NO_PICKUP) -> float | None:
    """The share of the week's offered calls answered within t under a roster (hours nobody is on duty
    answer nothing), weighted by each hour's arrivals."""
    total = sum(arrivals_per_hour)
    if total <= 0:
        return None
    return sum(r * (predict(on_duty[h], round(r, 9), handle_s, patience_s, within_s, pickup)[0]
                    if on_duty[h] and r > 0 else 0.0) for h, r in enumerate(arrivals_per_hour)) / total


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
