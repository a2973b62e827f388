"""Reads of incidents, shaped once (IncidentOut) for the API, the event payloads and the snapshot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.core.errors import Problem
from siaga.domains.calls.models import Call
from siaga.domains.incidents import schemas
from siaga.domains.incidents.models import (
    INCIDENT_OPEN_STATUSES,
    Assignment,
    Incident,
    TimelineEntry,
    UnitAssignment,
)


def incidents_out(db: Session, incidents: Sequence[Incident]) -> list[schemas.IncidentOut]:
    """Three queries for any number of incidents: assignments, their units, and linked calls."""
    ids = [i.id for i in incidents]
    if not ids:
        return []
    assignments = db.scalars(
        select(Assignment).where(Assignment.incident_id.in_(ids)).order_by(Assignment.id)).all()
    units = db.scalars(
        select(UnitAssignment).where(UnitAssignment.incident_id.in_(ids)).order_by(UnitAssignment.id)).all()
    calls = db.execute(select(Call.incident_id, Call.id).where(Call.incident_id.in_(ids)).order_by(Call.id)).all()
    units_by_assignment: dict[int, list[schemas.UnitAssignmentOut]] = defaultdict(list)
    for ua in units:
        units_by_assignment[ua.assignment_id].append(schemas.UnitAssignmentOut.model_validate(ua))
    assignments_by_incident: dict[int, list[schemas.AssignmentOut]] = defaultdict(list)
    for a in assignments:
        out = schemas.AssignmentOut.model_validate(a)
        out.units = units_by_assignment.get(a.id, [])
        assignments_by_incident[a.incident_id].append(out)
    calls_by_incident: dict[int, list[int]] = defaultdict(list)
    for incident_id, call_id in calls:
        calls_by_incident[incident_id].append(call_id)
    result = []
    for inc in incidents:
        out = schemas.IncidentOut.model_validate(inc)
        out.assignments = assignments_by_incident.get(inc.id, [])
        out.call_ids = calls_by_incident.get(inc.id, [])
        result.append(out)
    return result


def incident_out(db: Session, incident: Incident) -> schemas.IncidentOut:
    return incidents_out(db, [incident])[0]


def agency_ids_of(db: Session, incident_id: int) -> list[int]:
    return list(db.scalars(select(Assignment.agency_id).where(Assignment.incident_id == incident_id)))


def _visible(stmt, who: Principal):  # type: ignore[no-untyped-def]
    if who.is_staff:
        return stmt
    return stmt.where(Incident.id.in_(
        select(Assignment.incident_id).where(Assignment.agency_id == who.agency_id)))


def visible_incidents(db: Session, who: Principal, *, open_only: bool = True, status: str | None = None,
                      category: str | None = None, kode_wilayah: str | None = None,
                      limit: int = 200, offset: int = 0) -> list[Incident]:
    stmt = _visible(select(Incident), who)
    if open_only and status is None:
        stmt = stmt.where(Incident.status.in_(INCIDENT_OPEN_STATUSES))
    if status:
        stmt = stmt.where(Incident.status == status)
    if category:
        stmt = stmt.where(Incident.category_code == category)
    if kode_wilayah:
        stmt = stmt.where(Incident.kode_wilayah.startswith(kode_wilayah))
    stmt = stmt.order_by(Incident.priority, Incident.created_at.desc(), Incident.id.desc())
    return list(db.scalars(stmt.limit(limit).offset(offset)))


def get_visible_incident(db: Session, who: Principal, incident_id: int, *, for_update: bool = False) -> Incident:
    stmt = _visible(select(Incident).where(Incident.id == incident_id), who)
    if for_update:
        stmt = stmt.with_for_update()
    incident = db.scalar(stmt)
    if incident is None:
        raise Problem(404, "not_found")
    return incident


def timeline(db: Session, incident_id: int) -> list[TimelineEntry]:
    return list(db.scalars(
        select(TimelineEntry).where(TimelineEntry.incident_id == incident_id).order_by(TimelineEntry.id)))
