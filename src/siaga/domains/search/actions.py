"""The only writers of search sectors. Each change goes into the incident's shared timeline in the words
the teams use on the radio ("Sektor A: dicari oleh BPBD", "Sektor A: bersih — tidak ditemukan"; stored as
message codes, so each reader reads them in their own language), is
audited, and is announced with the incident as it now stands, so every console that follows the
incident (the centre's and each assigned agency's) redraws the sector."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from siaga.core.authz import AGENCY_OPERATOR
from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.core.i18n import decimal, joined, message, ref
from siaga.domains.agencies.models import Agency
from siaga.domains.calls.privacy import sees_full_numbers, unmask_edited_text
from siaga.domains.incidents import service as incident_service
from siaga.domains.incidents.actions import (
    add_timeline,
    announce_incident,
    outside_served_area,
)
from siaga.domains.incidents.models import (
    ASSIGNMENT_FINISHED,
    INCIDENT_OPEN_STATUSES,
    Assignment,
    Incident,
    SearchSector,
)
from siaga.domains.search import schemas
from siaga.domains.search.models import MAX_SECTORS_PER_INCIDENT, SECTOR_TRANSITIONS
from siaga.events.kinds import EventKind


def _open_incident(ctx: Ctx, incident_id: int) -> Incident:
    """The incident, locked, if the actor may see it (404 otherwise) and it is still open (409)."""
    incident = incident_service.get_visible_incident(ctx.db, ctx.actor, incident_id, for_update=True)
    if incident.status not in INCIDENT_OPEN_STATUSES:
        raise Problem(409, "invalid_transition", current=incident.status, target="sector", errors=[
            {"field": "path.incident_id", "message": "the incident is no longer open", "code": "incident_closed"}])
    return incident


def _team(ctx: Ctx, incident: Incident, assignment_id: int) -> Assignment:
    assignment = ctx.db.get(Assignment, assignment_id)
    if assignment is None or assignment.incident_id != incident.id:
        raise invalid("body.assignment_id", "not a team (agency assignment) of this incident", "other_incident")
    if assignment.state in ASSIGNMENT_FINISHED:
        raise invalid("body.assignment_id", f"this agency's assignment has ended ({assignment.state})", "inactive")
    return assignment


def _check_region(ctx: Ctx, polygon: list[list[float]]) -> None:
    """Every corner inside the served regency (as incidents' points are): a sector elsewhere is a slip."""
    for i, (lat, lon) in enumerate(polygon):
        why = outside_served_area(ctx.db, ctx.settings.region_code, lat, lon)
        if why:
            raise invalid(f"body.polygon.{i}", f"outside the region served ({why})", "outside_region")


def _agency_of(ctx: Ctx, assignment_id: int | None) -> str:
    if assignment_id is None:
        return ""
    assignment = ctx.db.get(Assignment, assignment_id)
    agency = ctx.db.get(Agency, assignment.agency_id) if assignment is not None else None
    return agency.short_name if agency is not None else f"#{assignment_id}"


def _size(area: float) -> dict[str, Any]:
    """12,4 ha — the way the search teams say it (12.4 ha in English)."""
    if area < 1000:
        return ref("sector.area_m2", n=round(area))
    return ref("sector.area_ha", n=decimal(area / 10_000))


def _check_name(ctx: Ctx, incident_id: int, name: str, sector_id: int | None = None) -> None:
    taken = ctx.db.scalars(select(SearchSector.name).where(SearchSector.incident_id == incident_id,
                                                           SearchSector.id != (sector_id or 0)))
    if any(other.casefold() == name.casefold() for other in taken):
        raise Problem(409, "duplicate", what="sector", value=name, errors=[
            {"field": "body.name", "message": "another sector of this incident has this name", "code": "duplicate"}])


def _log(ctx: Ctx, sector: SearchSector, said: dict[str, Any], typed: str = "") -> None:
    add_timeline(ctx, sector.incident_id, "sector", typed,
                 {"sector_id": sector.id, "status": sector.status, "assignment_id": sector.assignment_id},
                 message=said)


def create_sector(ctx: Ctx, incident_id: int, data: schemas.SectorCreate) -> schemas.SectorOut:
    incident = _open_incident(ctx, incident_id)
    count = ctx.db.scalar(select(func.count()).select_from(SearchSector)
                          .where(SearchSector.incident_id == incident.id)) or 0
    if count >= MAX_SECTORS_PER_INCIDENT:
        raise invalid("path.incident_id", f"an incident holds at most {MAX_SECTORS_PER_INCIDENT} sectors", "too_many")
    _check_name(ctx, incident.id, data.name)
    _check_region(ctx, [list(p) for p in data.polygon])
    if data.assignment_id is not None:
        _team(ctx, incident, data.assignment_id)
    now = ctx.now()
    sector = SearchSector(incident_id=incident.id, name=data.name, polygon=[list(p) for p in data.polygon],
                          assignment_id=data.assignment_id, status="open", note=data.note,
                          created_at=now, updated_at=now)
    ctx.db.add(sector)
    ctx.db.flush()
    out = schemas.SectorOut.of(sector)
    if sector.assignment_id is not None:
        said = message("timeline.sector_created_team", name=sector.name, size=_size(out.area_m2),
                       team=_agency_of(ctx, sector.assignment_id))
    else:
        said = message("timeline.sector_created", name=sector.name, size=_size(out.area_m2))
    _log(ctx, sector, said, sector.note)
    ctx.audit("sector.create", "search_sector", sector.id,
              {"incident_id": incident.id, **data.model_dump(mode="json")})
    announce_incident(ctx, incident, EventKind.INCIDENT_UPDATED)
    return out


def update_sector(ctx: Ctx, sector_id: int, data: schemas.SectorUpdate) -> schemas.SectorOut:
    incident_id = ctx.db.scalar(select(SearchSector.incident_id).where(SearchSector.id == sector_id))
    if incident_id is None:
        raise Problem(404, "not_found")
    incident = _open_incident(ctx, incident_id)  # 404 for an agency not on the incident; lock order: incident first
    sector = ctx.db.scalar(select(SearchSector).where(SearchSector.id == sector_id).with_for_update())
    assert sector is not None
    check_version(sector.version, data.version)
    given = data.model_dump(mode="json", exclude_unset=True, exclude={"version"})  # the polygon as lists
    # null means "unchanged" for every field but the team, where it means "no team"
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None or k == "assignment_id"}
    if changes.get("note") and not sees_full_numbers(ctx.actor):  # they were shown its numbers masked
        changes["note"] = unmask_edited_text(changes["note"], sector.note)
    changes = {k: v for k, v in changes.items() if getattr(sector, k) != v}
    target = changes.get("status", sector.status)
    if "status" in changes and target not in SECTOR_TRANSITIONS[sector.status]:
        raise Problem(409, "invalid_transition", current=sector.status, target=target)
    if "status" in changes and target == "cleared" and not (data.note or "").strip():
        raise invalid("body.note", "say what the search found to mark the sector cleared", "missing")
    if "status" in changes and sector.status == "cleared" and "note" not in given and sector.note:
        changes["note"] = ""  # what the search found no longer holds; the timeline keeps it
    if "name" in changes:
        _check_name(ctx, incident.id, changes["name"], sector.id)
    if "polygon" in changes:
        _check_region(ctx, changes["polygon"])
    if changes.get("assignment_id") is not None:
        _team(ctx, incident, changes["assignment_id"])
    if (target == "searching" and "status" in changes and changes.get("assignment_id", sector.assignment_id) is None
            and ctx.actor.role == AGENCY_OPERATOR):
        # an agency operator who starts searching an unassigned sector takes it for their own team
        own = ctx.db.scalar(select(Assignment.id).where(Assignment.incident_id == incident.id,
                                                        Assignment.agency_id == ctx.actor.agency_id,
                                                        Assignment.state.not_in(ASSIGNMENT_FINISHED)))
        if own is not None:
            changes["assignment_id"] = own
    if not changes:
        return schemas.SectorOut.of(sector)
    before = {k: getattr(sector, k) for k in changes}
    old_name = sector.name
    for key, value in changes.items():
        setattr(sector, key, value)
    sector.updated_at = ctx.now()
    ctx.db.flush()
    out = schemas.SectorOut.of(sector)
    _log(ctx, sector, message("timeline.sector_changed", name=sector.name,
                              changes=joined("; ", _describe(ctx, sector, changes, old_name, out.area_m2))))
    ctx.audit("sector.update", "search_sector", sector.id, {"before": before, "after": changes})
    announce_incident(ctx, incident, EventKind.INCIDENT_UPDATED)
    return out


def _describe(ctx: Ctx, sector: SearchSector, changes: dict[str, Any], old_name: str,
              area: float) -> list[dict[str, Any]]:
    """What changed, for the shared timeline (messages; the notes as the teams typed them); the status first."""
    parts = []
    team = _agency_of(ctx, sector.assignment_id)
    note = changes.get("note", "")
    if "status" in changes:
        if sector.status == "searching":
            parts.append(ref("sector.searching_by", team=team) if team else ref("sector.searching"))
        elif sector.status == "cleared":
            parts.append(ref("sector.cleared", note=sector.note))
        else:
            parts.append(ref("sector.reopened_note", note=note) if note else ref("sector.reopened"))
    if "assignment_id" in changes and not (sector.status == "searching" and "status" in changes and team):
        parts.append(ref("sector.team", team=team) if team else ref("sector.team_released"))
    if "name" in changes:
        parts.append(ref("sector.renamed", old=old_name))
    if "polygon" in changes:
        parts.append(ref("sector.reshaped", size=_size(area)))
    if "note" in changes and "status" not in changes:
        parts.append(ref("sector.note", note=note) if note else ref("sector.note_removed"))
    return parts or [ref("sector.updated")]
