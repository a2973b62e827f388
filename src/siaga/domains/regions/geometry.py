"""Boundary geometry, with no database: reading a boundary GeoJSON file (ours, or an official shapefile
export converted to GeoJSON) into checked polygons keyed by kode wilayah, label points inside polygons,
and distances. Everything that can be wrong in a file is a BoundaryFileError with a readable message."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
import shapely.geometry
import shapely.ops
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.ops import unary_union

from siaga.core.geo import EARTH_RADIUS_M, distance_m

# Bounds on what one file may hold: a regency's desa at survey resolution fits many times over; a
# whole-country file should be imported regency by regency.
MAX_FILE_BYTES = 128 * 1024 * 1024
MAX_FEATURES = 50_000
MAX_VERTICES = 5_000_000
# WGS 84 lon/lat of Indonesia with a margin. A file outside it is in another order ([lat, lon]) or in
# projected metres (UTM), and would put every desa somewhere else.
INDONESIA = (94.0, -12.0, 142.0, 7.0)  # min lon, min lat, max lon, max lat

# Property names that carry the kode wilayah, most specific first: ours, then common names in official
# shapefile exports (BIG/Dukcapil: KDEPUM desa, KDCPUM kecamatan, KDPKAB kabupaten, KDPPUM provinsi).
# KDBBPS is the BPS desa code, a DIFFERENT numbering: it is read only when nothing else is there, and a
# code that is not a possible Kemendagri code is refused, never guessed into one.
KODE_KEYS = ("kode", "kode_wilayah", "kd_wilayah", "kode_wil", "kdwilayah",
             "kdepum", "kode_desa", "kd_desa", "kode_kel", "kd_kel", "kode_desa_kel", "kodedesa",
             "kdcpum", "kode_kec", "kd_kec", "kodekec",
             "kdpkab", "kode_kab", "kd_kab", "kodekab",
             "kdppum", "kode_prov", "kd_prov",
             "kdbbps")
NAME_KEYS = ("nama", "name", "nama_wilayah", "namobj", "wadmkd", "nama_desa", "nm_desa", "desa", "nama_kel",
             "wadmkc", "nama_kec", "nm_kec", "wadmkk", "nama_kab", "nm_kab", "wadmpr")
LEVEL_ALIASES = {
    "provinsi": ("provinsi",), "kabupaten": ("kabupaten", "kota"), "kota": ("kabupaten", "kota"),
    "kabupaten_kota": ("kabupaten", "kota"), "kecamatan": ("kecamatan",), "desa": ("desa", "kelurahan"),
    "kelurahan": ("desa", "kelurahan"), "desa_kelurahan": ("desa", "kelurahan"),
}
_KODE = re.compile(r"\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?")


class BoundaryFileError(ValueError):
    """The file cannot be imported; the message says why and where, for the person running the import."""


@dataclass
class Boundary:
    kode: str
    name: str
    level: str
    geometry: Polygon | MultiPolygon
    repaired: str = ""  # what was done to make it valid, if anything

    @property
    def geojson(self) -> str:
        return geometry_text(self.geometry)


@dataclass
class BoundaryFile:
    source: str
    boundaries: list[Boundary]
    notes: list[str] = field(default_factory=list)


def normalise_kode(value: Any) -> str | None:
    """A Kemendagri kode wilayah as 14.03.01.2001 from the ways files write it (1403012001, '14.03.01.2001',
    ' 1403 '); None if it cannot be one (a BPS code among them: its desa part would start with 0)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    text = str(value).strip()
    if not _KODE.fullmatch(text):
        if not text.isdigit() or len(text) not in (2, 4, 6, 10):  # dotted but malformed: never re-cut
            return None
        text = ".".join(text[i:j] for i, j in ((0, 2), (2, 4), (4, 6), (6, 10)) if j <= len(text))
    parts = text.split(".")
    if parts[0] == "00" or any(p in ("00", "0000") for p in parts[1:]):
        return None
    if len(parts) == 4 and parts[3][0] not in "12":  # 1xxx kelurahan, 2xxx desa
        return None
    return text


