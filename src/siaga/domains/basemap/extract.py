"""The part of an OpenStreetMap extract that the site needs, made whole: a regency downloads a province or
island extract (Geofabrik's "sumatra", a BBBike or Protomaps cut…), and the rest of the import — tilemaker,
the roads, the patokan — reads only what lies around the regency.

`clip_extract(src, dst, bbox)` keeps every way with a node in the bbox, whole (its nodes outside too, as
osmium's "complete ways"), every relation with a member kept, and the member ways of those multipolygons so
that areas crossing the edge close; tagged nodes inside the bbox. It also repairs what a cut made elsewhere
left broken (tilemaker 2.2 aborts on such a file: "Could not find node"): a way that references nodes the file
does not hold keeps its longest run of nodes the file has — never a straight line across the gap, which
would draw a street that is not there —, and relation members that are not in the output are dropped. The
roads and the patokan are read from the original file (read_osm cuts ways at gaps itself); this file feeds
tilemaker only. Two or three passes with pyosmium; the memory is the
location index (C++) and the ids of what is kept."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Progress = Callable[[str, int, int | None], None]
Bbox = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat


class ExtractError(Exception):
    """The file cannot be read as OpenStreetMap data, or holds nothing around the regency."""


@dataclass
class ClipResult:
    nodes: int
    ways: int
    relations: int
    bbox: Bbox | None


def _inside(bbox: Bbox | None, lon: float, lat: float) -> bool:
    return bbox is None or (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])


def clip_extract(src: Path, dst: Path, bbox: Bbox | None, progress: Progress | None = None) -> ClipResult:
    """Write to `dst` (.osm.pbf) the part of `src` around `bbox` (everything when None), reference-complete.
    Raises ExtractError for a file that is not OSM data or has no way around the bbox."""
    import osmium

    try:
        return _clip(osmium, src, dst, bbox, progress)
    except RuntimeError as exc:  # libosmium: "PBF error: unexpected EOF", "invalid BlobHeader size" …
        raise ExtractError(f"{src.name} is not a complete OpenStreetMap file ({str(exc).rstrip('.')})") from exc
    except (ValueError, OSError) as exc:
        raise ExtractError(f"{src.name} cannot be read as OpenStreetMap data ({exc})") from exc


def _clip(osmium, src: Path, dst: Path, bbox: Bbox | None, progress: Progress | None) -> ClipResult:  # type: ignore[no-untyped-def]
    kept_ways: set[int] = set()
    needed = array("q")  # node ids the kept ways use (present in the file)
    kept_rels: set[int] = set()
    member_ways: set[int] = set()  # of kept multipolygons, maybe not kept yet
    seen = 0

    def tick(phase: str) -> None:
        nonlocal seen
        seen += 1
        if progress and seen % 20_000 == 0:
            progress(phase, seen, None)

    if progress:
        progress("scan", 0, None)
    # 1. Which ways and relations: a way is kept when one of its (present) nodes is inside.
    for obj in (osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION)
                .with_locations().with_filter(osmium.filter.EntityFilter(osmium.osm.WAY | osmium.osm.RELATION))):
        tick("scan")
        if obj.is_way():
            refs = _longest_run(obj)
            if len(refs) >= 2 and any(_inside(bbox, loc.lon, loc.lat) for _, loc in refs):
                kept_ways.add(obj.id)
                needed.extend(r for r, _ in refs)
        else:
            members = [(m.type, m.ref) for m in obj.members]
            if any(t == "w" and r in kept_ways for t, r in members):
                kept_rels.add(obj.id)
                if obj.tags.get("type") in ("multipolygon", "boundary"):
                    member_ways.update(r for t, r in members if t == "w")
    if not kept_ways:
        where = "around the regency" if bbox else ""
        raise ExtractError(f"{src.name} has no way {where}".strip() + " (is it the right extract?)")
    # 2. The member ways of kept multipolygons that lie (partly) outside, so their areas close.
    missing = member_ways - kept_ways
    if missing:
        for way in (osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY).with_locations()
                    .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                    .with_filter(osmium.filter.IdFilter(sorted(missing)))):
            tick("scan")
            refs = _longest_run(way)
            if len(refs) >= 2:
                kept_ways.add(way.id)
                needed.extend(r for r, _ in refs)
    if progress:
        progress("scan", seen, seen)
    needed_ids = np.unique(np.frombuffer(needed, dtype=np.int64))
    # 3. Write: nodes in id order (a sorted PBF) merged against the sorted ids we need.
    header = osmium.io.Header()
    if bbox is not None:
        header.add_box(osmium.osm.Box(osmium.osm.Location(bbox[0], bbox[1]), osmium.osm.Location(bbox[2], bbox[3])))
    written_nodes: set[int] = set()  # tagged nodes inside, for relation members
    if progress:
        progress("write", 0, None)
    counts = [0, 0, 0]
    k, n_needed = 0, len(needed_ids)
    with osmium.SimpleWriter(str(dst), overwrite=True, header=header) as writer:
        for obj in osmium.FileProcessor(str(src)).with_locations():
            tick("write")
            if obj.is_node():
                while k < n_needed and needed_ids[k] < obj.id:
                    k += 1
                wanted = k < n_needed and needed_ids[k] == obj.id
                if not wanted and len(obj.tags) and obj.location.valid() and \
                        _inside(bbox, obj.location.lon, obj.location.lat):
                    wanted = True
                    written_nodes.add(obj.id)
                if wanted:
                    writer.add_node(obj)
                    counts[0] += 1
            elif obj.is_way():
                if obj.id in kept_ways:
                    writer.add_way(obj.replace(nodes=[r for r, _ in _longest_run(obj)]))
                    counts[1] += 1
            elif obj.is_relation() and obj.id in kept_rels:
                members = [(m.type, m.ref, m.role) for m in obj.members
                           if (m.type == "w" and m.ref in kept_ways) or (m.type == "r" and m.ref in kept_rels)
                           or (m.type == "n" and (m.ref in written_nodes or _has(needed_ids, m.ref)))]
                if members:
                    writer.add_relation(obj.replace(members=members))
                    counts[2] += 1
    if progress:
        progress("write", seen, seen)
    return ClipResult(nodes=counts[0], ways=counts[1], relations=counts[2], bbox=bbox)


def _longest_run(way) -> list[tuple[int, object]]:  # type: ignore[no-untyped-def]
    """(ref, location) of the way's longest run of consecutive nodes that the file holds: all of them for a
    whole way."""
    best: list[tuple[int, object]] = []
    run: list[tuple[int, object]] = []
    for n in way.nodes:
        if n.location.valid():
            run.append((n.ref, n.location))
            continue
        if len(run) > len(best):
            best = run
        run = []
    return run if len(run) > len(best) else best


def _has(sorted_ids: np.ndarray, value: int) -> bool:
    i = int(np.searchsorted(sorted_ids, value))
    return i < len(sorted_ids) and int(sorted_ids[i]) == value


def file_bbox(path: Path) -> Bbox | None:
    """The bbox an extract's header declares, if any (Geofabrik's do)."""
    import osmium

    try:
        box = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING).header().box()
    except (RuntimeError, ValueError, OSError):
        return None
    if not box.valid():
        return None
    return box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat
