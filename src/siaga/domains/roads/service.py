"""Reads: the stored network, and the Router built from it — cached per database and rebuilt when the
network's token changes (an import in any process), so every app process follows the same network."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siaga.db.engine import open_session
from siaga.domains.roads.models import RoadEdge, RoadNetwork, RoadNode
from siaga.domains.roads.router import Candidate, Recommendation, RoadGraph, Router, recommend

_routers: dict[str, Router] = {}  # per database URL; a process normally serves one database
_lock = threading.Lock()
_MAX_CACHED = 4


def current_network(db: Session) -> RoadNetwork | None:
    return db.scalar(select(RoadNetwork).order_by(RoadNetwork.id.desc()).limit(1))


def load_graph(db: Session) -> RoadGraph:
    """The stored network as arrays (node ids need not be dense: edges are mapped onto positions)."""
    nodes = db.execute(select(RoadNode.id, RoadNode.lat, RoadNode.lon).order_by(RoadNode.id)).all()
    edges = db.execute(select(RoadEdge.from_node, RoadEdge.to_node, RoadEdge.length_m, RoadEdge.road_class,
                              RoadEdge.ferry, RoadEdge.ferry_speed_kmh, RoadEdge.ferry_wait_min, RoadEdge.name)
                       .order_by(RoadEdge.id)).all()
    ids = np.fromiter((r[0] for r in nodes), dtype=np.int64, count=len(nodes))
    cols: list[Any] = list(zip(*edges, strict=True)) if edges else [()] * 8
    src = np.searchsorted(ids, np.asarray(cols[0], dtype=np.int64))
    dst = np.searchsorted(ids, np.asarray(cols[1], dtype=np.int64))
    return RoadGraph.build(
        lat=[r[1] for r in nodes], lon=[r[2] for r in nodes], src=src, dst=dst, length_m=cols[2],
        road_class=cols[3], ferry=cols[4], ferry_speed_kmh=cols[5], ferry_wait_min=cols[6], name=cols[7],
        node_ids=ids)


def get_router(db: Session) -> Router | None:
    """The Router for this database's current network (None: no network stored). One cheap query when
    the cached router is current; a rebuild (seconds for a province) when the network changed."""
    token = db.scalar(select(RoadNetwork.token).order_by(RoadNetwork.id.desc()).limit(1))
    if token is None:
        return None
    key = db.get_bind().url.render_as_string(hide_password=True)
    router = _routers.get(key)
    if router is not None and router.token == token:
        return router
    with _lock:
        router = _routers.get(key)
        if router is None or router.token != token:
            router = Router(load_graph(db), token=token)
            _routers.pop(key, None)
            while len(_routers) >= _MAX_CACHED:
                _routers.pop(next(iter(_routers)))
            _routers[key] = router
    return router


def warm(engine: Engine) -> Router | None:
    """Build the router before the first recommendation needs it: call at start (in a worker thread,
    e.g. `await asyncio.to_thread(service.warm, engine)` in the app's lifespan)."""
    with open_session(engine, write=False) as db:
        return get_router(db)


class UnitLike(Protocol):
    id: int
    callsign: str
    type: str
    lat: float | None
    lon: float | None


def candidates_of(units: Iterable[UnitLike]) -> list[Candidate]:
    """Candidates from unit rows (units.models.Unit): their last known position and type."""
    return [Candidate(unit_id=u.id, callsign=u.callsign, vehicle_type=u.type, lat=u.lat, lon=u.lon) for u in units]


def recommend_units(db: Session, lat: float, lon: float, candidates: Sequence[Candidate], limit: int | None = 5, *,
                    language: str = "id", max_snap_m: float | None = None) -> list[Recommendation]:
    """router.recommend on this database's network; without a network every unit says so."""
    return recommend(get_router(db), lat, lon, candidates, limit, language=language, max_snap_m=max_snap_m)
