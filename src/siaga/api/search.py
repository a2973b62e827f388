"""Search sectors of an incident: drawn and updated by anyone who may write in the incident's shared log
(the centre's operators and the operators of every agency assigned to it); read with the incident."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.core.http import ctx_for, idempotent
from siaga.core.ids import PathId
from siaga.domains.calls.privacy import sector_for
from siaga.domains.incidents import service as incident_service
from siaga.domains.incidents.models import SearchSector
from siaga.domains.search import actions, schemas

router = APIRouter(tags=["search sectors"])

CONFLICT = {409: {"description": "stale version, a move the sector's states forbid, a name already used, "
                                 "or the incident is no longer open"}}


@router.get("/incidents/{incident_id}/sectors", response_model=list[schemas.SectorOut])
def list_sectors(incident_id: PathId, ctx: Ctx = Depends(ctx_for("incidents.read"))) -> list[schemas.SectorOut]:
    """The incident's search sectors (also in the incident itself, as `sectors`)."""
    incident = incident_service.get_visible_incident(ctx.db, ctx.actor, incident_id)
    rows = ctx.db.scalars(select(SearchSector).where(SearchSector.incident_id == incident.id)
                          .order_by(SearchSector.id))
    return [sector_for(ctx.actor, schemas.SectorOut.of(s)) for s in rows]


@router.post("/incidents/{incident_id}/sectors", status_code=201, response_model=schemas.SectorOut,
             responses=CONFLICT)
def create_sector(incident_id: PathId, data: schemas.SectorCreate, request: Request,
                  ctx: Ctx = Depends(ctx_for("incidents.note"))) -> Response:
    """Draw a search sector on an open incident; it starts `open`. Send an Idempotency-Key header so a
    retry after a timeout draws it once."""
    return idempotent(request, ctx, data, lambda: sector_for(ctx.actor, actions.create_sector(ctx, incident_id, data)))


@router.patch("/sectors/{sector_id}", response_model=schemas.SectorOut, responses=CONFLICT)
def update_sector(sector_id: PathId, data: schemas.SectorUpdate,
                  ctx: Ctx = Depends(ctx_for("incidents.note"))) -> schemas.SectorOut:
    """Rename, redraw, give to a team (`assignment_id`, an agency's assignment on the same incident; null
    for none) or move it: open → searching → cleared (with a `note` saying what was found), searching or
    cleared → open. An agency operator who starts searching a sector without a team takes it for their
    agency's team."""
    return sector_for(ctx.actor, actions.update_sector(ctx, sector_id, data))
