"""The road network in `scipy.sparse.csgraph`, points snapped with a KD-tree, and `recommend()`.

How a recommendation is computed: the incident is snapped to its nearest road node (per vehicle
profile), and ONE Dijkstra search from it over the reversed graph gives every node's travel time TO
the incident; each candidate unit then reads its own time off that array. One search per vehicle
profile present among the candidates (ambulances and patrol cars share one, fire engines another…).

The search runs on a contracted graph. Most road nodes (82% in the Helsinki extract the tests use) are
shape points in the middle of a road: exactly two neighbours, nothing to decide. They are folded into
"chains" between the other ("core") nodes, and a node inside a chain reaches the core through the
chain's two ends with prefix sums along it. An incident inside a chain is a virtual source node joined
to its chain's ends. Results are exactly those of the plain graph (the tests check every node against
networkx). A node stays core where travel rules change (oneway, a class a profile cannot use) and at
both ends of a ferry crossing, so that every chain is uniform and a ferry is always a whole edge."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from siaga.core.errors import invalid
from siaga.core.geo import EARTH_RADIUS_M
from siaga.core.i18n import namespace
from siaga.domains.roads.speeds import (
    FERRY_SPEED_KMH,
    FERRY_WAIT_MIN,
    MAX_SNAP_M,
    OFFROAD_KMH,
    SPEEDS_KMH,
    VEHICLE_PROFILE,
)

NO_PRED = -9999  # scipy's marker for "no predecessor"


@dataclass
class RoadGraph:
    """A directed road graph as arrays: node i at (lat[i], lon[i]); edge k from src[k] to dst[k]."""

    lat: np.ndarray
    lon: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    length_m: np.ndarray
    road_class: np.ndarray  # str per edge (models.ROAD_CLASSES)
    ferry: np.ndarray  # bool per edge
    ferry_speed_kmh: np.ndarray  # float per edge, NaN: the default
    ferry_wait_min: np.ndarray  # float per edge, NaN: the default
    name: Sequence[str] = ()
    node_ids: np.ndarray | None = None  # database ids of the nodes (default: 0..n-1)

    @classmethod
    def build(cls, lat: Sequence[float], lon: Sequence[float], src: Sequence[int], dst: Sequence[int],
              length_m: Sequence[float], road_class: Sequence[str], *, ferry: Sequence[bool] | None = None,
              ferry_speed_kmh: Sequence[float | None] | None = None,
              ferry_wait_min: Sequence[float | None] | None = None, name: Sequence[str] | None = None,
              node_ids: Sequence[int] | None = None) -> RoadGraph:
        m = len(src)

        def floats(values: Sequence[float | None] | None) -> np.ndarray:
            if values is None:
                return np.full(m, np.nan)
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        classes = np.asarray(road_class, dtype=object)
        return cls(lat=np.asarray(lat, dtype=np.float64), lon=np.asarray(lon, dtype=np.float64),
                   src=np.asarray(src, dtype=np.int64), dst=np.asarray(dst, dtype=np.int64),
                   length_m=np.asarray(length_m, dtype=np.float64), road_class=classes,
                   ferry=(np.asarray(ferry, dtype=bool) if ferry is not None else classes == "ferry"),
                   ferry_speed_kmh=floats(ferry_speed_kmh), ferry_wait_min=floats(ferry_wait_min),
                   name=list(name) if name is not None else [""] * m,
                   node_ids=None if node_ids is None else np.asarray(node_ids, dtype=np.int64))

    @property
    def node_count(self) -> int:
        return len(self.lat)

    @property
    def edge_count(self) -> int:
        return len(self.src)


def edge_seconds(graph: RoadGraph, speeds: dict[str, float | None]) -> np.ndarray:
    """Seconds to traverse each edge for one profile; inf where the profile cannot go. A ferry's
    waiting time is part of its edge, so it counts once per crossing entered."""
    seconds = np.full(graph.edge_count, np.inf)
    road = ~graph.ferry
    for road_class, kmh in speeds.items():
        if road_class == "ferry" or not kmh:
            continue
        mask = road & (graph.road_class == road_class)
        seconds[mask] = graph.length_m[mask] / (kmh / 3.6)
    if "ferry" in speeds:
        kmh = speeds["ferry"]
        f = graph.ferry
        if kmh is None:  # the ferry's own speed and timetable
            speed = np.where(np.isnan(graph.ferry_speed_kmh[f]), FERRY_SPEED_KMH, graph.ferry_speed_kmh[f])
            wait = np.where(np.isnan(graph.ferry_wait_min[f]), FERRY_WAIT_MIN, graph.ferry_wait_min[f])
            seconds[f] = graph.length_m[f] / (speed / 3.6) + wait * 60.0
        else:  # a boat of our own: its speed, no waiting
            seconds[f] = graph.length_m[f] / (kmh / 3.6)
    return seconds


def haversine_m(lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: np.ndarray | float,
                lon2: np.ndarray | float) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p, lam = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)])


@dataclass
class _Profile:
    """One vehicle profile's contracted graph, prefix sums along chains and snapping tree."""

    name: str
    usable_nodes: np.ndarray  # original node indices this profile can stand on
    tree: cKDTree | None
    ok_f: np.ndarray  # per chain: can travel start → end
    ok_r: np.ndarray  # per chain: can travel end → start
    tot_f: np.ndarray  # per chain: seconds start → end
    tot_r: np.ndarray
    pre_f: np.ndarray  # per node inside a chain: seconds chain start → node
    pre_r: np.ndarray  # per node inside a chain: seconds node → chain start
    rev: sp.csr_matrix  # contracted graph reversed, with one spare (virtual) row at the end
    fwd_keys: np.ndarray  # sorted keys (from * n_core + to) of the contracted forward edges
    fwd_chain: np.ndarray  # chain of each contracted forward edge (the fastest of parallel chains)
    fwd_along: np.ndarray  # True: the edge runs chain start → end; False: end → start


