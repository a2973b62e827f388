"""The one definition of every KPI. Counts are gathered by `kpi/service.py` (SQL aggregates); the KPIs
are the properties below, computed from those counts only, so a screen, a report and an export can never
disagree. Sources: ../shared/design/PRODUCT.md, "Service levels and KPIs the field measures":

- NENA-STA-020.1: 90% of calls answered within 15 s, 95% within 20 s.
- NFPA 1225 (2022): 90% answered within 10 s; 90% processed (answer → first unit dispatched) within 60 s.
- EU COCOM: share of false calls; average answer time; % answered within 10 s; average of the slowest 10%;
  abandon rate (share of calls presented that were abandoned).
- Per agency: time to acknowledge, to dispatch a unit, to on scene, to clear.

Words used throughout (PRODUCT.md, "Words we use"):
- offered: every call presented to the centre (`call.offered_at` in the period), whatever became of it —
  out-of-hours and abandoned calls included, so they count against the service levels as the public felt
  them; "calls presented" in COCOM's words.
- answered: `call.answered_at` is set. Answer time = `answered_at − offered_at`, to the millisecond.
- "within N s" is inclusive (an answer time of exactly 15.000 s is within 15 s), as on the wallboard.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from siaga.domains.calls.models import CALL_OUTCOMES

ANSWER_TARGETS_S = (10, 15, 20)
PROCESSING_TARGET_S = 60
# Outcomes that make a call "false" in COCOM's sense: nobody needed help from this call.
FALSE_CALL_OUTCOMES = ("prank", "ghost", "wrong_number")
UNCLASSIFIED = "unclassified"  # no outcome recorded (yet)
OUTCOMES = (*CALL_OUTCOMES, UNCLASSIFIED)

# Service-level targets, as PRODUCT.md states them (percent).
TARGETS = {
    "pct_answered_10s": 90.0,   # NFPA 1225
    "pct_answered_15s": 90.0,   # NENA-STA-020.1
    "pct_answered_20s": 95.0,   # NENA-STA-020.1
    "pct_processed_60s": 90.0,  # NFPA 1225
}

# Agency stages, each the time between two of an assignment's timestamps (seconds).
STAGES: tuple[tuple[str, str, str], ...] = (
    ("acknowledge", "notified_at", "acknowledged_at"),
    ("dispatch", "acknowledged_at", "dispatched_at"),
    ("travel", "dispatched_at", "on_scene_at"),
    ("clear", "on_scene_at", "cleared_at"),
    ("response", "notified_at", "on_scene_at"),
)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


_NOT_ADDITIVE = ("slowest_10pct_avg_s", "pickup_measured", "pickup_median_s", "pickup_p90_s")


@dataclass
class CallCounts:
    """Additive counts of one group of calls (so groups can be summed); the KPIs are its properties."""

    offered: int = 0
    answered: int = 0
    answered_10s: int = 0
    answered_15s: int = 0
    answered_20s: int = 0
    answer_s_sum: float = 0.0
    abandoned: int = 0  # unanswered, outcome 'abandoned' (the caller hung up while waiting)
    outcomes: dict[str, int] = field(default_factory=dict)
    # Not additive: computed per group by its own query (see service.slowest_decile).
    slowest_10pct_avg_s: float | None = None
    # The pickup delay (issue #17): first ring at an operator's phone (call.ringing_at) → a human answered,
    # over the answered calls that rang first; median and 90th percentile (`percentile`). Not additive.
    pickup_measured: int = 0
    pickup_median_s: float | None = None
    pickup_p90_s: float | None = None

    def add(self, other: CallCounts) -> None:
        for f in fields(self):
            if f.name == "outcomes":
                for k, v in other.outcomes.items():
                    self.outcomes[k] = self.outcomes.get(k, 0) + v
            elif f.name not in _NOT_ADDITIVE:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        # a sum of groups needs its own query
        self.slowest_10pct_avg_s = self.pickup_median_s = self.pickup_p90_s = None
        self.pickup_measured = 0

    @property
    def unanswered(self) -> int:
        return self.offered - self.answered

    @property
    def false_calls(self) -> int:
        return sum(self.outcomes.get(o, 0) for o in FALSE_CALL_OUTCOMES)

    @property
    def out_of_hours(self) -> int:
        return self.outcomes.get("missed_out_of_hours", 0)

    @property
    def avg_answer_s(self) -> float | None:
        """COCOM average answer time (PRODUCT.md): the mean of answer times over answered calls, seconds."""
        return round(self.answer_s_sum / self.answered, 2) if self.answered else None

    @property
    def pct_answered_10s(self) -> float | None:
        """COCOM % answered within 10 s and NFPA 1225 "90% answered within 10 s" (PRODUCT.md): calls answered
        in ≤ 10 s as a percentage of calls offered (an unanswered call counts against it)."""
        return _pct(self.answered_10s, self.offered)

    @property
    def pct_answered_15s(self) -> float | None:
        """NENA-STA-020.1 "90% of calls answered within 15 s" (PRODUCT.md): answered in ≤ 15 s / offered.
        The wallboard's "answered ≤ 15 s today" is the same figure for today."""
        return _pct(self.answered_15s, self.offered)

    @property
    def pct_answered_20s(self) -> float | None:
        """NENA-STA-020.1 "95% within 20 s" (PRODUCT.md): answered in ≤ 20 s / offered."""
        return _pct(self.answered_20s, self.offered)

    @property
    def abandon_rate(self) -> float | None:
        """COCOM abandon rate (PRODUCT.md: "share of calls presented that were abandoned"): unanswered calls
        whose caller hung up while waiting (outcome 'abandoned') / offered, percent. Calls missed because
        nobody was on duty are not abandoned: they are the out-of-hours share."""
        return _pct(self.abandoned, self.offered)

    @property
    def false_call_share(self) -> float | None:
        """COCOM share of false calls (PRODUCT.md): answered calls classified prank, ghost (silent) or
        wrong number / answered calls, percent. Only an answered call can be classified, so the share is of
        answered calls; ghost calls count as false here but are never blocked (a silent caller may be a
        victim who cannot speak)."""
        return _pct(self.false_calls, self.answered)

    @property
    def out_of_hours_share(self) -> float | None:
        """Out-of-hours share (issue #7): calls offered while no operator was on duty (outcome
        'missed_out_of_hours', set by the telephony side) / offered, percent."""
        return _pct(self.out_of_hours, self.offered)

    @property
    def answer_rate(self) -> float | None:
        """Answered / offered, percent (the trial: 1,026 of 6,870)."""
        return _pct(self.answered, self.offered)

    def kpis(self) -> dict[str, float | None]:
        return {"avg_answer_s": self.avg_answer_s, "slowest_10pct_avg_s": self.slowest_10pct_avg_s,
                "pct_answered_10s": self.pct_answered_10s, "pct_answered_15s": self.pct_answered_15s,
                "pct_answered_20s": self.pct_answered_20s, "abandon_rate": self.abandon_rate,
                "false_call_share": self.false_call_share, "out_of_hours_share": self.out_of_hours_share,
                "answer_rate": self.answer_rate, "pickup_median_s": self.pickup_median_s,
                "pickup_p90_s": self.pickup_p90_s}

    def as_dict(self) -> dict[str, object]:
        return {"offered": self.offered, "answered": self.answered, "unanswered": self.unanswered,
                "answered_10s": self.answered_10s, "answered_15s": self.answered_15s,
                "answered_20s": self.answered_20s, "abandoned": self.abandoned, "false_calls": self.false_calls,
                "out_of_hours": self.out_of_hours, "pickup_measured": self.pickup_measured,
                "outcomes": {o: self.outcomes.get(o, 0) for o in OUTCOMES}, **self.kpis()}


