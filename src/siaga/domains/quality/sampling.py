"""The review sample, drawn by rule from the call alone (no stored draw, no process state), so every process,
every reader and the database itself agree on it:

- a **random share** of the calls, `percent`: the call's draw `draw(id)` — a fixed mixing of its id in integer
  arithmetic modulo the prime P = 2^31 − 1 (an affine step, a square, an affine step; every intermediate
  below 2^63, so SQLite's and PostgreSQL's 64-bit integers compute it exactly, as Python does) — is in when
  draw · 10,000 < share in basis points · P (2.5 % is exact; a larger share keeps every call a smaller one
  drew). The same formula is written for SQL (`random_share_sql`), so the queue and the period report
  filter and count in the database; a test holds Python and both databases to the same answers;
- **every prank and every ghost** outcome;
- **every long answer**: answer time (answered − offered, to the millisecond as the KPIs reckon it) over
  the threshold.

Only calls a person answered and that have ended are reviewable (quality.service.reviewable); simulated
calls never are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

REASONS = ("prank", "ghost", "long_answer", "random")
ALWAYS_OUTCOMES = ("prank", "ghost")
P = 2**31 - 1  # a Mersenne prime
K1, C1, C2, K2 = 1_103_515_245, 12_345, 2_654_435_761 % P, 48_271


@dataclass(frozen=True)
class SampleRule:
    """The rule's two settings (SIAGA_QA_SAMPLE_PERCENT, SIAGA_QA_LONG_ANSWER_SECONDS)."""

    percent: float = 5.0
    long_answer_s: float = 20.0

    @classmethod
    def of(cls, settings: object) -> SampleRule:
        return cls(percent=float(getattr(settings, "qa_sample_percent", cls.percent)),
                   long_answer_s=float(getattr(settings, "qa_long_answer_seconds", cls.long_answer_s)))

    @property
    def basis_points(self) -> int:
        return round(min(max(self.percent, 0.0), 100.0) * 100)


def draw(call_id: int) -> int:
    """The call's fixed draw in [0, P)."""
    a = ((call_id % P) * K1 + C1) % P
    b = (a * a + C2) % P
    return (b * K2 + a) % P


def in_random_share(call_id: int, percent: float) -> bool:
    return draw(call_id) * 10_000 < SampleRule(percent).basis_points * P


def answer_seconds(offered_at: datetime | None, answered_at: datetime | None) -> float | None:
    """Answer time to the millisecond, as `kpi.sql.seconds_between` gives it."""
    if offered_at is None or answered_at is None:
        return None
    return round((answered_at - offered_at).total_seconds(), 3)


def sample_reasons(call_id: int, outcome: str | None, answer_s: float | None, rule: SampleRule) -> list[str]:
    """Why the call is in the review sample, in REASONS order; [] when it is not."""
    reasons = []
    if outcome in ALWAYS_OUTCOMES:
        reasons.append(outcome)
    if answer_s is not None and answer_s > rule.long_answer_s:
        reasons.append("long_answer")
    if in_random_share(call_id, rule.percent):
        reasons.append("random")
    return reasons


# --- the same rule as SQL ---------------------------------------------------------------------------------------

def draw_sql(call_id: Any) -> ColumnElement[int]:
    """`draw` over an integer column, the same integer arithmetic (every product below 2^63)."""
    a = ((call_id % P) * K1 + C1) % P
    b = (a * a + C2) % P
    return (b * K2 + a) % P  # type: ignore[no-any-return]


def random_share_sql(call_id: Any, rule: SampleRule) -> ColumnElement[bool]:
    return draw_sql(call_id) * 10_000 < rule.basis_points * P  # type: ignore[no-any-return]


def always_sql(outcome: Any, answer_s: Any, rule: SampleRule) -> ColumnElement[bool]:
    """Prank, ghost or a long answer: in the sample whatever the share."""
    return or_(outcome.in_(ALWAYS_OUTCOMES), and_(answer_s.is_not(None), answer_s > rule.long_answer_s))


def sampled_sql(call_id: Any, outcome: Any, answer_s: Any, rule: SampleRule) -> ColumnElement[bool]:
    return or_(always_sql(outcome, answer_s, rule), random_share_sql(call_id, rule))
