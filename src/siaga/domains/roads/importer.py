"""Reading road networks into arrays, without touching the database (actions.replace_network writes).

- `read_osm(path)`: an OpenStreetMap extract (.osm.pbf, .osm, .osm.bz2…) through pyosmium. Keeps the
  highways vehicles use (motorway … residential, service, unclassified, track; not footways, paths,
  steps, cycleways) and `route=ferry`; respects oneway=yes/-1, junction=roundabout and motorways'
  implied oneway; drops ways closed to motor vehicles (access=no without an exemption, motor_vehicle=no).
  A ferry way becomes ONE edge between its terminals, so its waiting time counts once per crossing; a
  ferry closed to motor vehicles becomes a boat-only water lane. A truncated or non-OSM file raises
  RoadImportError before anything is written.
- `read_demo(path)`: the demo network (data/bengkalis/roads_demo.json), straight lines between given
  points, cut every ≤ 500 m so that points snap near where they are."""

from __future__ import annotations

import json
import math
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from siaga.domains.roads.router import RoadGraph, haversine_m
from siaga.domains.roads.speeds import FERRY_SPEED_KMH, FERRY_WAIT_MIN

Progress = Callable[[str, int, int | None], None]  # (phase, done, total or None)

HIGHWAY_CLASS = {
    "motorway": "motorway", "motorway_link": "motorway",
    "trunk": "trunk", "trunk_link": "trunk",
    "primary": "primary", "primary_link": "primary",
    "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "tertiary", "tertiary_link": "tertiary",
    "unclassified": "unclassified", "road": "unclassified",
    "residential": "residential", "living_street": "residential",
    "service": "service",
    "track": "track",
}
VEHICLE_KEYS = ("motor_vehicle", "motorcar", "vehicle")
ALLOWED = {"yes", "designated", "permissive", "destination", "private", "customers", "delivery", "emergency"}
FERRY_LINK_M = 300.0  # a ferry terminal that touches no road is linked to the nearest road node this close


class RoadImportError(Exception):
    """The file cannot be imported; the stored network stays as it was."""


@dataclass
class ParsedNetwork:
    graph: RoadGraph
    osm_node_id: np.ndarray  # int64 per node, -1 when not from OSM
    osm_way_id: np.ndarray  # int64 per edge, -1 when not from OSM
    source: str
    note: str = ""
    is_demo: bool = False

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min_lat, min_lon, max_lat, max_lon)"""
        g = self.graph
        return float(g.lat.min()), float(g.lon.min()), float(g.lat.max()), float(g.lon.max())


class _Builder:
    """Collects nodes and directed edges in compact arrays."""

    def __init__(self) -> None:
        self.index: dict[int, int] = {}
        self.osm_ids = array("q")
        self.lat = array("d")
        self.lon = array("d")
        self.src = array("q")
        self.dst = array("q")
        self.length = array("d")
        self.klass: list[str] = []
        self.ferry = array("b")
        self.ferry_speed = array("d")
        self.ferry_wait = array("d")
        self.names: list[str] = []
        self.way_ids = array("q")

    def node(self, osm_id: int, lat: float, lon: float) -> int:
        i = self.index.get(osm_id)
        if i is None:
            i = self.index[osm_id] = len(self.lat)
            self.osm_ids.append(osm_id)
            self.lat.append(lat)
            self.lon.append(lon)
        return i

    def edge(self, u: int, v: int, length: float, klass: str, name: str, way_id: int, *, forward: bool = True,
             backward: bool = True, ferry: bool = False, speed: float = math.nan, wait: float = math.nan) -> None:
        for a, b, go in ((u, v, forward), (v, u, backward)):
            if not go:
                continue
            self.src.append(a)
            self.dst.append(b)
            self.length.append(length)
            self.klass.append(klass)
            self.ferry.append(ferry)
            self.ferry_speed.append(speed)
            self.ferry_wait.append(wait)
            self.names.append(name)
            self.way_ids.append(way_id)

    def network(self, source: str, note: str = "", is_demo: bool = False) -> ParsedNetwork:
        graph = RoadGraph(
            lat=np.frombuffer(self.lat, dtype=np.float64).copy(), lon=np.frombuffer(self.lon, dtype=np.float64).copy(),
            src=np.frombuffer(self.src, dtype=np.int64).copy(), dst=np.frombuffer(self.dst, dtype=np.int64).copy(),
            length_m=np.frombuffer(self.length, dtype=np.float64).copy(),
            road_class=np.asarray(self.klass, dtype=object),
            ferry=np.frombuffer(self.ferry, dtype=np.int8).astype(bool),
            ferry_speed_kmh=np.frombuffer(self.ferry_speed, dtype=np.float64).copy(),
            ferry_wait_min=np.frombuffer(self.ferry_wait, dtype=np.float64).copy(), name=self.names)
        return ParsedNetwork(graph=graph, osm_node_id=np.frombuffer(self.osm_ids, dtype=np.int64).copy(),
                             osm_way_id=np.frombuffer(self.way_ids, dtype=np.int64).copy(), source=source,
                             note=note, is_demo=is_demo)


def _direction(tags: dict[str, str], highway: str | None) -> tuple[bool, bool]:
    oneway = tags.get("oneway", "")
    if oneway in ("yes", "true", "1"):
        return True, False
    if oneway in ("-1", "reverse"):
        return False, True
    if oneway in ("no", "false", "0"):
        return True, True
    if tags.get("junction") in ("roundabout", "circular") or highway == "motorway":
        return True, False
    return True, True


def _closed_to_vehicles(tags: dict[str, str]) -> bool:
    if tags.get("area") == "yes":
        return True
    if tags.get("emergency") in ALLOWED:
        return False
    for key in VEHICLE_KEYS:  # the most specific key that says something wins
        if key in tags:
            return tags[key] not in ALLOWED
    return tags.get("access") == "no"


def _minutes(value: str | None) -> float | None:
    """OSM durations: "HH:MM", "HH:MM:SS" or minutes."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    m = re.fullmatch(r"(\d+):(\d{1,2})(?::(\d{1,2}))?", value)
    if not m:
        return None
    return int(m.group(1)) * 60 + int(m.group(2)) + int(m.group(3) or 0) / 60


