"""The only writers of unit records (status moves live in dispatch.actions, where assignments are)."""

from __future__ import annotations

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid
from siaga.domains.agencies.models import Agency, Station
from siaga.domains.units import schemas
from siaga.domains.units.models import Unit
from siaga.events.kinds import EventKind
from siaga.events.outbox import Audience


def unit_payload(unit: Unit) -> dict:
    return schemas.UnitOut.model_validate(unit).model_dump(mode="json")


def announce_unit(ctx: Ctx, unit: Unit, kind: EventKind) -> None:
    ctx.db.flush()
    ctx.emit(kind, "unit", unit.id, unit_payload(unit), Audience(agencies=(unit.agency_id,)))


def create_unit(ctx: Ctx, data: schemas.UnitCreate) -> schemas.UnitOut:
    if ctx.db.get(Agency, data.agency_id) is None:
        raise invalid("body.agency_id", "unknown agency", "unknown")
    if data.station_id is not None:
        station = ctx.db.get(Station, data.station_id)
        if station is None or station.agency_id != data.agency_id:
            raise invalid("body.station_id", "unknown station of this agency", "unknown")
    if ctx.db.scalar(select(Unit.id).where(Unit.callsign == data.callsign)) is not None:
        raise Problem(409, "duplicate", what="callsign", value=data.callsign)
    now = ctx.now()
    unit = Unit(**data.model_dump(), status="available", status_at=now,
                position_at=now if data.lat is not None else None, active=True, extra={})
    ctx.db.add(unit)
    ctx.db.flush()
    ctx.audit("unit.create", "unit", unit.id, data.model_dump())
    announce_unit(ctx, unit, EventKind.UNIT_CREATED)
    return schemas.UnitOut.model_validate(unit)
