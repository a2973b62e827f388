"""Incidents: list, read, create, edit, status, notes, calls, and each agency's assignment."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid, request_language
from siaga.core.http import ctx_for, idempotent
from siaga.core.ids import PathId
from siaga.domains.calls.privacy import incident_for, incidents_for, timeline_entries_for
from siaga.domains.dispatch import actions as dispatch
from siaga.domains.incidents import actions, schemas, service
from siaga.domains.incidents.questions import questions_for
from siaga.domains.incidents.schemas import IncidentStatus
from siaga.domains.roads import schemas as roads_schemas

router = APIRouter(tags=["incidents"])

CONFLICT = {409: {"description": "stale version, or a move the state machine forbids"}}


@router.get("/incidents", response_model=list[schemas.IncidentOut])
def list_incidents(status: IncidentStatus | None = None, all: bool = False,
                   category: str | None = Query(default=None, max_length=60),
                   kode_wilayah: str | None = Query(default=None, max_length=13),
                   limit: int = Query(default=200, ge=1, le=1000), offset: int = Query(default=0, ge=0, le=1_000_000),
                   ctx: Ctx = Depends(ctx_for("incidents.read"))) -> list[schemas.IncidentOut]:
    """Open incidents by default (new, dispatched, on scene, resolved); `all=true` includes closed."""
    rows = service.visible_incidents(ctx.db, ctx.actor, open_only=not all, status=status, category=category,
                                     kode_wilayah=kode_wilayah, limit=limit, offset=offset)
    return incidents_for(ctx.actor, service.incidents_out(ctx.db, rows))


# Declared before /incidents/{incident_id}, which would otherwise take "nearby" for an id.
@router.get("/incidents/nearby", response_model=list[schemas.NearbyIncidentOut])
def nearby_incidents(lat: float = Query(ge=-90, le=90), lon: float = Query(ge=-180, le=180),
                     radius_m: float = Query(default=2000, gt=0, le=100_000),
                     category_code: str | None = Query(default=None, max_length=60),
                     since_minutes: int = Query(default=180, ge=1, le=7 * 24 * 60),
                     limit: int = Query(default=20, ge=1, le=100),
                     ctx: Ctx = Depends(ctx_for("incidents.read"))) -> list[schemas.NearbyIncidentOut]:
    """Open incidents within `radius_m` of the point, created in the last `since_minutes`: possible
    duplicates of the call being taken. Same top-level category as `category_code` first
    (`same_category`), then nearest (`distance_m`). Incidents without coordinates are not considered."""
    category = service.top_level_category(ctx.db, category_code) if category_code else None
    if category_code and (category is None or not category.active):
        raise invalid("query.category_code", f"unknown category: {category_code}", "unknown")
    return incidents_for(ctx.actor, service.nearby_incidents(
        ctx.db, ctx.actor, lat=lat, lon=lon, radius_m=radius_m, category=category,
        since=ctx.now() - timedelta(minutes=since_minutes), limit=limit))


@router.get("/incidents/{incident_id}", response_model=schemas.IncidentOut)
def get_incident(incident_id: PathId, response: Response,
                 ctx: Ctx = Depends(ctx_for("incidents.read"))) -> schemas.IncidentOut:
    incident = service.get_visible_incident(ctx.db, ctx.actor, incident_id)
    response.headers["ETag"] = f'"{incident.version}"'
    return incident_for(ctx.actor, service.incident_out(ctx.db, incident))


@router.post("/incidents", status_code=201, response_model=schemas.IncidentOut)
def create_incident(data: schemas.IncidentCreate, request: Request,
                    ctx: Ctx = Depends(ctx_for("incidents.create"))) -> Response:
    """Send an Idempotency-Key header: a retry after a timeout then never creates a second incident."""
    return idempotent(request, ctx, data, lambda: incident_for(ctx.actor, actions.create_incident(ctx, data)))


@router.patch("/incidents/{incident_id}", response_model=schemas.IncidentOut, responses=CONFLICT)
def update_incident(incident_id: PathId, data: schemas.IncidentUpdate,
                    ctx: Ctx = Depends(ctx_for("incidents.update"))) -> schemas.IncidentOut:
    return incident_for(ctx.actor, actions.update_incident(ctx, incident_id, data))


@router.post("/incidents/{incident_id}/status", response_model=schemas.IncidentOut, responses=CONFLICT)
def change_status(incident_id: PathId, data: schemas.IncidentStatusIn,
                  ctx: Ctx = Depends(ctx_for("incidents.status"))) -> schemas.IncidentOut:
    return incident_for(ctx.actor, actions.change_incident_status(ctx, incident_id, data))


@router.get("/incidents/{incident_id}/timeline", response_model=list[schemas.TimelineOut])
def get_timeline(incident_id: PathId, request: Request,
                 ctx: Ctx = Depends(ctx_for("incidents.read"))) -> list[schemas.TimelineOut]:
    """The incident's timeline; each entry's `text` in the request's language (Accept-Language, else the
    user's setting), with its message `code` and `params` as stored and what a person typed as `note`."""

    incident = service.get_visible_incident(ctx.db, ctx.actor, incident_id)
    lang = request_language(request)
    entries = [schemas.TimelineOut.of(e, lang) for e in service.timeline(ctx.db, incident.id)]
    return timeline_entries_for(ctx.actor, entries)


