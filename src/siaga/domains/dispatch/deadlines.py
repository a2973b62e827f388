"""Deadlines for each step of an agency's assignment: scheduled and cancelled by the dispatch actions in
the same transaction as the step itself, fired by `escalation.fire_due`.

Steps: `acknowledge` (from notified), `units` (from acknowledged, until a unit is sent), `on_scene`
(from units sent, until the first unit arrives). Seconds come from `deadline_policy` rows — the most
specific of (agency, priority), (agency, any), (any, priority), (any, any) — or the defaults below."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.domains.incidents.actions import cancel_deadlines as cancel
from siaga.domains.incidents.models import Assignment, Deadline, Incident
from siaga.domains.response.models import DeadlinePolicy

DEFAULT_SECONDS: dict[str, dict[int, int]] = {
    "acknowledge": {1: 60, 2: 60, 3: 120, 4: 300},
    "units": {1: 120, 2: 180, 3: 300, 4: 600},
    "on_scene": {1: 900, 2: 1200, 3: 1800, 4: 3600},
}
# The state an assignment is in while it waits for the step.
WAITING_STATE = {"acknowledge": ("notified",), "units": ("acknowledged",), "on_scene": ("units_assigned",)}


def seconds_for(ctx: Ctx, agency_id: int, priority: int, step: str) -> int:
    rows = ctx.db.scalars(select(DeadlinePolicy).where(
        DeadlinePolicy.step == step,
        (DeadlinePolicy.agency_id == agency_id) | DeadlinePolicy.agency_id.is_(None),
        (DeadlinePolicy.priority == priority) | DeadlinePolicy.priority.is_(None))).all()
    if rows:
        best = max(rows, key=lambda r: (r.agency_id is not None, r.priority is not None))
        return best.seconds
    return DEFAULT_SECONDS[step][priority]


def schedule(ctx: Ctx, assignment: Assignment, incident: Incident, step: str, level: int = 0) -> Deadline:
    seconds = seconds_for(ctx, assignment.agency_id, incident.priority, step)
    now = ctx.now()
    deadline = Deadline(incident_id=incident.id, assignment_id=assignment.id, step=step, level=level,
                        due_at=now + timedelta(seconds=seconds), state="pending", created_at=now, fired_by="")
    ctx.db.add(deadline)
    ctx.db.flush()
    return deadline


def step_reached(ctx: Ctx, assignment: Assignment, incident: Incident) -> None:
    """After an assignment changed state: cancel what it no longer waits for, schedule what it waits for
    next. Finished assignments wait for nothing."""
    waiting = next((step for step, states in WAITING_STATE.items() if assignment.state in states), None)
    cancel(ctx, assignment_id=assignment.id,
           steps=tuple(s for s in WAITING_STATE if s != waiting) if waiting else None)
    if waiting is None:
        return
    pending = ctx.db.scalar(select(Deadline.id).where(Deadline.assignment_id == assignment.id,
                                                      Deadline.step == waiting, Deadline.state == "pending"))
    if pending is None:
        schedule(ctx, assignment, incident, waiting)