def _way_name(tags: dict[str, str]) -> str:
    return (tags.get("name") or tags.get("ref") or "")[:200]


def read_osm(path: Path | str, *, bbox: tuple[float, float, float, float] | None = None,
             progress: Progress | None = None) -> ParsedNetwork:
    """bbox = (min_lon, min_lat, max_lon, max_lat): keep only road segments with both ends inside."""
    import osmium

    path = Path(path)
    if not path.is_file():
        raise RoadImportError(f"{path}: no such file")
    b = _Builder()
    ways = kept = 0
    ferry_terminals: set[int] = set()

    def inside(lat: float, lon: float) -> bool:
        return bbox is None or (bbox[1] <= lat <= bbox[3] and bbox[0] <= lon <= bbox[2])

    try:
        processor = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
                     .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                     .with_filter(osmium.filter.KeyFilter("highway", "route")))
        for way in processor:
            ways += 1
            if progress and ways % 5000 == 0:
                progress("read", ways, None)
            tags = {t.k: t.v for t in way.tags}
            highway = tags.get("highway")
            is_ferry = tags.get("route") == "ferry"
            if is_ferry:
                klass = "water" if _closed_to_vehicles({k: v for k, v in tags.items() if k != "area"}) else "ferry"
            elif highway in HIGHWAY_CLASS and not _closed_to_vehicles(tags):
                klass = HIGHWAY_CLASS[highway]
            else:
                continue
            forward, backward = _direction(tags, highway)
            points = [(n.ref, n.location.lat, n.location.lon) if n.location.valid() and
                      inside(n.location.lat, n.location.lon) else None for n in way.nodes]
            # Runs of consecutive nodes we know and keep (an extract cuts ways at its border).
            runs: list[list[tuple[int, float, float]]] = [[]]
            for p in points:
                if p is None:
                    if runs[-1]:
                        runs.append([])
                else:
                    runs[-1].append(p)
            name = _way_name(tags)
            for run in runs:
                if len(run) < 2:
                    continue
                kept += 1
                if is_ferry:
                    length = sum(float(haversine_m(a[1], a[2], c[1], c[2])) for a, c in pairwise(run))
                    first, last = run[0], run[-1]
                    if first[0] == last[0]:
                        continue
                    minutes = _minutes(tags.get("duration"))
                    speed = length / 1000 / (minutes / 60) if minutes else math.nan
                    interval = _minutes(tags.get("interval"))
                    wait = interval / 2 if interval else math.nan
                    u, v = b.node(*first), b.node(*last)
                    ferry_terminals.update((u, v))
                    b.edge(u, v, length, klass, name or "ferry", way.id, forward=forward, backward=backward,
                           ferry=klass == "ferry", speed=speed, wait=wait)
                    continue
                prev = b.node(*run[0])
                prev_p = run[0]
                for p in run[1:]:
                    if p[0] == prev_p[0]:
                        continue
                    cur = b.node(*p)
                    length = float(haversine_m(prev_p[1], prev_p[2], p[1], p[2]))
                    b.edge(prev, cur, length, klass, name, way.id, forward=forward, backward=backward)
                    prev, prev_p = cur, p
    except RuntimeError as exc:  # libosmium: "PBF error: unexpected EOF", "invalid BlobHeader size" …
        detail = str(exc).rstrip(".")
        raise RoadImportError(f"{path.name} is not a complete OpenStreetMap file ({detail})") from exc
    except (ValueError, OSError) as exc:
        raise RoadImportError(f"{path.name} cannot be read as OpenStreetMap data ({exc})") from exc
    if progress:
        progress("read", ways, ways)
    if not len(b.src):
        where = " inside the bbox" if bbox else ""
        raise RoadImportError(f"{path.name}: no roads usable by vehicles{where} (read {ways} highway/route ways)")
    _link_ferry_terminals(b, ferry_terminals)
    note = f"OpenStreetMap extract {path.name}" + (f", bbox {','.join(map(str, bbox))}" if bbox else "")
    return b.network(source=f"osm:{path.name}"[:300], note=note + ". © OpenStreetMap contributors (ODbL 1.0)")