@router.post("/incidents/{incident_id}/notes", status_code=201, response_model=schemas.TimelineOut)
def add_note(incident_id: PathId, data: schemas.NoteIn, request: Request,
             ctx: Ctx = Depends(ctx_for("incidents.note"))) -> Response:
    return idempotent(request, ctx, data, lambda: timeline_entries_for(
        ctx.actor, [actions.add_note(ctx, incident_id, data, request_language(request))])[0])


@router.post("/incidents/{incident_id}/calls", response_model=schemas.IncidentOut, responses=CONFLICT)
def link_call(incident_id: PathId, data: schemas.LinkCallIn,
              ctx: Ctx = Depends(ctx_for("incidents.update"))) -> schemas.IncidentOut:
    return incident_for(ctx.actor, actions.link_call(ctx, incident_id, data))


@router.post("/incidents/{incident_id}/assignments", status_code=201, response_model=schemas.IncidentOut,
             responses=CONFLICT)
def create_assignment(incident_id: PathId, data: schemas.AssignmentCreate, request: Request,
                      ctx: Ctx = Depends(ctx_for("assignments.create"))) -> Response:
    return idempotent(request, ctx, data,
                      lambda: incident_for(ctx.actor, dispatch.create_assignment(ctx, incident_id, data)))


@router.post("/assignments/{assignment_id}/state", response_model=schemas.IncidentOut, responses=CONFLICT)
def change_assignment_state(assignment_id: PathId, data: schemas.AssignmentStateIn,
                            ctx: Ctx = Depends(ctx_for("assignments.update"))) -> schemas.IncidentOut:
    return incident_for(ctx.actor, dispatch.change_assignment_state(ctx, assignment_id, data))


@router.post("/assignments/{assignment_id}/units", response_model=schemas.IncidentOut, responses=CONFLICT)
def assign_unit(assignment_id: PathId, data: schemas.AssignUnitIn,
                ctx: Ctx = Depends(ctx_for("assignments.update"))) -> schemas.IncidentOut:
    return incident_for(ctx.actor, dispatch.assign_unit(ctx, assignment_id, data))


@router.get("/assignments/{assignment_id}/recommendations", response_model=list[roads_schemas.RecommendationOut])
def recommend_units(assignment_id: PathId, request: Request, limit: int = Query(default=5, ge=1, le=50),
                    ctx: Ctx = Depends(ctx_for("assignments.update"))) -> list[roads_schemas.RecommendationOut]:
    """The agency's units for this assignment ranked by travel time over the road network (ferries and
    their waiting included), each explained; units not offered say why (busy, out of service, slower by
    road, off the road network)."""
    return dispatch.recommend_for_assignment(ctx, assignment_id, request_language(request), limit)


@router.get("/categories/{code}/questions", response_model=schemas.CategoryQuestionsOut, tags=["reference"])
def category_questions(code: str = Path(max_length=60), ctx: Ctx = Depends(ctx_for("reference.read"))
                       ) -> schemas.CategoryQuestionsOut:
    """The guided questions for a category (a subcategory gets its parent's). Send the answers as
    `answers` when creating the incident: without a `priority`, they suggest one."""
    category = service.top_level_category(ctx.db, code)
    if category is None:
        raise Problem(404, "not_found")
    return schemas.CategoryQuestionsOut(category_code=category.code, questions=questions_for(ctx.db, category.code))

