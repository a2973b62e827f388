"""Units: list (agency operators see their own), create, and status reports from crews."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from siaga.core.context import Ctx
from siaga.core.http import ctx_for, idempotent
from siaga.core.ids import PathId, QueryId
from siaga.domains.dispatch import actions as dispatch
from siaga.domains.units import actions, schemas, service
from siaga.domains.units.schemas import UnitStatus

router = APIRouter(tags=["units"])


@router.get("/units", response_model=list[schemas.UnitOut])
def list_units(agency_id: QueryId = None, status: UnitStatus | None = None,
               ctx: Ctx = Depends(ctx_for("units.read"))) -> list[schemas.UnitOut]:
    return [schemas.UnitOut.model_validate(u)
            for u in service.visible_units(ctx.db, ctx.actor, agency_id=agency_id, status=status)]


@router.get("/units/{unit_id}", response_model=schemas.UnitOut)
def get_unit(unit_id: PathId, response: Response, ctx: Ctx = Depends(ctx_for("units.read"))) -> schemas.UnitOut:
    unit = service.get_visible_unit(ctx.db, ctx.actor, unit_id)
    response.headers["ETag"] = f'"{unit.version}"'
    return schemas.UnitOut.model_validate(unit)


@router.post("/units", status_code=201, response_model=schemas.UnitOut)
def create_unit(data: schemas.UnitCreate, request: Request,
                ctx: Ctx = Depends(ctx_for("units.write"))) -> Response:
    return idempotent(request, ctx, data, lambda: actions.create_unit(ctx, data))


@router.post("/units/{unit_id}/status", response_model=schemas.UnitOut,
             responses={409: {"description": "stale version or a move the status machine forbids"}})
def report_status(unit_id: PathId, data: schemas.UnitStatusIn,
                  ctx: Ctx = Depends(ctx_for("units.status"))) -> schemas.UnitOut:
    return dispatch.report_unit_status(ctx, unit_id, data)