def _link_ferry_terminals(b: _Builder, terminals: set[int]) -> None:
    """Ferry lines are often drawn to the pier, not onto the road: join each stranded terminal to the
    nearest road node within FERRY_LINK_M."""
    from scipy.spatial import cKDTree

    ferry = np.frombuffer(b.ferry, dtype=np.int8).astype(bool) | np.array([k == "water" for k in b.klass])
    src, dst = np.frombuffer(b.src, dtype=np.int64), np.frombuffer(b.dst, dtype=np.int64)
    on_road = np.zeros(len(b.lat), dtype=bool)
    on_road[src[~ferry]] = True
    on_road[dst[~ferry]] = True
    stranded = [t for t in sorted(terminals) if not on_road[t]]
    road_nodes = np.flatnonzero(on_road)
    if not stranded or not len(road_nodes):
        return
    lat, lon = np.frombuffer(b.lat, dtype=np.float64), np.frombuffer(b.lon, dtype=np.float64)
    scale = math.cos(math.radians(float(np.mean(lat[road_nodes]))))
    tree = cKDTree(np.column_stack([lat[road_nodes], lon[road_nodes] * scale]))
    for t in stranded:
        _, k = tree.query([lat[t], lon[t] * scale])
        r = int(road_nodes[k])
        d = float(haversine_m(lat[t], lon[t], lat[r], lon[r]))
        if d <= FERRY_LINK_M:
            b.edge(t, r, d, "service", "ferry terminal", -1)


def read_demo(path: Path | str, *, step_m: float = 500.0) -> ParsedNetwork:
    """The demo network: {"meta": {...}, "points": {KEY: [lat, lon]}, "roads": [{"name", "class",
    "via": [KEY or [lat, lon], ...], "oneway"?, "ferry_speed_kmh"?, "ferry_wait_min"?}]}."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        points: dict[str, list[float]] = data["points"]
        b = _Builder()
        keys: dict[str, int] = {}

        def point(ref: str | list[float]) -> tuple[int, float, float]:
            if isinstance(ref, str):
                lat, lon = points[ref]
                if ref not in keys:
                    keys[ref] = b.node(-(len(keys) + 1), lat, lon)  # negative: not an OSM id
                return keys[ref], lat, lon
            lat, lon = ref
            return b.node(-(10_000_000 + len(b.lat)), lat, lon), lat, lon

        for road in data["roads"]:
            klass = road["class"]
            is_ferry = klass == "ferry"
            backward = not road.get("oneway", False)
            via = [point(r) for r in road["via"]]
            if is_ferry or klass == "water":
                length = sum(float(haversine_m(a[1], a[2], c[1], c[2])) for a, c in pairwise(via))
                b.edge(via[0][0], via[-1][0], length, klass, road["name"], -1, backward=backward, ferry=is_ferry,
                       speed=road.get("ferry_speed_kmh", FERRY_SPEED_KMH),
                       wait=road.get("ferry_wait_min", FERRY_WAIT_MIN) if is_ferry else math.nan)
                continue
            for (u, lat1, lon1), (v, lat2, lon2) in pairwise(via):
                length = float(haversine_m(lat1, lon1, lat2, lon2))
                pieces = max(1, math.ceil(length / step_m))
                prev = u
                for k in range(1, pieces + 1):
                    if k == pieces:
                        cur = v
                    else:
                        f = k / pieces
                        cur = point([lat1 + (lat2 - lat1) * f, lon1 + (lon2 - lon1) * f])[0]
                    b.edge(prev, cur, length / pieces, klass, road["name"], -1, backward=backward)
                    prev = cur
        meta = data["meta"]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise RoadImportError(f"{path.name}: not a valid demo road network ({exc!r})") from exc
    network = b.network(source=meta["source"], note=meta["note"], is_demo=True)
    network.osm_node_id[:] = -1
    network.osm_way_id[:] = -1
    return network
