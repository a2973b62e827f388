"""Dispatch: an agency's assignment to an incident, the units it sends, and the unit status moves
that follow. Agency operators act only for their own agency; a unit serves one incident at a time."""

from __future__ import annotations

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.core.i18n import message, t
from siaga.domains.agencies.models import Agency
from siaga.domains.dispatch import deadlines
from siaga.domains.incidents import schemas, service
from siaga.domains.incidents.actions import add_timeline, announce_incident, release_units, set_incident_status
from siaga.domains.incidents.models import (
    ASSIGNMENT_TRANSITIONS,
    INCIDENT_ACTIVE_STATUSES,
    Assignment,
    Incident,
    UnitAssignment,
)
from siaga.domains.roads import schemas as roads_schemas
from siaga.domains.roads import service as roads_service
from siaga.domains.units import schemas as unit_schemas
from siaga.domains.units.actions import announce_unit
from siaga.domains.units.models import ASSIGNABLE_STATUSES, UNIT_TRANSITIONS, Unit
from siaga.domains.units.service import get_visible_unit
from siaga.events.kinds import EventKind


def create_assignment(ctx: Ctx, incident_id: int, data: schemas.AssignmentCreate) -> schemas.IncidentOut:
    incident = service.get_visible_incident(ctx.db, ctx.actor, incident_id, for_update=True)
    if incident.status not in INCIDENT_ACTIVE_STATUSES:  # a resolved incident is reopened first
        raise Problem(409, "invalid_transition", current=incident.status, target="assigned")
    agency = ctx.db.get(Agency, data.agency_id)
    if agency is None or not agency.active:
        raise invalid("body.agency_id", "unknown agency", "unknown")
    exists = ctx.db.scalar(select(Assignment).where(Assignment.incident_id == incident.id,
                                                    Assignment.agency_id == agency.id).with_for_update())
    if exists is not None and exists.state != "stood_down":
        raise Problem(409, "already_assigned")
    notify_agency(ctx, incident, agency, again=exists)
    return announce_incident(ctx, incident, EventKind.INCIDENT_ASSIGNMENT_ADDED)


def dispatch_agencies(ctx: Ctx, incident_id: int, data: schemas.DispatchIn) -> schemas.IncidentOut:
    """Send the incident to several agencies at once (the response plan's proposal, confirmed or edited
    by the dispatcher): all of them or none; agencies already assigned are left as they are."""
    incident = service.get_visible_incident(ctx.db, ctx.actor, incident_id, for_update=True)
    if incident.status not in INCIDENT_ACTIVE_STATUSES:  # a resolved incident is reopened first
        raise Problem(409, "invalid_transition", current=incident.status, target="assigned")
    assigned = {a.agency_id: a for a in ctx.db.scalars(
        select(Assignment).where(Assignment.incident_id == incident.id).order_by(Assignment.id).with_for_update())}
    agencies = []
    for i, agency_id in enumerate(dict.fromkeys(data.agency_ids)):
        agency = ctx.db.get(Agency, agency_id)
        if agency is None or not agency.active:
            raise invalid(f"body.agency_ids.{i}", "unknown agency", "unknown")
        if agency.id not in assigned or assigned[agency.id].state == "stood_down":
            agencies.append(agency)
    for agency in agencies:
        notify_agency(ctx, incident, agency, reason=data.note, again=assigned.get(agency.id))
    kind = EventKind.INCIDENT_ASSIGNMENT_ADDED if agencies else EventKind.INCIDENT_UPDATED
    return announce_incident(ctx, incident, kind)