@dataclass
class Target:
    """The incident as the router sees it for one profile."""

    profile: str
    node: int
    snap_m: float


@dataclass
class Reach:
    """Travel from nodes to a target: network seconds, metres, ferries crossed, and the core node
    through which each left its chain (for naming the ferries on the way)."""

    seconds: np.ndarray
    metres: np.ndarray
    ferries: np.ndarray
    pred: np.ndarray
    source: int


class Router:
    """Immutable once built; safe to share between threads."""

    def __init__(self, graph: RoadGraph, *, speeds: dict[str, dict[str, float | None]] | None = None,
                 vehicle_profile: dict[str, str] | None = None, max_snap_m: float = MAX_SNAP_M,
                 offroad_kmh: float = OFFROAD_KMH, token: str = "") -> None:
        self.graph = graph
        self.speeds = speeds if speeds is not None else SPEEDS_KMH
        self.vehicle_profile = vehicle_profile if vehicle_profile is not None else VEHICLE_PROFILE
        self.max_snap_m = max_snap_m
        self.offroad_mps = offroad_kmh / 3.6
        self.token = token
        self.n = graph.node_count
        self._build()

    # ----------------------------------------------------------------------------------------- build

    def _build(self) -> None:
        g, n = self.graph, self.n
        names = list(self.speeds)
        weights = np.vstack([edge_seconds(g, self.speeds[p]) for p in names]) if names else np.zeros((0, 0))
        keep = (g.src != g.dst) & np.isfinite(weights).any(axis=0)
        edge_idx = np.flatnonzero(keep)
        src, dst, w = g.src[keep], g.dst[keep], weights[:, keep]
        # Directed pairs: the fastest of parallel edges per profile, the shortest for distance.
        key = src * n + dst
        order = np.argsort(key, kind="stable")
        key, src, dst, w, edge_idx = key[order], src[order], dst[order], w[:, order], edge_idx[order]
        pair_key, start = np.unique(key, return_index=True)
        self.pair_key = pair_key
        pu, pv = src[start], dst[start]
        if len(key):
            pw = np.minimum.reduceat(w, start, axis=1)
            plen = np.minimum.reduceat(g.length_m[edge_idx], start)
            pferry = np.maximum.reduceat(g.ferry[edge_idx].astype(np.int8), start).astype(bool)
        else:
            pw, plen, pferry = np.zeros((len(names), 0)), np.zeros(0), np.zeros(0, dtype=bool)
        # A name for each ferry pair (the first edge's name).
        self._ferry_pair_names: dict[int, str] = {}
        for i in np.flatnonzero(pferry):
            group = edge_idx[start[i]:(start[i + 1] if i + 1 < len(start) else len(edge_idx))]
            ferry_edges = [e for e in group if g.ferry[e]]
            self._ferry_pair_names[int(i)] = (g.name[ferry_edges[0]] if len(g.name) else "") or "ferry"
        bits = (np.isfinite(pw) * (1 << np.arange(len(names)))[:, None]).sum(axis=0).astype(np.int64)

        def pair_index(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            k = u * n + v
            i = np.searchsorted(pair_key, k)
            i = np.minimum(i, max(len(pair_key) - 1, 0))
            found = (pair_key[i] == k) if len(pair_key) else np.zeros(len(k), dtype=bool)
            return np.where(found, i, -1)

        # Undirected neighbours and the masks of each direction.
        a, b = np.minimum(pu, pv), np.maximum(pu, pv)
        ukey = np.unique(a * n + b)
        ua, ub = ukey // n, ukey % n
        i_ab, i_ba = pair_index(ua, ub), pair_index(ub, ua)
        m_ab = np.where(i_ab >= 0, bits[i_ab], 0)
        m_ba = np.where(i_ba >= 0, bits[i_ba], 0)
        f_ab = np.where(i_ab >= 0, pferry[i_ab], False) | np.where(i_ba >= 0, pferry[i_ba], False)
        inc_node = np.concatenate([ua, ub])
        inc_other = np.concatenate([ub, ua])
        inc_out = np.concatenate([m_ab, m_ba])
        inc_in = np.concatenate([m_ba, m_ab])
        inc_ferry = np.concatenate([f_ab, f_ab])
        order = np.argsort(inc_node, kind="stable")
        inc_node, inc_other, inc_out, inc_in, inc_ferry = (x[order] for x in
                                                           (inc_node, inc_other, inc_out, inc_in, inc_ferry))
        deg = np.bincount(inc_node, minlength=n)
        first = np.concatenate([[0], np.cumsum(deg)])[:-1]
        # A node folds into a chain: two neighbours, no ferry, the same rules through it both ways.
        shape = deg == 2
        i0 = np.where(shape, first, 0)
        i1 = np.where(shape, first + 1, 0)
        if len(inc_node):
            shape &= (inc_in[i0] == inc_out[i1]) & (inc_in[i1] == inc_out[i0])
            shape &= ~(inc_ferry[i0] | inc_ferry[i1])
        nb0 = np.where(shape, inc_other[i0] if len(inc_node) else 0, -1)
        nb1 = np.where(shape, inc_other[i1] if len(inc_node) else 0, -1)
        self._walk_chains(shape, deg, first, inc_other, nb0, nb1)

        # Segments along chains, the pairs they use each way, and prefix sums.
        cn, co = self.chain_nodes, self.chain_offsets
        nchains = len(co) - 1
        seg_mask = np.ones(len(cn), dtype=bool)
        seg_mask[co[1:] - 1] = False  # the last node of a chain starts no segment
        seg_from = np.flatnonzero(seg_mask)
        su, sv = cn[seg_from], cn[seg_from + 1]
        fi, ri = pair_index(su, sv), pair_index(sv, su)
        first_seg = np.concatenate([[0], np.cumsum(np.diff(co) - 1)])[:-1]

        def prefix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Per chain node: sum over the segments before it; per chain: the total."""
            csum = np.concatenate([[0.0], np.cumsum(values)])
            # node at chain position j (>0) follows segment first_seg[c] + j - 1
            pos = np.arange(len(cn)) - np.repeat(co[:-1], np.diff(co))
            seg_end = np.repeat(first_seg, np.diff(co)) + pos
            before = csum[seg_end] - csum[np.repeat(first_seg, np.diff(co))]
            total = csum[first_seg + np.diff(co) - 1] - csum[first_seg]
            return before, total

        def per_node(before: np.ndarray) -> np.ndarray:
            out = np.zeros(n)
            inner = self.chain_pos > 0
            out[inner] = before[co[self.chain_of[inner]] + self.chain_pos[inner]]
            return out

        seg_len_f = np.where(fi >= 0, plen[np.maximum(fi, 0)], 0.0)
        seg_len_r = np.where(ri >= 0, plen[np.maximum(ri, 0)], 0.0)
        seg_len = np.where(fi >= 0, seg_len_f, seg_len_r)
        before, self.chain_len_f = prefix(np.where(fi >= 0, seg_len_f, seg_len))
        self.pre_len_f = per_node(before)
        before, self.chain_len_r = prefix(np.where(ri >= 0, seg_len_r, seg_len))
        self.pre_len_r = per_node(before)
        seg_ferry_f = np.where(fi >= 0, pferry[np.maximum(fi, 0)], False)
        seg_ferry_r = np.where(ri >= 0, pferry[np.maximum(ri, 0)], False)
        self.chain_ferries_f = prefix(seg_ferry_f.astype(np.float64))[1]
        self.chain_ferries_r = prefix(seg_ferry_r.astype(np.float64))[1]
        # A ferry chain is a single segment between two core nodes: remember its pair for the name.
        single = np.diff(co) == 2
        self.chain_ferry_pair_f = np.where(single & (self.chain_ferries_f > 0), fi[first_seg], -1)
        self.chain_ferry_pair_r = np.where(single & (self.chain_ferries_r > 0), ri[first_seg], -1)

        self.core_nodes = np.flatnonzero(self.is_core)
        self.core_index = np.full(n, -1, dtype=np.int64)
        self.core_index[self.core_nodes] = np.arange(len(self.core_nodes))
        nc = len(self.core_nodes)
        chain_start, chain_end = cn[co[:-1]], cn[co[1:] - 1]
        self.chain_start, self.chain_end = chain_start, chain_end

        self.profiles: dict[str, _Profile] = {}
        for p, name in enumerate(names):
            wf = np.where(fi >= 0, pw[p][np.maximum(fi, 0)], np.inf) if len(fi) else np.zeros(0)
            wr = np.where(ri >= 0, pw[p][np.maximum(ri, 0)], np.inf) if len(ri) else np.zeros(0)
            ok_f = np.isfinite(wf[first_seg]) if nchains else np.zeros(0, dtype=bool)
            ok_r = np.isfinite(wr[first_seg]) if nchains else np.zeros(0, dtype=bool)
            # Uniform chains: a direction is usable on every segment or on none.
            before_f, tot_f = prefix(np.where(np.isfinite(wf), wf, 0.0))
            before_r, tot_r = prefix(np.where(np.isfinite(wr), wr, 0.0))
            tot_f = np.where(ok_f, tot_f, np.inf)
            tot_r = np.where(ok_r, tot_r, np.inf)
            # Contracted edges: chain start → end, end → start (no loops), the fastest of parallel chains.
            c_ids = np.arange(nchains)
            loops = chain_start == chain_end
            fsel, rsel = ok_f & ~loops, ok_r & ~loops
            e_from = np.concatenate([self.core_index[chain_start[fsel]], self.core_index[chain_end[rsel]]])
            e_to = np.concatenate([self.core_index[chain_end[fsel]], self.core_index[chain_start[rsel]]])
            e_w = np.concatenate([tot_f[fsel], tot_r[rsel]])
            e_chain = np.concatenate([c_ids[fsel], c_ids[rsel]])
            e_along = np.concatenate([np.ones(fsel.sum(), dtype=bool), np.zeros(rsel.sum(), dtype=bool)])
            ekey = e_from * nc + e_to
            order = np.lexsort((e_w, ekey))
            ekey, e_w, e_chain, e_along = ekey[order], e_w[order], e_chain[order], e_along[order]
            ukeys, ufirst = np.unique(ekey, return_index=True)
            e_w, e_chain, e_along = e_w[ufirst], e_chain[ufirst], e_along[ufirst]
            e_from, e_to = ukeys // max(nc, 1), ukeys % max(nc, 1)
            # Reversed graph, one spare row (nc) for a virtual source: CSR sorted by (to, from).
            rorder = np.lexsort((e_from, e_to))
            indptr = np.concatenate([[0], np.cumsum(np.bincount(e_to, minlength=nc + 1))])
            rev = sp.csr_matrix((e_w[rorder], e_from[rorder].astype(np.int32), indptr.astype(np.int32)),
                                shape=(nc + 1, nc + 1))
            touched = np.zeros(n, dtype=bool)
            usable_pairs = np.isfinite(pw[p]) if len(pw) else np.zeros(0, dtype=bool)
            touched[pu[usable_pairs]] = True
            touched[pv[usable_pairs]] = True
            usable_nodes = np.flatnonzero(touched)
            tree = cKDTree(_unit_vectors(g.lat[usable_nodes], g.lon[usable_nodes])) if len(usable_nodes) else None
            self.profiles[name] = _Profile(
                name=name, usable_nodes=usable_nodes, tree=tree, ok_f=ok_f, ok_r=ok_r, tot_f=tot_f, tot_r=tot_r,
                pre_f=per_node(before_f), pre_r=per_node(before_r), rev=rev, fwd_keys=ukeys, fwd_chain=e_chain,
                fwd_along=e_along)

    def _walk_chains(self, shape: np.ndarray, deg: np.ndarray, first: np.ndarray, inc_other: np.ndarray,
                     nb0: np.ndarray, nb1: np.ndarray) -> None:
        """Fold shape nodes into chains between core nodes (plain Python; once per network)."""
        n = self.n
        is_core = ~shape & (deg > 0)
        chain_of = np.full(n, -1, dtype=np.int64)
        chain_pos = np.zeros(n, dtype=np.int64)
        visited = np.zeros(n, dtype=bool)
        nodes: list[int] = []
        offsets = [0]
        shape_l, nb0_l, nb1_l, other_l = shape.tolist(), nb0.tolist(), nb1.tolist(), inc_other.tolist()
        first_l, deg_l = first.tolist(), deg.tolist()

        def walk(c: int, o: int) -> None:
            chain = [c, o]
            prev, cur = c, o
            while shape_l[cur]:
                visited[cur] = True
                nxt = nb0_l[cur] if nb0_l[cur] != prev else nb1_l[cur]
                chain.append(nxt)
                prev, cur = cur, nxt
            cid = len(offsets) - 1
            for pos, v in enumerate(chain[1:-1], start=1):
                chain_of[v] = cid
                chain_pos[v] = pos
            nodes.extend(chain)
            offsets.append(len(nodes))

        def from_core(c: int) -> None:
            for k in range(first_l[c], first_l[c] + deg_l[c]):
                o = other_l[k]
                if shape_l[o]:
                    if not visited[o]:
                        walk(c, o)
                elif c < o:
                    walk(c, o)

        for c in np.flatnonzero(is_core).tolist():
            from_core(c)
        # Rings of shape nodes only: make one node of each ring core.
        for s in np.flatnonzero(shape & ~visited).tolist():
            if visited[s]:
                continue
            shape_l[s] = False
            is_core[s] = True
            visited[s] = True
            from_core(s)
        self.is_core = is_core
        self.chain_of = chain_of
        self.chain_pos = chain_pos
        self.chain_nodes = np.asarray(nodes, dtype=np.int64)
        self.chain_offsets = np.asarray(offsets, dtype=np.int64)

    # ------------------------------------------------------------------------------------- queries

    @property
    def core_count(self) -> int:
        return len(self.core_nodes)

    def profile_of(self, vehicle_type: str) -> str | None:
        profile = self.vehicle_profile.get(vehicle_type)
        return profile if profile in self.profiles else None

    def snap(self, profile: str, lat: np.ndarray | float, lon: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node this profile can use, and the distance to it in metres (inf: none at all)."""
        lat_a = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lon_a = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        prof = self.profiles[profile]
        if prof.tree is None:
            return np.full(len(lat_a), -1, dtype=np.int64), np.full(len(lat_a), np.inf)
        _, k = prof.tree.query(_unit_vectors(lat_a, lon_a))
        nodes = prof.usable_nodes[k]
        return nodes, haversine_m(lat_a, lon_a, self.graph.lat[nodes], self.graph.lon[nodes])

    def reach(self, profile: str, target: int) -> Reach:
        """One search from `target` over the reversed contracted graph: for every core node (and the
        virtual source, last), seconds, metres and ferries to the target."""
        prof = self.profiles[profile]
        nc = self.core_count
        ci = self.core_index[target]
        extra: list[tuple[int, float, float, float]] = []  # (core node, seconds, metres, ferries) → target
        if ci >= 0:
            graph, source = prof.rev, int(ci)
        else:
            c = self.chain_of[target]
            start, end = self.chain_start[c], self.chain_end[c]
            if prof.ok_f[c]:  # start → … → target
                extra.append((int(self.core_index[start]), float(prof.pre_f[target]), float(self.pre_len_f[target]),
                              0.0))
            if prof.ok_r[c]:  # end → … → target, backwards along the chain
                extra.append((int(self.core_index[end]), float(prof.tot_r[c] - prof.pre_r[target]),
                              float(self.chain_len_r[c] - self.pre_len_r[target]), 0.0))
            rev = prof.rev
            cols = np.array([e[0] for e in extra], dtype=np.int32)
            vals = np.array([e[1] for e in extra], dtype=np.float64)
            indptr = rev.indptr.copy()
            indptr[-1] += len(extra)
            graph = sp.csr_matrix((np.concatenate([rev.data, vals]), np.concatenate([rev.indices, cols]), indptr),
                                  shape=rev.shape)
            source = nc
        seconds, pred = dijkstra(graph, directed=True, indices=source, return_predecessors=True)
        # Metres and ferries along the tree, by pointer jumping (log depth vectorised steps).
        step_len = np.zeros(nc + 1)
        step_ferry = np.zeros(nc + 1)
        jump = np.arange(nc + 1)
        has = pred >= 0
        child = np.flatnonzero(has)
        parent = pred[child].astype(np.int64)
        to_virtual = parent == nc
        inner = ~to_virtual
        if inner.any():
            k = np.searchsorted(prof.fwd_keys, child[inner] * nc + parent[inner])
            chains, along = prof.fwd_chain[k], prof.fwd_along[k]
            step_len[child[inner]] = np.where(along, self.chain_len_f[chains], self.chain_len_r[chains])
            step_ferry[child[inner]] = np.where(along, self.chain_ferries_f[chains], self.chain_ferries_r[chains])
        for c_node in child[to_virtual].tolist():
            best = min((e for e in extra if e[0] == c_node), key=lambda e: e[1])
            step_len[c_node], step_ferry[c_node] = best[2], best[3]
        jump[child] = parent
        metres, ferries = step_len.copy(), step_ferry.copy()
        while True:
            nxt = jump[jump]
            if np.array_equal(nxt, jump):
                break
            metres = metres + metres[jump]  # roots (the source, unreached nodes) carry 0
            ferries = ferries + ferries[jump]
            jump = nxt
        return Reach(seconds=seconds, metres=metres, ferries=ferries, pred=pred, source=source)

    def from_nodes(self, profile: str, target: int, nodes: np.ndarray, reach: Reach | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Reach]:
        """Seconds, metres and ferries from each of `nodes` to `target`, and the core node through which
        each reaches the contracted graph (-1: straight along the target's own chain)."""
        prof = self.profiles[profile]
        reach = reach or self.reach(profile, target)
        nodes = np.asarray(nodes, dtype=np.int64)
        secs = np.full(len(nodes), np.inf)
        metres = np.full(len(nodes), np.nan)
        ferries = np.zeros(len(nodes))
        exit_core = np.full(len(nodes), -1, dtype=np.int64)
        ci = self.core_index[nodes]
        core = ci >= 0
        secs[core] = reach.seconds[ci[core]]
        metres[core] = reach.metres[ci[core]]
        ferries[core] = reach.ferries[ci[core]]
        exit_core[core] = ci[core]
        inner = np.flatnonzero(~core & (self.chain_of[nodes] >= 0))  # else: a node no road touches
        if len(inner):
            v = nodes[inner]
            c = self.chain_of[v]
            s_ci, e_ci = self.core_index[self.chain_start[c]], self.core_index[self.chain_end[c]]
            # towards the chain's end (forward), or back to its start
            via_end = np.where(prof.ok_f[c], prof.tot_f[c] - prof.pre_f[v], np.inf) + reach.seconds[e_ci]
            via_start = np.where(prof.ok_r[c], prof.pre_r[v], np.inf) + reach.seconds[s_ci]
            use_end = via_end <= via_start
            secs[inner] = np.where(use_end, via_end, via_start)
            metres[inner] = np.where(use_end, self.chain_len_f[c] - self.pre_len_f[v] + reach.metres[e_ci],
                                     self.pre_len_r[v] + reach.metres[s_ci])
            ferries[inner] = np.where(use_end, reach.ferries[e_ci], reach.ferries[s_ci])
            exit_core[inner] = np.where(use_end, e_ci, s_ci)
        # Along the target's own chain, without leaving it.
        tc = self.chain_of[target]
        if self.core_index[target] < 0:
            same = np.flatnonzero((self.chain_of[nodes] == tc) & (self.core_index[nodes] < 0))
            for i in same.tolist():
                u = int(nodes[i])
                pu, pt = self.chain_pos[u], self.chain_pos[target]
                if u == target:
                    direct, length = 0.0, 0.0
                elif pu < pt and prof.ok_f[tc]:
                    direct = prof.pre_f[target] - prof.pre_f[u]
                    length = self.pre_len_f[target] - self.pre_len_f[u]
                elif pu > pt and prof.ok_r[tc]:
                    direct = prof.pre_r[u] - prof.pre_r[target]
                    length = self.pre_len_r[u] - self.pre_len_r[target]
                else:
                    continue
                if direct <= secs[i]:
                    secs[i], metres[i], ferries[i], exit_core[i] = direct, length, 0.0, -1
        metres[~np.isfinite(secs)] = np.nan
        return secs, metres, ferries, exit_core, reach

    def times_to(self, profile: str, target: int) -> np.ndarray:
        """Network seconds from every node to `target` (inf: no way); what the oracle tests compare."""
        return self.from_nodes(profile, target, np.arange(self.n))[0]

    def ferry_names(self, profile: str, reach: Reach, exit_core: int) -> list[str]:
        """Names of the ferries on the way from a core node to the target (walks the search tree)."""
        prof = self.profiles[profile]
        nc = self.core_count
        names: list[str] = []
        node = exit_core
        if node < 0 or reach.ferries[node] <= 0:
            return names
        while node != reach.source and node >= 0:
            parent = int(reach.pred[node])
            if parent < 0 or parent == nc:
                break
            k = int(np.searchsorted(prof.fwd_keys, node * nc + parent))
            chain, along = int(prof.fwd_chain[k]), bool(prof.fwd_along[k])
            pair = int(self.chain_ferry_pair_f[chain] if along else self.chain_ferry_pair_r[chain])
            if pair >= 0:
                names.append(self._ferry_pair_names.get(pair, "ferry"))
            node = parent
        return names


# ------------------------------------------------------------------------------------ recommendation


@dataclass(frozen=True)
class Candidate:
    unit_id: int
    callsign: str
    vehicle_type: str
    lat: float | None
    lon: float | None


REASONS = ("slower_by_road", "no_position", "unknown_vehicle_type", "unit_off_road", "incident_off_road",
           "no_route", "no_road_network")


@dataclass(frozen=True)
class Recommendation:
    unit_id: int
    callsign: str
    vehicle_type: str
    offered: bool  # among the `limit` fastest reachable units
    reachable: bool
    rank: int | None  # 1 = fastest, among all reachable candidates
    eta_s: float | None  # whole trip: off-road legs + roads + ferries (with their waiting time)
    drive_s: float | None  # on the road network only
    distance_m: float | None  # along roads and ferries
    snap_m: float | None  # from the unit to the road node it starts from
    incident_snap_m: float | None  # from the incident to its road node (for this unit's vehicle profile)
    straight_m: float | None  # as the crow flies
    ferries: tuple[str, ...] = ()
    reason: str | None = None  # why not offered (REASONS); None when offered
    explanation: str = ""
    params: dict[str, float | str] = field(default_factory=dict, compare=False)


def _valid_point(lat: float | None, lon: float | None) -> bool:
    return (lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon)
            and -90 <= lat <= 90 and -180 <= lon <= 180)


