"""Where the calls went: counts by outcome, split by whether anyone was on duty when the call came in.
The same summary from simulated calls in memory (`from_calls`) or from rows written to the database
(`from_database`, plain queries over the calls table)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siaga.core.clock import SiteZone
from siaga.domains.calls.marks import SIM_PREFIX
from siaga.domains.calls.models import Call
from siaga.domains.simulate.scenario import INTENTS, Roster

ANSWERED = INTENTS
UNANSWERED = ("abandoned", "missed_out_of_hours")
SHORT_HANGUP_S = 10.0  # a caller gone within 10 s: could rarely have been answered even by a free operator
WITHIN_S = 15.0


@dataclass
class Story:
    roster: str
    offered: int = 0
    staffed: Counter[str] = field(default_factory=Counter)  # outcome → calls offered while someone was on duty
    unstaffed: Counter[str] = field(default_factory=Counter)
    answered_within: int = 0  # answered within 15 s of being offered
    short_hangups_staffed: int = 0  # abandoned within 10 s while someone was on duty
    incidents: int = 0

    def add(self, offered_at: datetime, answered_at: datetime | None, ended_at: datetime | None, outcome: str,
            staffed: bool) -> None:
        self.offered += 1
        (self.staffed if staffed else self.unstaffed)[outcome] += 1
        if answered_at is not None and (answered_at - offered_at).total_seconds() <= WITHIN_S:
            self.answered_within += 1
        if staffed and answered_at is None and ended_at is not None \
                and (ended_at - offered_at).total_seconds() <= SHORT_HANGUP_S:
            self.short_hangups_staffed += 1

    def total(self, outcome: str) -> int:
        return self.staffed[outcome] + self.unstaffed[outcome]

    @property
    def answered(self) -> int:
        return sum(self.total(k) for k in ANSWERED)

    @property
    def offered_staffed(self) -> int:
        return sum(self.staffed.values())

    @property
    def offered_unstaffed(self) -> int:
        return sum(self.unstaffed.values())

    @property
    def abandoned(self) -> int:
        return self.total("abandoned")

    @property
    def missed(self) -> int:
        return self.total("missed_out_of_hours")

    def share(self, n: int) -> float:
        return n / self.offered if self.offered else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "roster": self.roster, "offered": self.offered, "answered": self.answered,
            "answered_share": round(self.share(self.answered), 4),
            "answered_within_15s": self.answered_within,
            "offered_staffed": self.offered_staffed, "offered_unstaffed": self.offered_unstaffed,
            "missed_out_of_hours": self.missed, "abandoned": self.abandoned,
            "short_hangups_staffed": self.short_hangups_staffed,
            "by_outcome": {k: {"staffed": self.staffed[k], "unstaffed": self.unstaffed[k]}
                           for k in (*ANSWERED, *UNANSWERED)},
            "pranks_among_answered": round(self.total("prank") / self.answered, 4) if self.answered else 0.0,
            "incidents": self.incidents,
        }


def from_calls(calls: Iterable, roster: Roster) -> Story:  # type: ignore[type-arg]
    story = Story(roster=roster.label)
    for c in calls:
        story.add(c.offered_at, c.answered_at, c.ended_at, c.outcome, c.staffed)
        if c.answered_at is not None and c.outcome == "emergency":
            story.incidents += 1
    return story


def run_prefix(tag: str) -> str:
    return f"{SIM_PREFIX}{tag}-"


def from_database(db: Session, tag: str, roster: Roster, zone: SiteZone) -> Story:
    """The story of one written run, read back from the calls table. Staffed = the roster had someone
    on duty at the call's offered time (local time in `zone`)."""
    story = Story(roster=roster.label)
    prefix = run_prefix(tag)
    rows = db.execute(select(Call.offered_at, Call.answered_at, Call.ended_at, Call.outcome)
                      .where(Call.external_ref.like(prefix + "%")).order_by(Call.offered_at)).all()
    for offered_at, answered_at, ended_at, outcome in rows:
        staffed = roster.operators_at(offered_at, zone) > 0
        story.add(offered_at, answered_at, ended_at, outcome or "unclassified", staffed)
    story.incidents = db.scalar(select(func.count(func.distinct(Call.incident_id)))
                                .where(Call.external_ref.like(prefix + "%"), Call.incident_id.is_not(None))) or 0
    return story

