"""Reads of the gazetteer: search by name, children of a region, and where a coordinate is (reverse
geocoding through the per-process Geocoder of geocode.py)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from siaga.core.i18n import namespace
from siaga.domains.regions import schemas
from siaga.domains.regions.geocode import Geocoder, LandmarkPoint, Place, RegionName
from siaga.domains.regions.models import BoundaryImport, Landmark, Region


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


def geocoder_key(db: Session) -> tuple[str | None, int, int | None]:
    """What a geocoder was built from: the last boundary import's token and the patokan (only ever added).
    One cheap query, made before every lookup."""
    row = db.execute(select(
        select(BoundaryImport.token).order_by(BoundaryImport.id.desc()).limit(1).scalar_subquery(),
        select(func.count(Landmark.id)).scalar_subquery(),
        select(func.max(Landmark.id)).scalar_subquery())).one()
    return row[0], int(row[1] or 0), row[2]


def build_geocoder(db: Session, key: tuple[str | None, int, int | None] | None = None) -> Geocoder:
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