def notify_agency(ctx: Ctx, incident: Incident, agency: Agency, reason: str = "",
                  backup_for: Agency | None = None, again: Assignment | None = None) -> Assignment:
    """One agency is told of the incident: the assignment row, its acknowledge deadline, the timeline.
    The caller announces the incident (the agency's console hears of it through that event). `reason` is what
    the dispatcher typed; `backup_for` the agency this one stands in for (escalation), said as a message.

    `again`: the agency's assignment stood down when the incident was resolved, now reopened and the agency
    sent again. One agency has one assignment per incident, so that row starts over as notified: its earlier
    times are cleared (response times are measured from this notification) and stay in the timeline and the
    audit log."""
    if again is not None:
        assert again.state == "stood_down" and again.agency_id == agency.id
        assignment = again
        assignment.state, assignment.notified_at, assignment.reason = "notified", ctx.now(), reason
        assignment.acknowledged_at = assignment.dispatched_at = assignment.on_scene_at = None
        assignment.cleared_at = assignment.declined_at = assignment.cancelled_at = assignment.stood_down_at = None
        assignment.escalation_level, assignment.escalated_at = 0, None
        assignment.backup_for_agency_id = backup_for.id if backup_for else None
    else:
        assignment = Assignment(incident_id=incident.id, agency_id=agency.id, state="notified",
                                notified_at=ctx.now(), reason=reason, escalation_level=0,
                                backup_for_agency_id=backup_for.id if backup_for else None)
        ctx.db.add(assignment)
    ctx.db.flush()
    deadlines.step_reached(ctx, assignment, incident)
    add_timeline(ctx, incident.id, "assignment", reason or ("" if backup_for else agency.short_name),
                 {"assignment_id": assignment.id, "agency_id": agency.id, "state": "notified"},
                 message=message("timeline.backup_for", agency=backup_for.short_name) if backup_for else None)
    ctx.audit("assignment.create", "assignment", assignment.id,
              {"incident_id": incident.id, "agency_id": agency.id, "reason": reason,
               **({"backup_for": backup_for.id} if backup_for else {}), **({"again": True} if again else {})})
    return assignment


def _get_assignment(ctx: Ctx, assignment_id: int) -> tuple[Assignment, Incident]:
    """The assignment and its incident, both locked: the incident first, then the assignment — the order
    resolving or cancelling the incident (incidents.actions.stand_down) and the ticker (escalation.fire_one)
    keep, so an agency acting at the instant the incident is resolved waits for it and then finds the
    assignment stood down."""
    incident_id = ctx.db.scalar(select(Assignment.incident_id).where(Assignment.id == assignment_id))
    incident = None if incident_id is None else ctx.db.scalar(
        select(Incident).where(Incident.id == incident_id).with_for_update())
    assignment = ctx.db.scalar(select(Assignment).where(Assignment.id == assignment_id).with_for_update())
    if assignment is None or incident is None or not ctx.actor.may_see_agencies([assignment.agency_id]):
        raise Problem(404, "not_found")
    ctx.actor.require_agency(assignment.agency_id)
    return assignment, incident


def change_assignment_state(ctx: Ctx, assignment_id: int, data: schemas.AssignmentStateIn) -> schemas.IncidentOut:
    assignment, incident = _get_assignment(ctx, assignment_id)
    check_version(assignment.version, data.version)
    current, target = assignment.state, data.state
    if target not in ASSIGNMENT_TRANSITIONS[current]:
        raise Problem(409, "invalid_transition", current=current, target=target)
    if target == "declined" and not data.reason.strip():
        raise invalid("body.reason", "say why the agency declines", "missing")
    if target == "cleared" and not data.reason.strip():
        raise invalid("body.reason", "an outcome note is required to clear", "missing")
    now = ctx.now()
    assignment.state = target
    if target == "acknowledged":
        assignment.acknowledged_at = now
    elif target == "on_scene":
        assignment.on_scene_at = assignment.on_scene_at or now
    elif target == "cleared":
        assignment.cleared_at = now
        release_units(ctx, assignment)
    elif target == "declined":
        assignment.declined_at = now
        assignment.escalation_level = max(assignment.escalation_level, 1)  # the supervisor must act
        assignment.escalated_at = now
    elif target == "cancelled":
        assignment.cancelled_at = now
        release_units(ctx, assignment)
    if data.reason:
        assignment.reason = data.reason
    deadlines.step_reached(ctx, assignment, incident)
    add_timeline(ctx, incident.id, "assignment", data.reason,
                 {"assignment_id": assignment.id, "agency_id": assignment.agency_id, "from": current,
                  "to": target})
    ctx.audit("assignment.state", "assignment", assignment.id,
              {"from": current, "to": target, "reason": data.reason})
    return announce_incident(ctx, incident, EventKind.INCIDENT_ASSIGNMENT_CHANGED)


