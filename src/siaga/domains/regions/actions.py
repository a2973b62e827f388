"""The only writers of the gazetteer: landmarks (patokan), and region boundaries with the label points
derived from them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid
from siaga.domains.regions import schemas
from siaga.domains.regions.geometry import (
    LEVEL_ALIASES,
    BoundaryFile,
    geometry_text,
    label_point,
    load_geometry,
    parent_of,
    read_boundary_file,
    region_point,
)
from siaga.domains.regions.models import BoundaryImport, Landmark, LandmarkImport, Region
from siaga.events.kinds import EventKind

DESA_LEVELS = ("desa", "kelurahan")
LINK_RADIUS_M = 300.0  # a hand-entered patokan named like a point of interest this close is the same place
DERIVED_LEVELS = ("kecamatan", "kabupaten", "kota")  # points derived from their desa; never a provinsi's


def create_landmark(ctx: Ctx, data: schemas.LandmarkCreate) -> schemas.LandmarkOut:
    if data.kode_wilayah and ctx.db.get(Region, data.kode_wilayah) is None:
        raise invalid("body.kode_wilayah", "unknown kode wilayah", "unknown")
    lm = Landmark(**data.model_dump())
    ctx.db.add(lm)
    ctx.db.flush()
    out = schemas.LandmarkOut.model_validate(lm)
    ctx.audit("landmark.create", "landmark", lm.id, data.model_dump())
    ctx.emit(EventKind.LANDMARK_CREATED, "landmark", lm.id, out.model_dump(mode="json"))
    return out


def _name_key(name: str) -> str:
    text = name.lower().strip()
    text = re.sub(r"^(desa|kelurahan|kel\.|kecamatan|kec\.|kabupaten|kab\.|kota|provinsi)\s+", "", text)
    return re.sub(r"[^0-9a-z]", "", text)


def import_boundaries(ctx: Ctx, parsed: BoundaryFile, *, replace: bool = False,
                      progress: Callable[[int, int], None] | None = None) -> schemas.BoundaryImportOut:
    """Store every boundary of `parsed` on its region and derive the label points, in the caller's
    transaction: all of it or, on any refusal, nothing. Refused: a kode whose stored name differs from the
    file's (a file in another numbering, e.g. BPS codes), a level that does not match, a new region whose
    parent is unknown, and — without `replace` — a region that already has an official outline."""
    db = ctx.db
    by_kode = sorted(parsed.boundaries, key=lambda b: (b.kode.count("."), b.kode))
    wanted = {b.kode for b in by_kode} | {p for b in by_kode if (p := parent_of(b.kode))}
    stored = {r.kode: r for r in _regions(db, wanted)}
    errors: list[dict[str, str]] = []

    def refuse(kode: str, message: str, code: str) -> None:
        if len(errors) < 50:
            errors.append({"field": kode, "message": message, "code": code})

    creating: set[str] = set()
    for b in by_kode:
        region = stored.get(b.kode)
        if region is None:
            parent = parent_of(b.kode)
            if parent is not None and parent not in stored and parent not in creating:
                refuse(b.kode, f"new region, but its parent {parent} is neither stored nor in the file", "unknown")
            elif not b.name:
                refuse(b.kode, "new region without a name in the file", "missing")
            else:
                creating.add(b.kode)
            continue
        if region.level not in LEVEL_ALIASES.get(b.level, (b.level,)):
            refuse(b.kode, f"stored as a {region.level}, the file has a {b.level}", "level_mismatch")
        if b.name and _name_key(b.name) != _name_key(region.name):
            refuse(b.kode, f"stored as {region.name!r}, the file says {b.name!r}: is the file in another "
                           "numbering (BPS codes are not Kemendagri codes)?", "name_mismatch")
        if region.boundary is not None and not replace:
            refuse(b.kode, f"already has an official boundary ({region.boundary_source}); "
                           "import with --replace to replace it", "exists")
    if errors:
        raise Problem(422, "validation_failed", errors=errors)

    touched: list[Region] = []
    for i, b in enumerate(by_kode):
        region = stored.get(b.kode)
        if region is None:
            region = Region(kode=b.kode, parent_kode=parent_of(b.kode), level=b.level, name=b.name,
                            coord_approx=True, source=parsed.source[:80])
            db.add(region)
            stored[b.kode] = region
        min_lon, min_lat, max_lon, max_lat = b.geometry.bounds
        region.boundary = geometry_text(b.geometry)
        region.min_lat, region.min_lon, region.max_lat, region.max_lon = min_lat, min_lon, max_lat, max_lon
        region.boundary_source = parsed.source[:200]
        if region.level in DESA_LEVELS:
            region.lat, region.lon = label_point(b.geometry)
        touched.append(region)
        if progress and (i % 200 == 0 or i == len(by_kode) - 1):
            progress(i + 1, len(by_kode))
    db.flush()
    derived = _derive_ancestor_points(db, {b.kode for b in by_kode})
    row = BoundaryImport(token=uuid.uuid4().hex, source=parsed.source[:200], imported_at=ctx.now(),
                         region_count=len(touched), created_count=len(creating),
                         note="; ".join(parsed.notes)[:4000])
    db.add(row)
    db.flush()
    out = schemas.BoundaryImportOut.model_validate(row)
    data = {"source": out.source, "regions": out.region_count, "created": out.created_count,
            "points_derived": len(derived) + sum(r.level in DESA_LEVELS for r in touched), "replace": replace,
            "repaired": parsed.notes[:50]}
    ctx.audit("regions.boundaries_import", "boundary_import", row.id, data)
    ctx.emit(EventKind.REGIONS_BOUNDARIES_IMPORTED, "boundary_import", row.id, out.model_dump(mode="json"))
    return out


def _regions(db: Session, kodes: Iterable[str]) -> list[Region]:
    ordered, out = sorted(kodes), []
    for start in range(0, len(ordered), 500):
        out += list(db.scalars(select(Region).where(Region.kode.in_(ordered[start:start + 500]))))
    return out


def _derive_ancestor_points(db: Session, imported: set[str]) -> list[str]:
    """Each kecamatan and kabupaten/kota above (or in) the import gets its point inside its own polygon AND
    inside one of its desa: the pole of inaccessibility of (own outline ∩ union of its desa), or of the
    desa union alone when it has no outline. Provinces keep theirs (their desa are not all here)."""
    ancestors = set()
    for kode in imported:
        k: str | None = kode
        while k is not None:
            if k.count(".") in (1, 2):
                ancestors.add(k)
            k = parent_of(k)
    done = []
    for kode in sorted(ancestors, key=lambda k: (-k.count("."), k)):
        region = db.get(Region, kode)
        if region is None or region.level not in DERIVED_LEVELS:
            continue
        desa = [load_geometry(text) for text in db.scalars(
            select(Region.boundary).where(Region.kode.startswith(kode + "."), Region.level.in_(DESA_LEVELS),
                                          Region.boundary.is_not(None)))]
        own = load_geometry(region.boundary) if region.boundary else None
        if not desa and own is None:
            continue
        region.lat, region.lon = region_point(own, desa)
        done.append(kode)
    db.flush()
    return done


NEIGHBOURS_FILE = "neighbours.geojson"  # beside boundaries.geojson: the kabupaten/kota around the site


def load_shipped_boundaries(ctx: Ctx, path: Path) -> schemas.BoundaryImportOut | None:
    """The boundaries that ship with a site's data folder, only into a database that has none yet; then
    the outlines of its neighbours when the folder has them (so a point in Kota Dumai reads as Kota Dumai).
    A database loaded before neighbours shipped gets them with `siaga regions import neighbours.geojson`."""
    if not path.exists() or ctx.db.scalar(select(BoundaryImport.id).limit(1)) is not None:
        return None
    out = import_boundaries(ctx, read_boundary_file(path))
    neighbours = path.parent / NEIGHBOURS_FILE
    if neighbours.exists():
        import_boundaries(ctx, read_boundary_file(neighbours))
    return out


def _landmark_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _same(lm: Landmark, p: schemas.PatokanIn, kode: str) -> bool:
    return (lm.name == p.name and lm.kind == p.kind and lm.kode_wilayah == kode and not lm.coord_approx
            and abs(lm.lat - p.lat) < 1e-7 and abs(lm.lon - p.lon) < 1e-7)


def import_landmarks(ctx: Ctx, items: Sequence[schemas.PatokanIn], *, source: str, region_code: str,
                     progress: Callable[[int, int], None] | None = None) -> schemas.LandmarkImportOut:
    """Patokan from OpenStreetMap points of interest, in the caller's transaction. Each point goes to the
    desa whose official polygon holds it (the reverse geocoder's rule); a point in no desa of the regency
    `region_code` (the sea, a neighbour) is skipped and counted. A patokan already imported from the same
    OSM object is updated, never added twice; a hand-entered one with the same name within LINK_RADIUS_M
    is tied to the OSM object. OSM patokan missing from this extract are removed, except those something
    (an incident) refers to."""
    from siaga.domains.regions.geometry import haversine_m
    from siaga.domains.regions.service import build_geocoder

    db = ctx.db
    geocoder = build_geocoder(db)
    prefix = region_code + "."
    by_ref = {lm.osm_ref: lm for lm in db.scalars(select(Landmark).where(Landmark.osm_ref.is_not(None)))}
    by_name: dict[str, list[Landmark]] = {}
    for lm in db.scalars(select(Landmark).where(Landmark.osm_ref.is_(None))):
        by_name.setdefault(_landmark_key(lm.name), []).append(lm)
    counts = dict.fromkeys(("created", "updated", "unchanged", "linked", "removed", "kept_in_use", "outside"), 0)
    by_kind: dict[str, int] = {}
    seen: set[str] = set()
    for i, p in enumerate(items):
        if progress and (i % 500 == 0 or i == len(items) - 1):
            progress(i + 1, len(items))
        kode = geocoder.desa_at(p.lat, p.lon)
        if kode is None or not kode.startswith(prefix):
            counts["outside"] += 1
            continue
        seen.add(p.osm_ref)
        by_kind[p.kind] = by_kind.get(p.kind, 0) + 1
        lm = by_ref.get(p.osm_ref)
        if lm is None:
            near = [c for c in by_name.get(_landmark_key(p.name), [])
                    if haversine_m(c.lat, c.lon, p.lat, p.lon) <= LINK_RADIUS_M]
            if near:
                lm = min(near, key=lambda c: haversine_m(c.lat, c.lon, p.lat, p.lon))
                by_name[_landmark_key(p.name)].remove(lm)
                lm.osm_ref = p.osm_ref
                counts["linked"] += 1
            else:
                db.add(Landmark(name=p.name, kind=p.kind, kode_wilayah=kode, lat=p.lat, lon=p.lon,
                                coord_approx=False, note="OpenStreetMap " + p.osm_ref, osm_ref=p.osm_ref))
                counts["created"] += 1
                continue
        elif _same(lm, p, kode):
            counts["unchanged"] += 1
            continue
        else:
            counts["updated"] += 1
        lm.name, lm.kind, lm.kode_wilayah, lm.lat, lm.lon, lm.coord_approx = p.name, p.kind, kode, p.lat, p.lon, False
    gone = [lm for ref, lm in by_ref.items() if ref not in seen]
    in_use = _referenced_landmarks(db, [lm.id for lm in gone])
    for lm in gone:
        if lm.id in in_use:
            counts["kept_in_use"] += 1
        else:
            db.delete(lm)
            counts["removed"] += 1
    row = LandmarkImport(token=uuid.uuid4().hex, source=source[:200], imported_at=ctx.now(),
                         created_count=counts["created"] + counts["linked"], updated_count=counts["updated"],
                         removed_count=counts["removed"], skipped_count=counts["outside"],
                         note=", ".join(f"{k} {v}" for k, v in counts.items()))
    db.add(row)
    db.flush()
    out = schemas.LandmarkImportOut(id=row.id, source=row.source, imported_at=row.imported_at, **counts,
                                    by_kind=dict(sorted(by_kind.items())))
    ctx.audit("regions.landmarks_import", "landmark_import", row.id,
              {"source": row.source, "region": region_code, **counts, "by_kind": out.by_kind})
    ctx.emit(EventKind.REGIONS_LANDMARKS_IMPORTED, "landmark_import", row.id, out.model_dump(mode="json"))
    return out


def _referenced_landmarks(db: Session, ids: list[int]) -> set[int]:
    """Which of these patokan a row of any table refers to (incidents today), found through the database's
    own foreign keys, so this domain needs to know none of the tables that point at it (and a process that
    never imported their models still sees them)."""
    from sqlalchemy import column, inspect, table

    if not ids:
        return set()
    schema = inspect(db.connection())
    columns = [table(name, column(col)).c[col] for name in schema.get_table_names()
               for fk in schema.get_foreign_keys(name) if fk["referred_table"] == Landmark.__tablename__
               for col in fk["constrained_columns"]]
    found: set[int] = set()
    for col in columns:
        for start in range(0, len(ids), 500):
            found.update(db.scalars(select(col).where(col.in_(ids[start:start + 500])).distinct()))
    return found
