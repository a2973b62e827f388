"""Correcting places a site shipped wrong, in databases loaded before the fix.

The Bengkalis data of the first releases put 10 stations and 14 patokan outside the desa they name (by up
to 11 km: issue 14). `siaga demo load` never changes a row it finds, so a database loaded then kept the
wrong points — a unit ranked from the wrong station, a caller's landmark in the wrong place. A site folder
may list those superseded values (`superseded_places.csv`: kind, key, lat, lon, kode_wilayah as once
shipped). A row still holding exactly such a value is moved to the site's current value; a row someone has
changed since (an admin's own correction) is left alone. Units parked at a corrected station's old point
move with it. Every move is audited."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.domains.agencies.models import Station
from siaga.domains.regions.models import Landmark
from siaga.domains.units.models import Unit

SUPERSEDED = "superseded_places.csv"
SAME = 1e-6  # degrees (~0.1 m): the shipped files carry 4–6 decimals


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def _at(row_lat: float | None, row_lon: float | None, lat: float, lon: float) -> bool:
    return row_lat is not None and row_lon is not None and abs(row_lat - lat) < SAME and abs(row_lon - lon) < SAME


def correct_superseded_places(ctx: Ctx, folder: Path) -> int:
    """Move stations and patokan still at a superseded shipped point to the site's current one; returns
    how many rows moved (stations, patokan and units)."""
    path = folder / SUPERSEDED
    if not path.exists():
        return 0
    current = {("station", r["code"]): r for r in _rows(folder / "stations.csv")}
    current |= {("landmark", r["name"]): r for r in _rows(folder / "landmarks.csv")}
    moved = 0
    for old in _rows(path):
        new = current.get((old["kind"], old["key"]))
        if new is None:
            continue
        old_lat, old_lon, new_lat, new_lon = float(old["lat"]), float(old["lon"]), float(new["lat"]), float(new["lon"])
        if old["kind"] == "station":
            row: Station | Landmark | None = ctx.db.scalar(select(Station).where(Station.code == old["key"]))
        else:
            row = ctx.db.scalar(select(Landmark).where(Landmark.name == old["key"]))
        if row is None or not _at(row.lat, row.lon, old_lat, old_lon) or \
                (row.kode_wilayah or "") != old["kode_wilayah"]:
            continue  # not loaded, or changed since it was: someone's own correction stands
        row.lat, row.lon, row.kode_wilayah = new_lat, new_lon, new["kode_wilayah"] or None
        ctx.audit("place.correct", old["kind"], row.id, {
            "key": old["key"], "from": {"lat": old_lat, "lon": old_lon, "kode_wilayah": old["kode_wilayah"]},
            "to": {"lat": new_lat, "lon": new_lon, "kode_wilayah": new["kode_wilayah"]},
            "reason": "shipped point corrected (issue 14: inside the desa it names)"})
        moved += 1
        if isinstance(row, Station):
            for unit in ctx.db.scalars(select(Unit).where(Unit.station_id == row.id)):
                if _at(unit.lat, unit.lon, old_lat, old_lon):
                    unit.lat, unit.lon = new_lat, new_lon
                    ctx.audit("place.correct", "unit", unit.id, {"key": unit.callsign, "with_station": row.code})
                    moved += 1
    ctx.db.flush()
    return moved
