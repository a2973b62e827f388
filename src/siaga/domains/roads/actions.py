"""The only writers of the road network: replace it whole (an import), or load the demo network."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import delete, insert, select

from siaga.core.context import Ctx
from siaga.domains.roads import schemas
from siaga.domains.roads.importer import ParsedNetwork, Progress, read_demo
from siaga.domains.roads.models import RoadEdge, RoadNetwork, RoadNode
from siaga.events.kinds import EventKind

DEMO_FILE = Path(__file__).parents[2] / "data" / "bengkalis" / "roads_demo.json"
CHUNK = 20_000


def replace_network(ctx: Ctx, parsed: ParsedNetwork, progress: Progress | None = None) -> schemas.NetworkOut:
    """Delete the stored network and write `parsed` in its place, in the caller's transaction: until
    it commits, everyone (and a router rebuilt meanwhile) sees the old network; if anything fails, the
    old network stays."""
    db, g = ctx.db, parsed.graph
    # DELETE, not TRUNCATE: PostgreSQL readers keep seeing the old rows until COMMIT instead of waiting.
    db.execute(delete(RoadEdge))
    db.execute(delete(RoadNode))
    db.execute(delete(RoadNetwork))
    n, m = g.node_count, g.edge_count
    lat, lon, osm = g.lat.tolist(), g.lon.tolist(), parsed.osm_node_id.tolist()
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        db.execute(insert(RoadNode), [
            {"id": i, "osm_id": osm[i] if osm[i] >= 0 else None, "lat": lat[i], "lon": lon[i]}
            for i in range(start, stop)])
        if progress:
            progress("nodes", stop, n)
    src, dst, length = g.src.tolist(), g.dst.tolist(), g.length_m.tolist()
    ferry, way = g.ferry.tolist(), parsed.osm_way_id.tolist()
    speed = [None if s != s else s for s in g.ferry_speed_kmh.tolist()]  # NaN → NULL
    wait = [None if w != w else w for w in g.ferry_wait_min.tolist()]
    for start in range(0, m, CHUNK):
        stop = min(m, start + CHUNK)
        db.execute(insert(RoadEdge), [
            {"id": k, "from_node": src[k], "to_node": dst[k], "length_m": length[k],
             "road_class": str(g.road_class[k]), "name": g.name[k] if len(g.name) else "",
             "osm_way_id": way[k] if way[k] >= 0 else None, "ferry": ferry[k],
             "ferry_speed_kmh": speed[k] if ferry[k] else None, "ferry_wait_min": wait[k] if ferry[k] else None}
            for k in range(start, stop)])
        if progress:
            progress("edges", stop, m)
    min_lat, min_lon, max_lat, max_lon = parsed.bbox
    network = RoadNetwork(token=uuid.uuid4().hex, source=parsed.source, imported_at=ctx.now(), node_count=n,
                          edge_count=m, min_lat=min_lat, min_lon=min_lon, max_lat=max_lat, max_lon=max_lon,
                          is_demo=parsed.is_demo, note=parsed.note)
    db.add(network)
    db.flush()
    out = schemas.NetworkOut.model_validate(network)
    data = out.model_dump(mode="json", exclude={"imported_at"})
    ctx.audit("roads.import", "road_network", network.id, data)
    ctx.emit(EventKind.ROADS_NETWORK_REPLACED, "road_network", network.id, out.model_dump(mode="json"))
    return out


def load_demo_network(ctx: Ctx, path: Path = DEMO_FILE) -> schemas.NetworkOut | None:
    """The demo network for Bengkalis, only into a database that has no network yet."""
    if ctx.db.scalar(select(RoadNetwork.id).limit(1)) is not None:
        return None
    return replace_network(ctx, read_demo(path))