@dataclass
class _Row:
    """One candidate unit while it is being ranked: what is known of it so far, and why it is not offered."""

    cand: Candidate
    reason: str | None = None
    params: dict[str, float | str] = field(default_factory=dict)
    straight_m: float | None = None
    incident_snap_m: float | None = None
    snap_m: float | None = None
    drive_s: float | None = None
    distance_m: float | None = None
    eta_s: float | None = None  # set only when the unit can be routed: the ranking key
    profile: str | None = None
    reach: Any = None
    exit: int = -1
    n_ferries: int = 0
    rank: int | None = None
    offered: bool = False

    @property
    def straight_or_inf(self) -> float:
        return self.straight_m if self.straight_m is not None else math.inf


def recommend(router: Router | None, lat: float, lon: float, candidates: Sequence[Candidate],
              limit: int | None = 5, *, language: str = "id", max_snap_m: float | None = None) -> list[Recommendation]:
    """Rank candidate units by travel time to (lat, lon).

    Returns the `limit` fastest reachable units (offered=True, by rank); then up to `limit` units not
    offered although closer in a straight line than the fastest one (reason "slower_by_road": across
    water, a ferry, a detour); then every unit that cannot be routed, with its reason. limit=None
    offers every reachable unit."""
    if not _valid_point(lat, 0.0):
        raise invalid("lat", "latitude must be a number between -90 and 90", "out_of_range")
    if not _valid_point(0.0, lon):
        raise invalid("lon", "longitude must be a number between -180 and 180", "out_of_range")
    if max_snap_m is not None:
        max_snap = max_snap_m
    else:
        max_snap = router.max_snap_m if router is not None else MAX_SNAP_M
    words = _words(language)
    results: list[_Row] = []
    by_profile: dict[str, list[int]] = {}
    for i, cand in enumerate(candidates):
        row = _Row(cand)
        results.append(row)
        if _valid_point(cand.lat, cand.lon):
            row.straight_m = float(haversine_m(lat, lon, cand.lat, cand.lon))
        if router is None:
            row.reason = "no_road_network"
        elif not _valid_point(cand.lat, cand.lon):
            row.reason = "no_position"
        elif (profile := router.profile_of(cand.vehicle_type)) is None:
            row.reason = "unknown_vehicle_type"
            row.params["type"] = cand.vehicle_type
        else:
            by_profile.setdefault(profile, []).append(i)
    assert router is not None or not by_profile
    for profile, members in by_profile.items():
        assert router is not None
        target_nodes, target_snap = router.snap(profile, lat, lon)
        target, t_snap = int(target_nodes[0]), float(target_snap[0])
        rows = [results[i] for i in members]
        for row in rows:
            row.incident_snap_m = t_snap if math.isfinite(t_snap) else None
        if not t_snap <= max_snap:
            for row in rows:
                row.reason = "incident_off_road"
                row.params["snap"] = t_snap
            continue
        nodes, snaps = router.snap(profile, [r.cand.lat for r in rows], [r.cand.lon for r in rows])
        secs, metres, ferries, exits, reach = router.from_nodes(profile, target, nodes)
        for j, row in enumerate(rows):
            row.snap_m = float(snaps[j])
            if not snaps[j] <= max_snap:
                row.reason = "unit_off_road"
                row.params["snap"] = float(snaps[j])
                continue
            if not math.isfinite(secs[j]):
                row.reason = "no_route"
                continue
            row.drive_s = float(secs[j])
            row.distance_m = float(metres[j])
            row.eta_s = float(secs[j]) + (float(snaps[j]) + t_snap) / router.offroad_mps
            row.profile, row.reach, row.exit, row.n_ferries = profile, reach, int(exits[j]), int(ferries[j])
    reachable = sorted((r for r in results if r.eta_s is not None), key=lambda r: (r.eta_s, r.cand.callsign))
    offered_n = len(reachable) if limit is None else max(0, limit)
    for rank, row in enumerate(reachable, start=1):
        row.rank = rank
        row.offered = rank <= offered_n
    offered = reachable[:offered_n]
    # Why a closer unit was not offered: the ones nearer in a straight line than the fastest unit.
    nearest = offered[0].straight_m if offered and offered[0].straight_m is not None else -1.0
    slower = sorted((r for r in reachable[offered_n:] if r.straight_or_inf < nearest),
                    key=lambda r: r.straight_or_inf)[:max(offered_n, 1)]
    for row in slower:
        row.reason = "slower_by_road"
    unreachable = sorted((r for r in results if r.eta_s is None), key=lambda r: (r.straight_or_inf, r.cand.callsign))
    out: list[Recommendation] = []
    for row in offered + slower + unreachable:
        names: tuple[str, ...] = ()
        if row.eta_s is not None and row.n_ferries > 0 and router is not None and row.profile is not None:
            names = tuple(router.ferry_names(row.profile, row.reach, row.exit))
        cand = row.cand
        rec = Recommendation(
            unit_id=cand.unit_id, callsign=cand.callsign, vehicle_type=cand.vehicle_type,
            offered=row.offered, reachable=row.eta_s is not None, rank=row.rank,
            eta_s=row.eta_s, drive_s=row.drive_s, distance_m=row.distance_m,
            snap_m=row.snap_m, incident_snap_m=row.incident_snap_m, straight_m=row.straight_m,
            ferries=names, reason=row.reason, params=row.params,
            explanation=_explain(row, names, words, max_snap, offered[0].cand.callsign if offered else ""))
        out.append(rec)
    return out


