"""A database loaded before the shipped places were corrected (issue 14: stations and patokan outside the
desa they name) gets them corrected by `siaga demo load`: rows still at a superseded shipped point move
to the current one, with the units parked there, each audited; a row an admin changed meanwhile stays."""

from __future__ import annotations

import csv

from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.data.places import SUPERSEDED, correct_superseded_places
from siaga.domains.agencies.models import Station
from siaga.domains.regions.models import Landmark
from siaga.domains.units.models import Unit
from siaga.settings import SHIPPED_SITE


def superseded() -> dict[tuple[str, str], dict[str, str]]:
    with (SHIPPED_SITE / SUPERSEDED).open(encoding="utf-8") as f:
        return {(r["kind"], r["key"]): r for r in csv.DictReader(f)}


def test_old_points_move_into_their_desa_and_an_admins_own_correction_stays(ctx_factory):
    old = superseded()
    station_code = "DMK-BSL"  # Pos Damkar Bathin Solapan: 11 km from Bathin Solapan as once shipped
    landmarks = [key for kind, key in old if kind == "landmark"][:2]
    with ctx_factory("admin") as ctx:  # make the database look as one loaded from the first releases
        station = ctx.db.scalar(select(Station).where(Station.code == station_code))
        new_station = (station.lat, station.lon, station.kode_wilayah)
        was = old[("station", station_code)]
        station.lat, station.lon, station.kode_wilayah = float(was["lat"]), float(was["lon"]), was["kode_wilayah"]
        units = list(ctx.db.scalars(select(Unit).where(Unit.station_id == station.id)))
        assert units
        for unit in units:
            unit.lat, unit.lon = station.lat, station.lon
        kept, admin_fixed = (ctx.db.scalar(select(Landmark).where(Landmark.name == n)) for n in landmarks)
        new_kept = (kept.lat, kept.lon)
        was = old[("landmark", kept.name)]
        kept.lat, kept.lon, kept.kode_wilayah = float(was["lat"]), float(was["lon"]), was["kode_wilayah"] or None
        admin_fixed.lat, admin_fixed.lon = admin_fixed.lat + 0.001, admin_fixed.lon  # someone's own fix
        admin_point = (admin_fixed.lat, admin_fixed.lon)
    with ctx_factory("admin") as ctx:
        moved = correct_superseded_places(ctx, SHIPPED_SITE)
    assert moved == 2 + len(units)
    with ctx_factory("admin") as ctx:
        station = ctx.db.scalar(select(Station).where(Station.code == station_code))
        assert (station.lat, station.lon, station.kode_wilayah) == new_station
        assert all((u.lat, u.lon) == new_station[:2] for u in ctx.db.scalars(
            select(Unit).where(Unit.station_id == station.id)))
        assert (ctx.db.scalar(select(Landmark.lat).where(Landmark.name == landmarks[0])),
                ctx.db.scalar(select(Landmark.lon).where(Landmark.name == landmarks[0]))) == new_kept
        fixed = ctx.db.scalar(select(Landmark).where(Landmark.name == landmarks[1]))
        assert (fixed.lat, fixed.lon) == admin_point
        audits = list(ctx.db.scalars(select(AuditEntry).where(AuditEntry.action == "place.correct")))
        assert len(audits) == moved
    with ctx_factory("admin") as ctx:
        assert correct_superseded_places(ctx, SHIPPED_SITE) == 0  # once only


def test_a_fresh_database_has_nothing_to_correct(ctx_factory):
    with ctx_factory("admin") as ctx:
        assert correct_superseded_places(ctx, SHIPPED_SITE) == 0
