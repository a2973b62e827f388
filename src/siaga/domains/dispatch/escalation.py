"""The ticker's work: fire each due deadline exactly once and escalate.

A due deadline is claimed with compare-and-set — `UPDATE deadline SET state='fired' WHERE id=? AND
state='pending'` — in the same transaction as its escalation: when two app processes (or a restart)
reach it together, only the one whose UPDATE changed the row escalates; if the escalation fails, the
claim rolls back with it and the next tick tries again. A deadline that fell due while the service was
down fires on the first tick after start.

Level 0 missed: the supervisor is alerted (escalation level 1 on the assignment, a timeline entry and an
`incident.escalated` event every console shows) and a second deadline of the same length starts.
Level 1 missed: the agency's backup agency is notified (a new assignment, with its own deadlines).

A resolved or cancelled incident has no pending deadline: `incidents.actions.stand_down` cancels them in the
transaction that changes its status, under the incident's row lock, which `fire_one` takes before its claim."""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from siaga.core.authz import SYSTEM
from siaga.core.clock import Clock
from siaga.core.context import Ctx
from siaga.core.i18n import message, ref
from siaga.db.engine import open_session, unit_of_work
from siaga.domains.agencies.models import Agency
from siaga.domains.dispatch import deadlines
from siaga.domains.dispatch.actions import notify_agency
from siaga.domains.incidents.actions import add_timeline, announce_incident
from siaga.domains.incidents.models import INCIDENT_ACTIVE_STATUSES, Assignment, Deadline, Incident
from siaga.events.kinds import EventKind
from siaga.settings import Settings

log = logging.getLogger("siaga.deadlines")
PROCESS = f"{socket.gethostname()}:{os.getpid()}"



def fire_due(engine: Engine, clock: Clock, settings: Settings, *, limit: int = 100, process: str = PROCESS) -> int:
    """Fire every deadline due now; returns how many this process fired."""
    now = clock.now()
    with open_session(engine, write=False) as db:
        due = db.scalars(select(Deadline.id).where(Deadline.state == "pending", Deadline.due_at <= now)
                         .order_by(Deadline.due_at, Deadline.id).limit(limit)).all()
    fired = 0
    for deadline_id in due:
        try:
            with unit_of_work(engine) as db:
                ctx = Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings)
                if fire_one(ctx, deadline_id, process):
                    fired += 1
        except Exception:  # one bad row must not stop the others; it stays pending and is retried
            log.exception("deadline %s could not be fired; will retry", deadline_id)
    return fired


def fire_one(ctx: Ctx, deadline_id: int, process: str = PROCESS) -> bool:
    """Claim one deadline and escalate it. Locks in the order every incident writer keeps — the incident,
    then the assignment, then the deadline's compare-and-set — so a claim racing the incident's resolution
    (or cancellation) in another process either runs wholly before it (and is then stood down with the rest)
    or waits for it and finds the deadline cancelled. The incident's status is re-read under its lock: a
    deadline of an incident that is no longer active never escalates, whatever its own row says."""
    ids = ctx.db.execute(select(Deadline.incident_id, Deadline.assignment_id)
                         .where(Deadline.id == deadline_id, Deadline.state == "pending")).first()
    if ids is None:
        return False  # another process (or a cancel) got there first
    incident = ctx.db.scalar(select(Incident).where(Incident.id == ids.incident_id).with_for_update()
                             .execution_options(populate_existing=True))
    assignment = ctx.db.scalar(select(Assignment).where(Assignment.id == ids.assignment_id).with_for_update()
                               .execution_options(populate_existing=True))
    assert assignment is not None and incident is not None
    claimed = ctx.db.execute(
        update(Deadline).where(Deadline.id == deadline_id, Deadline.state == "pending")
        .values(state="fired", fired_at=ctx.now(), fired_by=process[:80])
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return False  # another process (or a cancel) got there first
    deadline = ctx.db.get(Deadline, deadline_id)
    assert deadline is not None
    ctx.db.refresh(deadline)
    if (assignment.state not in deadlines.WAITING_STATE[deadline.step]
            or incident.status not in INCIDENT_ACTIVE_STATUSES):
        deadline.state = "cancelled"  # the step was done, or the incident finished: nothing to escalate
        return False
    agency = ctx.db.get(Agency, assignment.agency_id)
    assert agency is not None
    now = ctx.now()
    ctx.audit("deadline.fire", "assignment", assignment.id,
              {"deadline_id": deadline.id, "step": deadline.step, "level": deadline.level, "process": process})
    if deadline.level == 0:
        assignment.escalation_level = max(assignment.escalation_level, 1)
        assignment.escalated_at = now
        add_timeline(ctx, incident.id, "escalated",
                     data={"assignment_id": assignment.id, "agency_id": agency.id, "step": deadline.step, "level": 1},
                     message=message("timeline.escalated_supervisor", agency=agency.short_name,
                                     step=ref(f"deadline_step.{deadline.step}")))
        deadlines.schedule(ctx, assignment, incident, deadline.step, level=1)
    else:
        assignment.escalation_level = max(assignment.escalation_level, 2)
        assignment.escalated_at = now
        _notify_backup(ctx, incident, assignment, agency, deadline.step)
    announce_incident(ctx, incident, EventKind.INCIDENT_ESCALATED)
    return True


def _notify_backup(ctx: Ctx, incident: Incident, assignment: Assignment, agency: Agency, step: str) -> None:

    backup = ctx.db.get(Agency, agency.backup_agency_id) if agency.backup_agency_id else None
    already = backup is not None and ctx.db.scalar(select(Assignment.id).where(
        Assignment.incident_id == incident.id, Assignment.agency_id == backup.id)) is not None
    step_word = ref(f"deadline_step.{step}")
    if backup is None or not backup.active or already:
        said = message("timeline.escalated_no_backup", agency=agency.short_name, step=step_word) \
            if backup is None or not backup.active else \
            message("timeline.escalated_backup_busy", agency=agency.short_name, step=step_word,
                    backup=backup.short_name)
        add_timeline(ctx, incident.id, "escalated",
                     data={"assignment_id": assignment.id, "agency_id": agency.id, "step": step, "level": 2},
                     message=said)
        return
    add_timeline(ctx, incident.id, "escalated",
                 data={"assignment_id": assignment.id, "agency_id": agency.id, "step": step, "level": 2,
                       "backup_agency_id": backup.id},
                 message=message("timeline.escalated_backup", agency=agency.short_name, step=step_word,
                                 backup=backup.short_name))
    notify_agency(ctx, incident, backup, backup_for=agency)
