"""Reads of the gazetteer: search by name, children of a region."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siaga.domains.regions.models import Landmark, Region


def search_regions(db: Session, q: str | None, level: str | None, parent: str | None,
                   limit: int) -> list[Region]:
    stmt = select(Region)
    if q:
        stmt = stmt.where(func.lower(Region.name).contains(q.lower()))
    if level:
        stmt = stmt.where(Region.level == level)
    if parent:
        stmt = stmt.where(Region.parent_kode == parent)
    return list(db.scalars(stmt.order_by(Region.kode).limit(limit)))


def search_landmarks(db: Session, q: str | None, limit: int) -> list[Landmark]:
    stmt = select(Landmark)
    if q:
        stmt = stmt.where(func.lower(Landmark.name).contains(q.lower()))
    return list(db.scalars(stmt.order_by(Landmark.name).limit(limit)))
