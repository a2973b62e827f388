"""Points of interest that callers name as patokan — masjid, sekolah, puskesmas, rumah sakit, pasar, kantor
desa, SPBU, jembatan, pelabuhan, kantor polisi, pemadam … — read from an OpenStreetMap extract with their
OSM ids. `POI_RULES` is the one definition: the patokan import reads with it, and the street basemap's
`pois` layer is written with the same rules (`lua_rules()` renders them into tilemaker's Lua), so the map
shows what the call-taker can search."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from siaga.domains.regions.schemas import PatokanIn

Progress = Callable[[str, int, int | None], None]  # (phase, done, total or None), as the roads importer's

# (OSM key, values, kind): the first rule an object matches gives its kind. Kinds are the gazetteer's
# (data/bengkalis/landmarks.csv). A place of worship's kind follows its religion (RELIGION_KIND).
POI_RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("amenity", ("hospital",), "hospital"),
    ("healthcare", ("hospital",), "hospital"),
    ("amenity", ("clinic", "doctors"), "clinic"),  # puskesmas, klinik
    ("healthcare", ("clinic", "centre", "doctor"), "clinic"),
    ("amenity", ("police",), "police"),
    ("amenity", ("fire_station",), "fire_station"),
    ("amenity", ("townhall", "courthouse"), "government"),  # kantor desa / lurah / camat / bupati
    ("office", ("government",), "government"),
    ("amenity", ("place_of_worship",), "place_of_worship"),
    ("amenity", ("school", "college", "university", "kindergarten"), "school"),
    ("amenity", ("marketplace",), "market"),
    ("amenity", ("fuel",), "fuel"),  # SPBU
    ("amenity", ("ferry_terminal",), "port"),  # pelabuhan
    ("harbour", ("yes",), "port"),
    ("landuse", ("port",), "port"),
    ("industrial", ("port",), "port"),
    ("man_made", ("pier",), "port"),
    ("man_made", ("bridge",), "bridge"),  # jembatan
    ("shop", ("supermarket", "convenience", "mall", "department_store"), "shop"),  # "dekat Indomaret"
)
RELIGION_KIND = {"muslim": "mosque", "christian": "church", "buddhist": "temple", "hindu": "temple",
                 "confucian": "temple", "taoist": "temple"}
KEYS = tuple(sorted({key for key, _, _ in POI_RULES} | {"bridge:name"}))
NAME_MAX = 160  # landmark.name


def kind_of(tags: dict[str, str]) -> str | None:
    """The patokan kind of an object with these tags, or None when it is not one."""
    for key, values, kind in POI_RULES:
        if tags.get(key) in values:
            if kind == "place_of_worship":
                return RELIGION_KIND.get(tags.get("religion", ""), kind)
            return kind
    if tags.get("bridge:name") and tags.get("bridge") not in (None, "no"):
        return "bridge"
    return None


def name_of(tags: dict[str, str], kind: str) -> str:
    """The name as it is on the ground (`name`); a bridge drawn only as its road carries `bridge:name`."""
    name = tags.get("name") or (tags.get("bridge:name") if kind == "bridge" else "") or ""
    return " ".join(name.split())[:NAME_MAX]


def lua_rules() -> str:
    """POI_RULES as a Lua table for the basemap's tilemaker script (tiles.py puts it in place of the
    `-- @POI_RULES@` line of tilemaker/process.lua)."""
    def rule(key: str, values: tuple[str, ...], kind: str) -> str:
        matches = ", ".join(f"[{json.dumps(v)}]=true" for v in values)
        return f"  {{{json.dumps(key)}, {{{matches}}}, {json.dumps(kind)}}}"

    rules = ",\n".join(rule(*r) for r in POI_RULES)
    religion = ", ".join(f"[{json.dumps(k)}]={json.dumps(v)}" for k, v in RELIGION_KIND.items())
    return f"local POI_RULES = {{\n{rules}\n}}\nlocal RELIGION_KIND = {{{religion}}}"


@dataclass
class PoiFile:
    items: list[PatokanIn] = field(default_factory=list)
    unnamed: int = 0  # matched a rule but has no name a caller could say: skipped
    no_position: int = 0  # its nodes are missing from the extract: skipped


def _way_point(way: object) -> tuple[float, float] | None:
    """A point that stands for a way: inside its outline when it is closed, else halfway along it."""
    import shapely

    coords = [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]  # type: ignore[attr-defined]
    if not coords:
        return None
    if len(coords) == 1:
        return coords[0][1], coords[0][0]
    if len(coords) >= 4 and coords[0] == coords[-1]:
        polygon = shapely.Polygon(coords)
        if polygon.is_valid and polygon.area > 0:
            c = polygon.centroid if polygon.contains(polygon.centroid) else polygon.representative_point()
            return c.y, c.x
    line = shapely.LineString(coords)
    p = line.interpolate(0.5, normalized=True)
    return p.y, p.x


def read_pois(path: Path | str, bbox: tuple[float, float, float, float] | None = None,
              progress: Progress | None = None) -> PoiFile:
    """Every named point of interest of the extract that POI_RULES knows and whose point lies in `bbox`
    (min_lon, min_lat, max_lon, max_lat; None: anywhere), once each: a node at its place, a way at a point
    inside its outline (or halfway along it), a multipolygon relation at a point inside its area. Errors
    reading the file propagate (the caller has read it already for the roads)."""
    import osmium
    import shapely

    out = PoiFile()
    seen = 0
    wkb = osmium.geom.WKBFactory()
    processor = (osmium.FileProcessor(str(path)).with_locations().with_areas()
                 .with_filter(osmium.filter.KeyFilter(*KEYS)))
    for obj in processor:
        seen += 1
        if progress and seen % 2000 == 0:
            progress("pois", seen, None)
        tags = {t.k: t.v for t in obj.tags}
        kind = kind_of(tags)
        if kind is None:
            continue
        if obj.is_area():
            if obj.from_way():  # closed ways are handled as ways, once
                continue
            ref = f"relation/{obj.orig_id()}"
            try:
                geom = shapely.from_wkb(wkb.create_multipolygon(obj))
            except RuntimeError:
                geom = None
            point = None
            if geom is not None and not geom.is_empty:
                c = geom.centroid if geom.contains(geom.centroid) else geom.representative_point()
                point = (c.y, c.x)
        elif obj.is_node():
            ref = f"node/{obj.id}"
            point = (obj.location.lat, obj.location.lon) if obj.location.valid() else None
        elif obj.is_way():
            ref = f"way/{obj.id}"
            point = _way_point(obj)
        else:  # a relation itself: its area (if it is a multipolygon) comes as an area
            continue
        if point is not None and bbox is not None and not (
                bbox[0] <= point[1] <= bbox[2] and bbox[1] <= point[0] <= bbox[3]):
            continue
        name = name_of(tags, kind)
        if not name:
            out.unnamed += 1
            continue
        if point is None:
            out.no_position += 1
            continue
        out.items.append(PatokanIn(osm_ref=ref, name=name, kind=kind, lat=round(point[0], 7),
                                   lon=round(point[1], 7)))
    if progress:
        progress("pois", seen, seen)
    return out
