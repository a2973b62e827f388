"""The only writers of the gazetteer: landmarks (patokan), and region boundaries with the label points
derived from them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
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
from siaga.domains.regions.models import BoundaryImport, Landmark, Region

DESA_LEVELS = ("desa", "kelurahan")
DERIVED_LEVELS = ("kecamatan", "kabupaten", "kota")  # points derived from their desa; never a provinsi's


def create_landmark(ctx: Ctx, data: schemas.LandmarkCreate) -> schemas.LandmarkOut:
    if data.kode_wilayah and ctx.db.get(Region, data.kode_wilayah) is None:
        raise invalid("body.kode_wilayah", "unknown kode wilayah", "unknown")
    lm = Landmark(**data.model_dump())
    ctx.db.add(lm)
    ctx.db.flush()
    out = schemas.LandmarkOut.model_validate(lm)
    ctx.audit("landmark.create", "landmark", lm.id, data.model_dump())
    ctx.emit("landmark.created", "landmark", lm.id, out.model_dump(mode="json"))
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
    ctx.emit("regions.boundaries_imported", "boundary_import", row.id, out.model_dump(mode="json"))
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