def assign_unit(ctx: Ctx, assignment_id: int, data: schemas.AssignUnitIn) -> schemas.IncidentOut:
    assignment, incident = _get_assignment(ctx, assignment_id)
    if assignment.state not in ("notified", "acknowledged", "units_assigned", "on_scene"):
        raise Problem(409, "invalid_transition", current=assignment.state, target="units_assigned")
    # The row lock makes two dispatchers sending the same unit queue up: the second sees it taken.
    unit = get_visible_unit(ctx.db, ctx.actor, data.unit_id, for_update=True)
    if data.unit_version is not None:
        check_version(unit.version, data.unit_version)
    if unit.agency_id != assignment.agency_id:
        raise Problem(409, "unit_other_agency", callsign=unit.callsign)
    if unit.status not in ASSIGNABLE_STATUSES or not unit.active:
        raise Problem(409, "unit_unavailable", callsign=unit.callsign, unit_status=unit.status)
    now = ctx.now()
    ua = UnitAssignment(assignment_id=assignment.id, incident_id=incident.id, unit_id=unit.id, active=True,
                        dispatched_at=now)
    ctx.db.add(ua)
    unit.status, unit.status_at = "assigned", now
    if assignment.state in ("notified", "acknowledged"):
        assignment.state = "units_assigned"
    assignment.acknowledged_at = assignment.acknowledged_at or now
    assignment.dispatched_at = assignment.dispatched_at or now
    if incident.status == "new":
        set_incident_status(ctx, incident, "dispatched")
    deadlines.step_reached(ctx, assignment, incident)
    add_timeline(ctx, incident.id, "unit_assigned", unit.callsign,
                 {"assignment_id": assignment.id, "unit_id": unit.id})
    ctx.audit("unit.assign", "unit", unit.id, {"assignment_id": assignment.id, "incident_id": incident.id})
    announce_unit(ctx, unit, EventKind.UNIT_STATUS_CHANGED)
    return announce_incident(ctx, incident, EventKind.INCIDENT_UNIT_ASSIGNED)


def report_unit_status(ctx: Ctx, unit_id: int, data: unit_schemas.UnitStatusIn) -> unit_schemas.UnitOut:
    unit = _lock_unit_after_its_incident(ctx, unit_id)
    ctx.actor.require_agency(unit.agency_id)
    check_version(unit.version, data.version)
    current, target = unit.status, data.status
    if target != current and target not in UNIT_TRANSITIONS[current]:
        raise Problem(409, "invalid_transition", current=current, target=target)
    now = ctx.now()
    if data.lat is not None and data.lon is not None:
        unit.lat, unit.lon, unit.position_at = data.lat, data.lon, now
    if target != current:
        unit.status, unit.status_at = target, now
    ua = ctx.db.scalar(select(UnitAssignment).where(UnitAssignment.unit_id == unit.id,
                                                    UnitAssignment.active.is_(True)))
    incident = None
    if ua is not None and target != current:
        incident = ctx.db.get(Incident, ua.incident_id)
        assignment = ctx.db.get(Assignment, ua.assignment_id)
        assert incident is not None and assignment is not None
        if target == "en_route":
            ua.en_route_at = ua.en_route_at or now
        elif target == "on_scene":
            ua.on_scene_at = ua.on_scene_at or now
            if assignment.state in ("acknowledged", "units_assigned"):
                assignment.state = "on_scene"
            assignment.on_scene_at = assignment.on_scene_at or now
            deadlines.step_reached(ctx, assignment, incident)
            if incident.status in ("new", "dispatched"):
                set_incident_status(ctx, incident, "on_scene")
        elif target in ("returning", "available", "out_of_service"):
            ua.returning_at = now if target == "returning" else ua.returning_at
            ua.cleared_at, ua.active = now, False
        add_timeline(ctx, incident.id, "unit_status", unit.callsign,
                     {"unit_id": unit.id, "from": current, "to": target})
    ctx.audit("unit.status", "unit", unit.id, {"from": current, "to": target, "lat": data.lat, "lon": data.lon})
    announce_unit(ctx, unit, EventKind.UNIT_STATUS_CHANGED)
    if incident is not None:
        announce_incident(ctx, incident, EventKind.INCIDENT_UPDATED)
    return unit_schemas.UnitOut.model_validate(unit)


