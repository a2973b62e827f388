"""The ticker's jobs, one per concern, in the order a tick runs them. Each takes (engine, clock, settings),
opens its own unit of work and returns how many things it did.

- `deadlines`: fire the assignment deadlines that are due, exactly once across processes, and escalate
  (dispatch.escalation). First, because a missed escalation is the costliest thing to delay.
- `measures`: expire callers' nuisance measures whose time is up, announcing each (callers.policy).
- `retention`: anonymise nuisance records past their retention period, one short batch when due
  (callers.retention), bounded so it never holds up the deadlines of the next tick."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from siaga.core.clock import Clock
from siaga.domains.callers.policy import expire_measures
from siaga.domains.callers.retention import purge_step
from siaga.domains.dispatch.escalation import fire_due
from siaga.settings import Settings


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Engine, Clock, Settings], int | None]


JOBS: tuple[Job, ...] = (
    Job("deadlines", fire_due),
    Job("measures", expire_measures),
    Job("retention", purge_step),
)
