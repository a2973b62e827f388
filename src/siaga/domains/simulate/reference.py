"""The places and categories a simulation draws from: the gazetteer's desa points and the emergency
categories, read from the database (what `--write` must refer to) or from the shipped CSV files (for a
simulation that touches no database)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.domains.incidents.models import Category
from siaga.domains.regions.models import Region
from siaga.domains.simulate.engine import CategoryRef, Place
from siaga.settings import SHIPPED_SITE

DESA_LEVELS = ("desa", "kelurahan")


def _places(regions: list[tuple[str, str | None, str, str, float | None, float | None]]) -> list[Place]:
    kecamatan = {kode: name for kode, _parent, level, name, _lat, _lon in regions if level == "kecamatan"}
    return [Place(kode, name, parent, kecamatan[parent], lat, lon)
            for kode, parent, level, name, lat, lon in regions
            if level in DESA_LEVELS and parent in kecamatan and lat is not None and lon is not None]


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def places_from_csv(folder: Path = SHIPPED_SITE) -> list[Place]:
    """The desa points of a site folder's regions.csv (the shipped Bengkalis one unless told)."""
    return _places([(r["kode"], r["parent_kode"] or None, r["level"], r["name"],
                     float(r["lat"]) if r["lat"] else None, float(r["lon"]) if r["lon"] else None)
                    for r in _rows(folder / "regions.csv")])


def categories_from_csv(folder: Path = SHIPPED_SITE) -> list[CategoryRef]:
    return [CategoryRef(r["code"], r["parent_code"] or None, int(r["default_priority"] or 3))
            for r in _rows(folder / "categories.csv")]


def places_from_db(db: Session) -> list[Place]:
    return _places([(r.kode, r.parent_kode, r.level, r.name, r.lat, r.lon)
                    for r in db.scalars(select(Region).order_by(Region.kode))])


def categories_from_db(db: Session) -> list[CategoryRef]:
    return [CategoryRef(c.code, c.parent_code, c.default_priority)
            for c in db.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code))]