# ------------------------------------------------------------------------------------- explanations

def _words(language: str) -> dict[str, str]:
    """The explanations' words (the catalogue's `route.*`) in one language."""
    return namespace("route", language)


def format_duration(seconds: float, words: dict[str, str]) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return words["min"].format(m=minutes)
    return words["h"].format(h=minutes // 60, m=minutes % 60)


def format_distance(metres: float, words: dict[str, str]) -> str:
    if metres < 50:
        return words["m"].format(v="< 50")
    if metres < 1000:
        return words["m"].format(v=int(round(metres, -1)))
    return words["km"].format(v=f"{metres / 1000:.1f}".replace(".", words["dec"]))


def _explain(row: _Row, ferries: tuple[str, ...], words: dict[str, str], max_snap: float, best: str) -> str:
    reason = row.reason
    if reason is None or reason == "slower_by_road":
        text = words[reason or "offered"].format(
            eta=format_duration(row.eta_s or 0.0, words), dist=format_distance(row.distance_m or 0.0, words),
            straight=format_distance(row.straight_m or 0.0, words), best=best)
        if ferries:
            text += words["ferry"].format(names=", ".join(dict.fromkeys(ferries)))
        if reason is None and (row.snap_m or 0.0) >= 500:
            text += words["offroad"].format(snap=format_distance(row.snap_m or 0.0, words))
        return text
    params = dict(row.params)
    if "snap" in params:
        params["snap"] = format_distance(float(params["snap"]), words)
    return words[reason].format(limit=format_distance(max_snap, words), **params)
