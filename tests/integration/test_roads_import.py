"""The road network through the database, on SQLite and PostgreSQL: import a real OSM extract, route on
what was stored (equal to networkx), refuse broken files leaving the stored network as it was, the
demo network in a new database, and recommendations for the seeded units."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sqlalchemy import func, select

from siaga.core.audit import AuditEntry
from siaga.domains.roads import actions, service
from siaga.domains.roads.importer import read_osm
from siaga.domains.roads.models import RoadEdge, RoadNetwork, RoadNode
from siaga.domains.units.models import Unit
from tests import cli
from tests.cli import Ran
from tests.unit.test_roads_router import HELSINKI, assert_same_times


def counts(engine):
    from siaga.db.engine import unit_of_work

    with unit_of_work(engine, write=False) as db:
        net = db.scalar(select(RoadNetwork))
        return (net.token if net else None, net.source if net else None,
                db.scalar(select(func.count()).select_from(RoadNode)),
                db.scalar(select(func.count()).select_from(RoadEdge)))


def test_new_database_has_the_demo_network(ctx_factory):
    with ctx_factory("admin") as ctx:
        net = service.current_network(ctx.db)
        assert net is not None and net.is_demo and "APPROXIMATE" in net.note
        assert net.node_count == ctx.db.scalar(select(func.count()).select_from(RoadNode))
        # loading again changes nothing
        assert actions.load_demo_network(ctx) is None


def test_seeded_units_get_recommendations(ctx_factory, engine):
    warmed = service.warm(engine)
    assert warmed is not None and warmed.n > 500
    with ctx_factory("disp") as ctx:
        assert service.get_router(ctx.db) is warmed
        units = list(ctx.db.scalars(select(Unit).where(Unit.type == "ambulance")))
        recs = service.recommend_units(ctx.db, 1.3340, 102.1620, service.candidates_of(units), limit=2,
                                       language="en")
    assert recs[0].callsign == "AMB-BBT-01" and recs[0].offered
    assert all(r.reachable for r in recs)


def test_import_real_extract_then_route_on_what_was_stored(ctx_factory, engine):
    parsed = read_osm(HELSINKI)
    with ctx_factory("admin") as ctx:
        out = actions.replace_network(ctx, parsed)
    assert out.node_count == parsed.graph.node_count and not out.is_demo
    with ctx_factory("admin") as ctx:
        router = service.get_router(ctx.db)
        assert router is not None and router.token == ctx.db.scalar(select(RoadNetwork.token))
        assert service.get_router(ctx.db) is router  # cached
        stored = service.load_graph(ctx.db)
        audit = ctx.db.scalar(select(AuditEntry).where(AuditEntry.action == "roads.import")
                              .order_by(AuditEntry.seq.desc()).limit(1))
        assert audit is not None
    assert router.n == parsed.graph.node_count
    np.testing.assert_allclose(stored.length_m, parsed.graph.length_m)
    rng = random.Random(4)
    targets = rng.sample(router.profiles["car"].usable_nodes.tolist(), 15)
    assert_same_times(router, parsed.graph, "car", targets)  # the oracle on the arrays read from the file
    # the demo network is gone; recommending in Bengkalis now says the units are off this network
    with ctx_factory("disp") as ctx:
        units = list(ctx.db.scalars(select(Unit).where(Unit.type == "ambulance")))
        recs = service.recommend_units(ctx.db, 1.3340, 102.1620, service.candidates_of(units))
    assert {r.reason for r in recs} == {"incident_off_road"}
    # Helsinki: two ambulances ranked by time
    with ctx_factory("disp") as ctx:
        from siaga.domains.roads.router import Candidate

        recs = service.recommend_units(ctx.db, 60.170, 24.945, [Candidate(1, "A", "ambulance", 60.168, 24.940),
                                                                  Candidate(2, "B", "ambulance", 60.176, 24.950)])
    assert [r.rank for r in recs] == [1, 2] and all(r.eta_s > 0 for r in recs)


def siaga(url: str, *args: str) -> Ran:
    return cli.siaga(url, *args)


def test_cli_import_refuses_broken_files_and_keeps_the_network(db_url, engine, tmp_path):
    before = counts(engine)
    assert before[1].startswith("siaga-demo")
    truncated = tmp_path / "cut.osm.pbf"
    truncated.write_bytes(HELSINKI.read_bytes()[: HELSINKI.stat().st_size // 2])
    text = tmp_path / "readme.osm.pbf"
    text.write_text("not OpenStreetMap\n" * 100)
    for path in (truncated, text):
        r = siaga(db_url, "roads", "import", str(path))
        assert r.returncode == 1, r.stdout + r.stderr
        assert "unchanged" in r.stderr and "Traceback" not in r.stderr
        assert counts(engine) == before
    r = siaga(db_url, "roads", "import", str(HELSINKI), "--bbox", "nonsense")
    assert r.returncode == 1 and "--bbox" in r.stderr
    r = siaga(db_url, "roads", "import", str(HELSINKI), "--bbox", "24.93,60.16,24.96,60.18")
    assert r.returncode == 0, r.stderr
    assert "Road network imported" in r.stdout
    after = counts(engine)
    assert after[0] != before[0] and after[1] == "osm:Helsinki.osm.pbf" and after[2] > 1000
    info = siaga(db_url, "roads", "info")
    assert info.returncode == 0 and "osm:Helsinki.osm.pbf" in info.stdout


def test_cli_recommend_on_the_demo_network(db_url):
    r = siaga(db_url, "roads", "recommend", "1.4652", "102.1070", "--type", "pumper", "--limit", "2")
    assert r.returncode == 0, r.stderr
    assert "DMK-BKS-01" in r.stdout


@pytest.mark.parametrize("phase", ["edges"])
def test_a_failure_while_writing_rolls_back_to_the_old_network(ctx_factory, engine, phase):
    before = counts(engine)
    parsed = read_osm(HELSINKI)

    def explode(p: str, done: int, total: int | None) -> None:
        if p == phase:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError), ctx_factory("admin") as ctx:
        actions.replace_network(ctx, parsed, progress=explode)
    assert counts(engine) == before