def level_of(kode: str) -> str:
    parts = kode.split(".")
    if len(parts) == 1:
        return "provinsi"
    if len(parts) == 2:
        return "kota" if int(parts[1]) >= 71 else "kabupaten"
    if len(parts) == 3:
        return "kecamatan"
    return "kelurahan" if parts[3].startswith("1") else "desa"


def parent_of(kode: str) -> str | None:
    return kode.rsplit(".", 1)[0] if "." in kode else None


def _prop(props: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, Any] | None:
    lowered = {str(k).lower(): (k, v) for k, v in props.items()}
    for key in keys:
        if key in lowered and lowered[key][1] not in (None, ""):
            return lowered[key]
    return None


def _rings(coords: Any, where: str, counter: list[int]) -> list[list[tuple[float, float]]]:
    if not isinstance(coords, list) or not coords:
        raise BoundaryFileError(f"{where}: a polygon needs a list of rings")
    rings = []
    for r, ring in enumerate(coords):
        if not isinstance(ring, list) or len(ring) < 4:
            raise BoundaryFileError(f"{where}: ring {r} needs at least 4 positions (a closed ring)")
        counter[0] += len(ring)
        if counter[0] > MAX_VERTICES:
            raise BoundaryFileError(f"more than {MAX_VERTICES:,} vertices in the file: import it in parts "
                                    "(one regency per file)")
        out = []
        for pos in ring:
            if (not isinstance(pos, list) or len(pos) < 2 or len(pos) > 3
                    or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in pos)
                    or not all(math.isfinite(c) for c in pos)):
                raise BoundaryFileError(f"{where}: ring {r} has a position that is not [lon, lat] numbers: "
                                        f"{str(pos)[:60]}")
            out.append((float(pos[0]), float(pos[1])))
        if out[0] != out[-1]:
            raise BoundaryFileError(f"{where}: ring {r} is not closed (first and last positions differ)")
        rings.append(out)
    return rings


def _check_extent(geom: Polygon | MultiPolygon, where: str) -> None:
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    w, s, e, n = INDONESIA
    if min_lon < w or max_lon > e or min_lat < s or max_lat > n:
        raise BoundaryFileError(
            f"{where}: coordinates ({min_lon:.4g}..{max_lon:.4g}, {min_lat:.4g}..{max_lat:.4g}) are not "
            "WGS 84 [lon, lat] in Indonesia. Is the file in [lat, lon] order, or in projected metres (UTM)? "
            "Convert it to EPSG:4326 first (e.g. ogr2ogr -t_srs EPSG:4326 out.geojson in.shp)")


def _geometry(raw: Any, where: str, counter: list[int]) -> tuple[Polygon | MultiPolygon, str]:
    if not isinstance(raw, dict):
        raise BoundaryFileError(f"{where}: has no geometry")
    kind = raw.get("type")
    if kind == "Polygon":
        polys = [_rings(raw.get("coordinates"), where, counter)]
    elif kind == "MultiPolygon":
        coords = raw.get("coordinates")
        if not isinstance(coords, list) or not coords:
            raise BoundaryFileError(f"{where}: a MultiPolygon needs a list of polygons")
        polys = [_rings(p, where, counter) for p in coords]
    else:
        raise BoundaryFileError(f"{where}: geometry is {str(kind)[:40]!r}; a region boundary must be a Polygon "
                                "or MultiPolygon")
    parts = [Polygon(p[0], p[1:]) for p in polys]
    for i, part in enumerate(parts):
        if not part.is_valid:
            raise BoundaryFileError(f"{where}: polygon {i} is invalid ({shapely.is_valid_reason(part)}); "
                                    "fix the outline in a GIS and export it again")
        if part.area <= 0:
            raise BoundaryFileError(f"{where}: polygon {i} has no area")
    geom: Polygon | MultiPolygon = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    _check_extent(geom, where)
    if geom.is_valid:
        return geom, ""
    # Every part is valid on its own, so what is wrong is parts that overlap or lie inside one another
    # (upstream's kecamatan layers do this): the region is their union.
    merged = unary_union(parts)
    if merged.geom_type not in ("Polygon", "MultiPolygon") or not merged.is_valid or merged.area <= 0:
        raise BoundaryFileError(f"{where}: invalid ({shapely.is_valid_reason(geom)}) and cannot be repaired")
    return merged, f"overlapping parts merged ({shapely.is_valid_reason(geom)})"