def _lock_unit_after_its_incident(ctx: Ctx, unit_id: int) -> Unit:
    """Lock a unit the way every other writer does: its incident first, then the unit. A crew's report
    that locked the unit and then waited for the incident (its timeline row needs the incident) while a
    resolve held the incident and waited for the unit would deadlock on PostgreSQL, and one of the two
    would fail. Once the unit is held its assignment cannot move (sending a unit locks it first)."""
    active = select(UnitAssignment.incident_id).where(UnitAssignment.unit_id == unit_id,
                                                      UnitAssignment.active.is_(True))
    incident_id = ctx.db.scalar(active)
    if incident_id is not None:
        ctx.db.scalar(select(Incident.id).where(Incident.id == incident_id).with_for_update())
    unit = get_visible_unit(ctx.db, ctx.actor, unit_id, for_update=True)
    if ctx.db.scalar(active) not in (None, incident_id):
        # Sent to another incident between the two looks: locking that incident now would break the order.
        # Rare; the crew's app reloads the unit and sends the report again. (Released meanwhile, as by a
        # resolve we waited for, is fine: no incident is touched.)
        raise Problem(409, "stale_version", current=unit.version)
    return unit


def recommend_for_assignment(ctx: Ctx, assignment_id: int, language: str = "id",
                             limit: int = 5) -> list[roads_schemas.RecommendationOut]:
    """The agency's units for this assignment, fastest by road first, each with its reason when it is
    not offered: busy elsewhere, out of service, or slower by road than it looks on the map."""

    assignment = ctx.db.scalar(select(Assignment).where(Assignment.id == assignment_id))
    if assignment is None or not ctx.actor.may_see_agencies([assignment.agency_id]):
        raise Problem(404, "not_found")
    incident = ctx.db.get(Incident, assignment.incident_id)
    assert incident is not None
    units = list(ctx.db.scalars(select(Unit).where(Unit.agency_id == assignment.agency_id, Unit.active.is_(True))
                                .order_by(Unit.callsign)))
    free = [u for u in units if u.status in ASSIGNABLE_STATUSES]
    out: list[roads_schemas.RecommendationOut] = []
    if incident.lat is not None and incident.lon is not None:
        ranked = roads_service.recommend_units(ctx.db, incident.lat, incident.lon,
                                               roads_service.candidates_of(free), limit, language=language)
        out = [roads_schemas.RecommendationOut.model_validate(r) for r in ranked]
    else:
        out = [roads_schemas.RecommendationOut(
            unit_id=u.id, callsign=u.callsign, vehicle_type=u.type, offered=True, reachable=False, rank=None,
            eta_s=None, drive_s=None, distance_m=None, snap_m=None, incident_snap_m=None, straight_m=None,
            ferries=[], reason="incident_without_location",
            explanation=t("dispatch.incident_without_location", language))
            for u in free]
    for u in units:
        if u.status in ASSIGNABLE_STATUSES:
            continue
        out.append(roads_schemas.RecommendationOut(
            unit_id=u.id, callsign=u.callsign, vehicle_type=u.type, offered=False, reachable=False, rank=None,
            eta_s=None, drive_s=None, distance_m=None, snap_m=None, incident_snap_m=None, straight_m=None, ferries=[],
            reason="out_of_service" if u.status == "out_of_service" else "busy",
            explanation=t("dispatch.out_of_service" if u.status == "out_of_service" else "dispatch.busy", language,
                          callsign=u.callsign)))
    return out
