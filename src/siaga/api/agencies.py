"""Agencies (OPD), stations and the category list."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.core.http import ctx_for, idempotent
from siaga.core.ids import PathId, QueryId
from siaga.domains.agencies import actions, schemas
from siaga.domains.agencies.models import Agency, Station
from siaga.domains.incidents import actions as incident_actions
from siaga.domains.incidents.models import Category
from siaga.domains.incidents.schemas import CategoryCreate, CategoryOut

router = APIRouter(tags=["agencies"])


@router.get("/agencies", response_model=list[schemas.AgencyOut])
def list_agencies(ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[schemas.AgencyOut]:
    return [schemas.AgencyOut.model_validate(a) for a in ctx.db.scalars(select(Agency).order_by(Agency.code))]


@router.post("/agencies", status_code=201, response_model=schemas.AgencyOut)
def create_agency(data: schemas.AgencyCreate, request: Request,
                  ctx: Ctx = Depends(ctx_for("reference.write"))) -> Response:
    return idempotent(request, ctx, data, lambda: actions.create_agency(ctx, data))


@router.patch("/agencies/{agency_id}", response_model=schemas.AgencyOut,
              responses={409: {"description": "`stale_version`: changed meanwhile; reload"}})
def update_agency(agency_id: PathId, data: schemas.AgencyUpdate,
                  ctx: Ctx = Depends(ctx_for("reference.write"))) -> schemas.AgencyOut:
    """Correct an agency's names or its number (the one a call-taker's line dials to join it to a caller)."""
    return actions.update_agency(ctx, agency_id, data)


@router.get("/stations", response_model=list[schemas.StationOut])
def list_stations(agency_id: QueryId = None,
                  ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[schemas.StationOut]:
    stmt = select(Station).order_by(Station.code)
    if agency_id is not None:
        stmt = stmt.where(Station.agency_id == agency_id)
    return [schemas.StationOut.model_validate(s) for s in ctx.db.scalars(stmt)]


@router.post("/stations", status_code=201, response_model=schemas.StationOut)
def create_station(data: schemas.StationCreate, request: Request,
                   ctx: Ctx = Depends(ctx_for("reference.write"))) -> Response:
    return idempotent(request, ctx, data, lambda: actions.create_station(ctx, data))


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[CategoryOut]:
    return [CategoryOut.model_validate(c) for c in ctx.db.scalars(select(Category).order_by(Category.code))]


@router.post("/categories", status_code=201, response_model=CategoryOut)
def create_category(data: CategoryCreate, request: Request,
                    ctx: Ctx = Depends(ctx_for("reference.write"))) -> Response:
    """Categories are data: an admin adds one (or a subcategory `parent.name`) without a release."""
    return idempotent(request, ctx, data, lambda: incident_actions.create_category(ctx, data))