def slowest_10pct_count(answered: int) -> int:
    """How many calls "the slowest 10%" holds: ceil(10% of the answered calls), at least one."""
    return (answered + 9) // 10


def slowest_10pct_avg(answer_times_s: Iterable[float]) -> float | None:
    """COCOM "average of the slowest 10%" (PRODUCT.md): the mean of the ceil(n/10) longest answer times among
    the n answered calls, seconds. The SQL in `service.slowest_decile` computes exactly this; this function
    is the reference the tests compare it with."""
    ordered = sorted(answer_times_s, reverse=True)
    k = slowest_10pct_count(len(ordered))
    return round(sum(ordered[:k]) / k, 2) if k else None


@dataclass
class ProcessingCounts:
    """NFPA 1225 processing of incidents: from the answer of the incident's first answered call to the first
    unit dispatched to it."""

    incidents: int = 0
    measured: int = 0  # incidents with an answered call and a dispatched unit
    within_60s: int = 0
    processing_s_sum: float = 0.0

    def add(self, other: ProcessingCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def pct_processed_60s(self) -> float | None:
        """NFPA 1225 "90% processed (answer → first unit dispatched) within 60 s" (PRODUCT.md): incidents
        whose first unit was dispatched ≤ 60 s after their first call was answered / incidents with both
        times, percent. An incident with no answered call (entered by hand) or no unit sent is not
        measured; `measured` says how many were."""
        return _pct(self.within_60s, self.measured)

    @property
    def avg_processing_s(self) -> float | None:
        """Mean processing time (answer → first unit dispatched) of the measured incidents, seconds."""
        return round(self.processing_s_sum / self.measured, 1) if self.measured else None

    def as_dict(self) -> dict[str, object]:
        return {"incidents": self.incidents, "measured": self.measured, "processed_60s": self.within_60s,
                "pct_processed_60s": self.pct_processed_60s, "avg_processing_s": self.avg_processing_s}


def percentile(ordered: list[float], p: float) -> float | None:
    """Linear interpolation between the closest ranks of sorted values (as PostgreSQL's percentile_cont and
    numpy's default): p=50 is the median (the mean of the two middle values for an even count)."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 1)


@dataclass
class StageTimes:
    """Per-agency stage times (PRODUCT.md, "Per agency: time to acknowledge, time to dispatch a unit, time
    to on scene, time to clear"), between an assignment's timestamps, stage by stage: notified →
    acknowledged ("acknowledge"), acknowledged → first unit dispatched ("dispatch"), dispatched → on scene
    ("travel"), on scene → cleared ("clear"), and notified → on scene in all ("response"). A stage is
    measured on the assignments that reached both of its ends; reported as count, median and 90th
    percentile (`percentile`)."""

    values: dict[str, list[float]] = field(default_factory=lambda: {s[0]: [] for s in STAGES})
    assignments: int = 0

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        out: dict[str, dict[str, float | int | None]] = {}
        for stage, _start, _end in STAGES:
            ordered = sorted(self.values[stage])
            out[stage] = {"n": len(ordered), "median_s": percentile(ordered, 50), "p90_s": percentile(ordered, 90)}
        return out