def parse_boundaries(data: Any, source: str) -> BoundaryFile:
    """Boundaries from a parsed GeoJSON FeatureCollection; raises BoundaryFileError for anything wrong."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BoundaryFileError("not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise BoundaryFileError("the FeatureCollection has no features")
    if len(features) > MAX_FEATURES:
        raise BoundaryFileError(f"{len(features):,} features: at most {MAX_FEATURES:,} in one file")
    counter, seen, out = [0], {}, []
    for i, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise BoundaryFileError(f"feature {i}: not a GeoJSON Feature")
        props = feature.get("properties")
        if not isinstance(props, dict):
            raise BoundaryFileError(f"feature {i}: has no properties (kode wilayah and name)")
        found = _prop(props, KODE_KEYS)
        if found is None:
            raise BoundaryFileError(f"feature {i}: no kode wilayah property (looked for {', '.join(KODE_KEYS)}; "
                                    "case does not matter)")
        key, raw_kode = found
        kode = normalise_kode(raw_kode)
        if kode is None:
            hint = (" — KDBBPS is a BPS code, not a Kemendagri kode wilayah: give the file its Kemendagri codes"
                    if key.lower() == "kdbbps" else "")
            raise BoundaryFileError(f"feature {i}: {key}={str(raw_kode)[:30]!r} is not a Kemendagri kode wilayah "
                                    f"(e.g. 14.03.01.2001 or 1403012001){hint}")
        where = f"feature {i} ({kode})"
        if kode in seen:
            raise BoundaryFileError(f"{where}: kode {kode} appears twice (features {seen[kode]} and {i})")
        seen[kode] = i
        level = level_of(kode)
        declared = _prop(props, ("level", "tingkat"))
        if declared is not None:
            allowed = LEVEL_ALIASES.get(str(declared[1]).strip().lower())
            if allowed is not None and level not in allowed:
                raise BoundaryFileError(f"{where}: level {declared[1]!r} does not match the kode (a {level})")
        name_prop = _prop(props, NAME_KEYS)
        name = str(name_prop[1]).strip()[:120] if name_prop else ""
        geom, repaired = _geometry(feature.get("geometry"), where, counter)
        out.append(Boundary(kode=kode, name=name, level=level, geometry=geom, repaired=repaired))
    notes = [f"{b.kode}: {b.repaired}" for b in out if b.repaired]
    return BoundaryFile(source=source, boundaries=out, notes=notes)


def read_boundary_file(path: Path, progress: Callable[[str], None] | None = None) -> BoundaryFile:
    """Read and check a GeoJSON boundary file (size first, so a huge file is refused before it is read)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BoundaryFileError(f"cannot read {path}: {exc.strerror}") from None
    if not path.is_file():
        raise BoundaryFileError(f"{path} is not a file")
    if size > MAX_FILE_BYTES:
        raise BoundaryFileError(f"{path.name} is {size / 2**20:,.0f} MiB: at most {MAX_FILE_BYTES // 2**20} MiB "
                                "(import one regency per file)")
    if progress:
        progress("read")
    try:
        with path.open("rb") as f:
            data = json.loads(f.read().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BoundaryFileError(f"{path.name} is not UTF-8 text (is it a shapefile? convert it to GeoJSON "
                                "first: ogr2ogr -f GeoJSON -t_srs EPSG:4326 out.geojson in.shp)") from None
    except json.JSONDecodeError as exc:
        raise BoundaryFileError(f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                                f"column {exc.colno}") from None
    except RecursionError:
        raise BoundaryFileError(f"{path.name}: JSON nested too deeply") from None
    except OSError as exc:
        raise BoundaryFileError(f"cannot read {path}: {exc.strerror}") from None
    if progress:
        progress("check")
    return parse_boundaries(data, source=path.name)


def geometry_text(geom: Polygon | MultiPolygon) -> str:
    return json.dumps(mapping(geom), separators=(",", ":"))


def load_geometry(text: str) -> Polygon | MultiPolygon:
    return shapely.from_geojson(text)


def largest_part(geom: Any) -> Polygon | None:
    parts = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]
    return max(parts, key=lambda p: p.area) if parts else None


