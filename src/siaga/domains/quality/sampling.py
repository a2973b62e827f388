"""The review sample, drawn by rule from the call alone (no stored draw, no process state), so every process
and every reader agree on it:

- a **random share** of the calls: a call is in when the first 64 bits of SHA-256("siaga-qa-sample:<id>"),
  read as a fraction of 2^64, fall below the share (in basis points, so 2.5 % is exact);
- **every prank and every ghost** outcome;
- **every long answer**: answer time (answered − offered) over the threshold.

Only calls a person answered and ended are reviewable (`reviewable`); simulated calls never are."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

REASONS = ("prank", "ghost", "long_answer", "random")
ALWAYS_OUTCOMES = ("prank", "ghost")
_SCALE = 2**64


@dataclass(frozen=True)
class SampleRule:
    """The rule's two settings (SIAGA_QA_SAMPLE_PERCENT, SIAGA_QA_LONG_ANSWER_SECONDS)."""

    percent: float = 5.0
    long_answer_s: float = 20.0

    @classmethod
    def of(cls, settings: object) -> SampleRule:
        return cls(percent=float(getattr(settings, "qa_sample_percent", cls.percent)),
                   long_answer_s=float(getattr(settings, "qa_long_answer_seconds", cls.long_answer_s)))


def draw(call_id: int) -> int:
    """The call's fixed draw in [0, 2^64)."""
    return int.from_bytes(hashlib.sha256(f"siaga-qa-sample:{call_id}".encode()).digest()[:8], "big")


def in_random_share(call_id: int, percent: float) -> bool:
    basis_points = round(min(max(percent, 0.0), 100.0) * 100)
    return draw(call_id) * 10_000 < basis_points * _SCALE


def answer_seconds(offered_at: datetime | None, answered_at: datetime | None) -> float | None:
    if offered_at is None or answered_at is None:
        return None
    return (answered_at - offered_at).total_seconds()


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
