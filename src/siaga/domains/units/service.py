"""Reads of units, limited to what the caller may see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.core.errors import Problem
from siaga.domains.units.models import Unit


def visible_units(db: Session, who: Principal, agency_id: int | None = None,
                  status: str | None = None) -> list[Unit]:
    stmt = select(Unit).where(Unit.active.is_(True))
    if not who.is_staff:
        stmt = stmt.where(Unit.agency_id == who.agency_id)
    if agency_id is not None:
        stmt = stmt.where(Unit.agency_id == agency_id)
    if status is not None:
        stmt = stmt.where(Unit.status == status)
    return list(db.scalars(stmt.order_by(Unit.callsign)))


def get_visible_unit(db: Session, who: Principal, unit_id: int, *, for_update: bool = False) -> Unit:
    stmt = select(Unit).where(Unit.id == unit_id)
    if for_update:
        stmt = stmt.with_for_update()
    unit = db.scalar(stmt)
    if unit is None or not who.may_see_agencies([unit.agency_id]):
        raise Problem(404, "not_found")
    return unit
