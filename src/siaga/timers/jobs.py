"""The ticker's jobs, one per concern, in the order a tick runs them. Each takes (engine, clock, settings),
opens its own unit of work and returns how many things it did.

- `deadlines`: fire the assignment deadlines that are due, exactly once across processes, and escalate
  (dispatch.escalation). First, because a missed escalation is the costliest thing to delay.
- `measures`: expire callers' nuisance measures whose time is up, announcing each (callers.policy).
- `retention`: anonymise nuisance records past their retention period, one short batch when due
  (callers.retention), bounded so it never holds up the deadlines of the next tick.
- `recordings`: attach the call recordings rtpengine finished (a WAV each, linked to its call, with its
  duration and SHA-256), and link those whose call became known since (recordings.actions).
- `recording_retention`: delete recordings past SIAGA_RECORDING_RETENTION_DAYS unless on legal hold, one
  bounded batch, audited with counts (recordings.actions).
- `audit_anchor`: every 5 minutes, a signed checkpoint of the audit chain head appended to the witness
  file outside the database (core.audit_anchor), when SIAGA_AUDIT_KEY_FILE and SIAGA_AUDIT_WITNESS are set.
- `backup`: on SQLite, a consistent copy into SIAGA_BACKUP_DIR once the newest is SIAGA_BACKUP_INTERVAL_HOURS
  old, keeping SIAGA_BACKUP_KEEP (db.backup). Last: a copy can take seconds on a big file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from siaga.core.audit_anchor import checkpoint_step
from siaga.core.clock import Clock
from siaga.db.backup import scheduled_step as backup_step
from siaga.domains.callers.policy import expire_measures
from siaga.domains.callers.retention import purge_step
from siaga.domains.dispatch.escalation import fire_due
from siaga.domains.recordings.actions import attach_step, retention_step
from siaga.settings import Settings


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Engine, Clock, Settings], int | None]


JOBS: tuple[Job, ...] = (
    Job("deadlines", fire_due),
    Job("measures", expire_measures),
    Job("retention", purge_step),
    Job("recordings", attach_step),
    Job("recording_retention", retention_step),
    Job("audit_anchor", checkpoint_step),
    Job("backup", backup_step),
)
