"""Gazetteer search: regions by name or parent, landmarks (patokan)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from siaga.core.context import Ctx
from siaga.core.errors import Problem, request_language
from siaga.core.http import ctx_for, idempotent
from siaga.domains.regions import actions, schemas, service
from siaga.domains.regions.models import Region

router = APIRouter(tags=["gazetteer"])

Level = Literal["provinsi", "kabupaten", "kota", "kecamatan", "desa", "kelurahan"]


@router.get("/regions", response_model=list[schemas.RegionOut])
def list_regions(q: str | None = Query(default=None, max_length=100), level: Level | None = None,
                 parent: str | None = Query(default=None, max_length=13),
                 limit: int = Query(default=200, ge=1, le=1000),
                 ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[schemas.RegionOut]:
    return [schemas.RegionOut.model_validate(r) for r in service.search_regions(ctx.db, q, level, parent, limit)]


@router.get("/regions/at", response_model=schemas.PlaceOut)
def region_at(request: Request, lat: float = Query(ge=-90, le=90, description="WGS 84 latitude, e.g. 1.4652"),
              lon: float = Query(ge=-180, le=180, description="WGS 84 longitude, e.g. 102.1070"),
              ctx: Ctx = Depends(ctx_for("reference.read"))) -> schemas.PlaceOut:
    """Where a coordinate is: the desa whose official boundary holds it, its kecamatan and kabupaten, and the
    nearest patokan with its distance. A point in no desa (the sea: a boat; or across the border) is still a
    200: `desa` is null and `nearest_desa` says which desa is closest and how far (`status` near/outside)."""
    return service.locate(ctx.db, lat, lon, request_language(request))


@router.get("/regions/{kode}", response_model=schemas.RegionOut)
def get_region(kode: str, ctx: Ctx = Depends(ctx_for("reference.read"))) -> schemas.RegionOut:
    region = ctx.db.get(Region, kode)
    if region is None:
        raise Problem(404, "not_found")
    return schemas.RegionOut.model_validate(region)


@router.get("/landmarks", response_model=list[schemas.LandmarkOut])
def list_landmarks(q: str | None = Query(default=None, max_length=100),
                   limit: int = Query(default=50, ge=1, le=1000),
                   ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[schemas.LandmarkOut]:
    return [schemas.LandmarkOut.model_validate(lm) for lm in service.search_landmarks(ctx.db, q, limit)]


@router.post("/landmarks", status_code=201, response_model=schemas.LandmarkOut)
def create_landmark(data: schemas.LandmarkCreate, request: Request,
                    ctx: Ctx = Depends(ctx_for("reference.write"))) -> Response:
    return idempotent(request, ctx, data, lambda: actions.create_landmark(ctx, data))
