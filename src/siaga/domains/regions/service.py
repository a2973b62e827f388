"""Reads of the gazetteer: search by name, children of a region, and where a coordinate is (reverse
geocoding through the per-process Geocoder of geocode.py)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from siaga.core.i18n import namespace
from siaga.domains.regions import schemas
from siaga.domains.regions.geocode import Geocoder, LandmarkPoint, Place, RegionName
from siaga.domains.regions.models import BoundaryImport, Landmark, LandmarkImport, Region


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


Extent = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat


def region_extent(db: Session, kode: str) -> Extent | None:
    """The bounding box of a region (the regency a site serves): its official outline's, else its desa
    outlines', else its places' points; None when nothing under it has a position."""
    region = db.get(Region, kode)
    if region is not None and None not in (region.min_lon, region.min_lat, region.max_lon, region.max_lat):
        return region.min_lon, region.min_lat, region.max_lon, region.max_lat  # type: ignore[return-value]
    under = Region.kode.startswith(kode + ".")
    row = db.execute(select(func.min(Region.min_lon), func.min(Region.min_lat), func.max(Region.max_lon),
                            func.max(Region.max_lat)).where(under, Region.boundary.is_not(None))).one()
    if row[0] is None:
        row = db.execute(select(func.min(Region.lon), func.min(Region.lat), func.max(Region.lon),
                                func.max(Region.lat)).where(under, Region.lat.is_not(None))).one()
    if row[0] is None:
        return None
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def desa_polygon_count(db: Session, kode: str) -> int:
    """How many desa/kelurahan of a region have an official outline (what places a point in a desa)."""
    return int(db.scalar(select(func.count()).select_from(Region).where(
        Region.kode.startswith(kode + "."), Region.level.in_(("desa", "kelurahan")),
        Region.boundary.is_not(None))) or 0)


def search_landmarks(db: Session, q: str | None, limit: int) -> list[Landmark]:
    stmt = select(Landmark)
    if q:
        stmt = stmt.where(func.lower(Landmark.name).contains(q.lower()))
    return list(db.scalars(stmt.order_by(Landmark.name).limit(limit)))


_geocoders: dict[str, Geocoder] = {}  # per database URL; a process normally serves one database
_checked: dict[str, float] = {}  # when each one's key was last compared with the database (monotonic)
_lock = threading.Lock()
# How long a geocoder is used without asking the database whether it is still current. The question is one
# query (~0.1 ms on SQLite, a round trip on PostgreSQL); a boundary import or a new patokan shows in every
# process's answers at most this much later.
KEY_TTL_S = 1.0


def forget_geocoders() -> None:
    """Drop every cached geocoder: for a database restored underneath the process (the test suite's reset),
    which no key comparison within KEY_TTL_S would notice."""
    with _lock:
        _geocoders.clear()
        _checked.clear()


GeocoderKey = tuple[str | None, int, int | None, str | None]


def geocoder_key(db: Session) -> GeocoderKey:
    """What a geocoder was built from: the last boundary import's token, the patokan (added one by one by
    hand, so their count and largest id) and the last import of patokan from the map (which also moves,
    renames and removes them). One cheap query, made before every lookup."""
    row = db.execute(select(
        select(BoundaryImport.token).order_by(BoundaryImport.id.desc()).limit(1).scalar_subquery(),
        select(func.count(Landmark.id)).scalar_subquery(),
        select(func.max(Landmark.id)).scalar_subquery(),
        select(LandmarkImport.token).order_by(LandmarkImport.id.desc()).limit(1).scalar_subquery())).one()
    return row[0], int(row[1] or 0), row[2], row[3]


def build_geocoder(db: Session, key: GeocoderKey | None = None) -> Geocoder:
    regions = {k: RegionName(k, n, lv) for k, n, lv in db.execute(select(Region.kode, Region.name, Region.level))}
    desa = [(k, text) for k, text in db.execute(
        select(Region.kode, Region.boundary).where(Region.level.in_(("desa", "kelurahan")),
                                                   Region.boundary.is_not(None)).order_by(Region.kode))]
    served = {k.rsplit(".", 2)[0] for k, _ in desa}  # the kabupaten/kota whose desa are loaded
    neighbours = [(k, text) for k, text in db.execute(
        select(Region.kode, Region.boundary).where(Region.level.in_(("kabupaten", "kota")),
                                                   Region.boundary.is_not(None)).order_by(Region.kode))
        if k not in served]
    landmarks = [LandmarkPoint(i, n, kind, kode, lat, lon) for i, n, kind, kode, lat, lon in db.execute(
        select(Landmark.id, Landmark.name, Landmark.kind, Landmark.kode_wilayah, Landmark.lat, Landmark.lon)
        .order_by(Landmark.id))]
    return Geocoder(desa, regions, landmarks, key=key, neighbours=neighbours)


def get_geocoder(db: Session) -> Geocoder:
    """This database's geocoder, rebuilt (a fraction of a second for a regency) when a boundary import or a
    new patokan changed what it was built from — in this process or any other (noticed within KEY_TTL_S)."""
    url = db.get_bind().url.render_as_string(hide_password=True)
    geocoder = _geocoders.get(url)
    now = time.monotonic()
    if geocoder is not None and now - _checked.get(url, -1e9) < KEY_TTL_S:
        return geocoder
    key = geocoder_key(db)
    if geocoder is not None and geocoder.key == key:
        _checked[url] = now
        return geocoder
    with _lock:
        geocoder = _geocoders.get(url)
        if geocoder is None or geocoder.key != key:
            geocoder = build_geocoder(db, key)
            _geocoders.pop(url, None)
            while len(_geocoders) >= 4:
                _geocoders.pop(next(iter(_geocoders)))
            _geocoders[url] = geocoder
        _checked[url] = now
    return geocoder


def _metres(m: float) -> str:
    return f"{m:.0f} m" if m < 1000 else f"{m / 1000:.1f} km"


def place_label(place: Place, lang: str) -> str:
    w = namespace("place", lang)
    if place.desa is not None:
        parts = [f"{w[place.desa.level]} {place.desa.name}"]
        if place.kecamatan:
            parts.append(f"{w['kecamatan']} {place.kecamatan.name}")
        if place.kabupaten:
            parts.append(place.kabupaten.name)
        text = ", ".join(parts)
    elif place.nearest_desa is not None and place.nearest_desa_m is not None:
        where = w[place.status] + (f" ({place.kabupaten.name})" if place.kabupaten else "")
        text = (f"{where}: {_metres(place.nearest_desa_m)} {w['to']} "
                f"{w[place.nearest_desa.level]} {place.nearest_desa.name}")
    else:
        text = w["no_boundaries"]
    if place.landmark is not None and place.landmark_m is not None:
        text += f" · {_metres(place.landmark_m)} {w['from']} {place.landmark.name}"
    return text


def locate(db: Session, lat: float, lon: float, lang: str = "id") -> schemas.PlaceOut:
    place = get_geocoder(db).locate(lat, lon)

    def ref(r: RegionName | None) -> schemas.RegionRef | None:
        return schemas.RegionRef(kode=r.kode, name=r.name, level=r.level) if r else None

    nearest = (schemas.NearestDesa(kode=place.nearest_desa.kode, name=place.nearest_desa.name,
                                   level=place.nearest_desa.level, distance_m=round(place.nearest_desa_m or 0, 1))
               if place.nearest_desa else None)
    lm = place.landmark
    landmark = (schemas.NearestLandmark(id=lm.id, name=lm.name, kind=lm.kind, kode_wilayah=lm.kode_wilayah,
                                        distance_m=round(place.landmark_m or 0, 1)) if lm else None)
    return schemas.PlaceOut(lat=lat, lon=lon, status=place.status, desa=ref(place.desa),  # type: ignore[arg-type]
                            kecamatan=ref(place.kecamatan), kabupaten=ref(place.kabupaten), nearest_desa=nearest,
                            nearest_landmark=landmark, label=place_label(place, lang))


def served_regency(db: Session) -> RegionName | None:
    """The kabupaten/kota this database serves: the one whose kecamatan are loaded (neighbours' outlines
    may be loaded too, for the geocoder, but have no kecamatan here). Its name heads pages and documents."""
    kecamatan = aliased(Region)
    row = db.execute(select(Region.kode, Region.name, Region.level).where(
        Region.level.in_(("kabupaten", "kota")),
        exists(select(kecamatan.kode).where(kecamatan.parent_kode == Region.kode))).order_by(Region.kode)).first()
    return RegionName(*row) if row else None


def outlines_token(db: Session) -> str:
    """Changes when the outlines change (a boundary import): the consoles' map revalidates against it."""
    return db.scalar(select(BoundaryImport.token).order_by(BoundaryImport.id.desc()).limit(1)) or "none"


def outlines(db: Session) -> dict[str, Any]:
    """The map's own basemap, from the official boundaries in the database, for any site: the served
    regency's desa (drawn as land, and as thin outlines close up), its kecamatan and its own outline, and the
    neighbouring kabupaten/kota (land too, so the coast shows where the sea is). GeoJSON, [lon, lat]."""
    regency = served_regency(db)
    prefix = (regency.kode + ".") if regency else None
    features: list[dict[str, Any]] = []
    rows = db.execute(select(Region.kode, Region.name, Region.level, Region.boundary)
                      .where(Region.boundary.is_not(None)).order_by(Region.kode))
    for kode, name, level, boundary in rows:
        if regency is not None and kode == regency.kode:
            kind = "regency_boundary"
        elif prefix and kode.startswith(prefix):
            kind = "desa" if level in ("desa", "kelurahan") else "kecamatan" if level == "kecamatan" else None
        else:
            kind = "neighbour" if level in ("kabupaten", "kota") else None
        if kind is None:
            continue
        features.append({"type": "Feature", "properties": {"kode": kode, "name": name, "kind": kind},
                         "geometry": json.loads(boundary)})
    return {"type": "FeatureCollection", "features": features}
