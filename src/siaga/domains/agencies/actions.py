"""The only writers of agencies and stations."""

from __future__ import annotations

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid
from siaga.domains.agencies import schemas
from siaga.domains.agencies.models import UNIT_STATUSES, Agency, Station
from siaga.domains.regions.models import Region
from siaga.events.kinds import EventKind


def create_agency(ctx: Ctx, data: schemas.AgencyCreate) -> schemas.AgencyOut:
    unknown = set(data.status_labels) - set(UNIT_STATUSES)
    if unknown:
        raise invalid("body.status_labels", f"unknown unit states: {', '.join(sorted(unknown))}")
    if ctx.db.scalar(select(Agency.id).where(Agency.code == data.code)) is not None:
        raise Problem(409, "duplicate", what="agency", value=data.code)
    agency = Agency(**data.model_dump(), active=True)
    ctx.db.add(agency)
    ctx.db.flush()
    out = schemas.AgencyOut.model_validate(agency)
    ctx.audit("agency.create", "agency", agency.id, data.model_dump())
    ctx.emit(EventKind.AGENCY_CREATED, "agency", agency.id, out.model_dump(mode="json"))
    return out


def update_agency(ctx: Ctx, agency_id: int, data: schemas.AgencyUpdate) -> schemas.AgencyOut:
    """An administrator corrects an agency: its names, or the number a call-taker dials to join it to a caller
    (the SIP edge learns a changed number within five seconds)."""
    agency = ctx.db.get(Agency, agency_id, with_for_update=True)
    if agency is None:
        raise Problem(404, "not_found", what="agency", id=agency_id)
    if agency.version != data.version:
        raise Problem(409, "stale_version", current=agency.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    changes = {k: v.strip() for k, v in changes.items() if v is not None and v.strip() != getattr(agency, k)}
    if changes:
        before = {k: getattr(agency, k) for k in changes}
        for k, v in changes.items():
            setattr(agency, k, v)
        ctx.db.flush()
        ctx.audit("agency.update", "agency", agency.id, {"before": before, "after": changes})
        out = schemas.AgencyOut.model_validate(agency)
        ctx.emit(EventKind.AGENCY_UPDATED, "agency", agency.id, out.model_dump(mode="json"))
        return out
    return schemas.AgencyOut.model_validate(agency)


def create_station(ctx: Ctx, data: schemas.StationCreate) -> schemas.StationOut:
    if ctx.db.get(Agency, data.agency_id) is None:
        raise invalid("body.agency_id", "unknown agency")
    if data.kode_wilayah and ctx.db.get(Region, data.kode_wilayah) is None:
        raise invalid("body.kode_wilayah", "unknown kode wilayah")
    if ctx.db.scalar(select(Station.id).where(Station.code == data.code)) is not None:
        raise Problem(409, "duplicate", what="station", value=data.code)
    station = Station(**data.model_dump())
    ctx.db.add(station)
    ctx.db.flush()
    out = schemas.StationOut.model_validate(station)
    ctx.audit("station.create", "station", station.id, data.model_dump())
    ctx.emit(EventKind.STATION_CREATED, "station", station.id, out.model_dump(mode="json"))
    return out