def label_point(geom: Polygon | MultiPolygon, within: Any = None) -> tuple[float, float]:
    """(lat, lon) of the pole of inaccessibility of the largest part of `geom` (of `geom ∩ within` when
    given and not empty): the point deepest inside, never in the sea beside a coastal desa nor on a small
    island of it. Rounded to 6 decimals (~0.1 m), and checked to stay inside after rounding."""
    area = geom
    if within is not None:
        clipped = geom.intersection(within)
        if largest_part(clipped) is not None:
            area = clipped
    part = largest_part(area)
    if part is None:
        raise ValueError("no polygon to label")
    p = shapely.ops.polylabel(part, tolerance=1e-6)
    lat, lon = round(p.y, 6), round(p.x, 6)
    if not part.contains(shapely.Point(lon, lat)):  # rounding crossed an edge of a very thin part
        p = part.representative_point()
        lat, lon = p.y, p.x
    return lat, lon


def region_point(own: Polygon | MultiPolygon | None, desa: list[Any]) -> tuple[float, float]:
    """The label point of a kecamatan or kabupaten: inside its own outline AND inside one of its desa
    (outlines are generalised differently: a kecamatan differs from the union of its desa by 1-8 %)."""
    union = unary_union(desa) if desa else None
    if own is None:
        if union is None:
            raise ValueError("no polygon to label")
        return label_point(union)
    return label_point(own, within=union)


haversine_m = distance_m  # one great-circle distance for the whole product (core.geo)


def distance_to_m(geom: Any, lat: float, lon: float) -> float:
    """Metres from a point to the nearest point of a geometry (0 inside it)."""
    point = shapely.Point(lon, lat)
    if geom.covers(point):
        return 0.0
    nearest = shapely.ops.nearest_points(geom, point)[0]
    return haversine_m(lat, lon, nearest.y, nearest.x)


def area_km2(geom: Any) -> float:
    """Area on the sphere, near enough for slivers and sizes (equirectangular at the centroid latitude)."""
    if geom.is_empty:
        return 0.0
    k = (math.pi / 180 * EARTH_RADIUS_M / 1000) ** 2
    return geom.area * k * math.cos(math.radians(geom.centroid.y))


def neighbour_features(data: dict[str, Any], own_kode: str) -> list[dict[str, Any]]:
    """From a GeoJSON FeatureCollection of kabupaten/kota outlines (properties kode, nama), the other
    kabupaten/kota of `own_kode`'s province, as features ready for `siaga regions import`: made valid where
    an upstream ring crosses itself, rounded to 6 decimals (~0.1 m). The reverse geocoder names them."""
    province = own_kode.split(".")[0]
    out = []
    for feature in data.get("features") or []:
        props = feature.get("properties") or {}
        kode = normalise_kode(str(props.get("kode") or props.get("KDPKAB") or ""))
        if kode is None or kode == own_kode or kode.count(".") != 1 or kode.split(".")[0] != province:
            continue
        geom = shapely.geometry.shape(feature["geometry"])
        if not geom.is_valid:
            repaired = shapely.make_valid(geom)
            geom = unary_union([g for g in getattr(repaired, "geoms", [repaired])
                                if g.geom_type in ("Polygon", "MultiPolygon")])
        if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        geom = shapely.set_precision(geom, 1e-6)
        out.append({"type": "Feature", "properties": {"kode": kode, "nama": str(props.get("nama") or ""),
                                                      "level": "kabupaten_kota"},
                    "geometry": mapping(geom)})
    return out
