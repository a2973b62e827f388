"""Region boundaries through the database, on SQLite and PostgreSQL: the seeded gazetteer carries the
shipped outlines and passes `siaga regions check`, which fails naming a patokan moved into the sea or a desa
point moved out of its desa; `siaga regions import` round-trips an official-style export (KDEPUM codes) and
refuses broken, hostile or mismatched files changing nothing; GET /regions/at answers for a desa, the sea
and far away, and follows an import and a new patokan."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from siaga.core.audit import AuditEntry
from siaga.data.load import BENGKALIS
from siaga.db.engine import unit_of_work
from siaga.domains.regions import actions, service
from siaga.domains.regions.geometry import load_geometry, read_boundary_file
from siaga.domains.regions.models import BoundaryImport, Landmark, Region
from tests import cli
from tests.cli import Ran

SHIPPED = BENGKALIS / "boundaries.geojson"
PEDEKIK = "14.03.01.2005"  # a desa of kecamatan Bengkalis, on Pulau Bengkalis
SEA = (1.44, 102.10)  # Selat Bengkalis, between the island and the mainland (~3 km off the town)


@pytest.fixture(autouse=True)
def geocoder_asks_every_time(monkeypatch):
    # In production a process re-checks its geocoder at most once a second; these tests change the
    # boundaries and read them back at once (and PostgreSQL tests share one database URL).
    monkeypatch.setattr(service, "KEY_TTL_S", 0.0)


def siaga(url: str, *args: str) -> Ran:
    return cli.siaga(url, *args)


def snapshot(engine) -> str:
    """A digest of everything an import may write: the regions and the import rows."""
    with unit_of_work(engine, write=False) as db:
        rows = db.execute(select(Region.kode, Region.name, Region.lat, Region.lon, Region.boundary,
                                 Region.boundary_source).order_by(Region.kode)).all()
        imports = db.scalar(select(func.count()).select_from(BoundaryImport))
    return hashlib.sha256(repr((rows, imports)).encode()).hexdigest()


def shipped_features() -> list[dict]:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))["features"]


def official_export(tmp_path: Path, kodes: set[str], transform=None) -> Path:
    """What a BIG/Dukcapil shapefile converted with ogr2ogr looks like: KDEPUM without dots, WADMKD names."""
    features = []
    for f in shipped_features():
        if f["properties"]["kode"] in kodes:
            props = {"KDEPUM": f["properties"]["kode"].replace(".", ""), "WADMKD": f["properties"]["nama"].upper(),
                     "KDPPUM": "14", "LUASWH": 1.0}
            features.append({"type": "Feature", "properties": props, "geometry": f["geometry"]})
    if transform:
        transform(features)
    path = tmp_path / "desa_export.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_seeded_gazetteer_has_the_official_outlines_and_points_inside(engine):
    with unit_of_work(engine, write=False) as db:
        desa = list(db.scalars(select(Region).where(Region.level.in_(("desa", "kelurahan")))))
        assert len(desa) == 155 and all(r.boundary for r in desa)
        for r in desa:
            assert load_geometry(r.boundary).contains(load_geometry(json.dumps(
                {"type": "Point", "coordinates": [r.lon, r.lat]}))), r.kode
            assert r.min_lat <= r.lat <= r.max_lat and r.min_lon <= r.lon <= r.max_lon
        assert db.scalar(select(BoundaryImport.source)) == "boundaries.geojson"


def test_check_passes_on_the_shipped_data_then_names_a_patokan_moved_into_the_sea(db_url, engine):
    ok = siaga(db_url, "regions", "check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "155 desa/kelurahan (155 berpoligon)" in ok.stdout and "tidak ada masalah" in ok.stdout
    with unit_of_work(engine) as db:
        db.execute(update(Landmark).where(Landmark.name == "Pasar Terubuk Bengkalis").values(lat=SEA[0], lon=SEA[1]))
    bad = siaga(db_url, "regions", "check", "--language", "en")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "Pasar Terubuk Bengkalis" in bad.stdout and "off land" in bad.stdout
    assert "1 problem(s)" in bad.stderr


def test_check_names_a_desa_point_outside_its_desa_and_a_station_in_the_wrong_desa(db_url, engine):
    with unit_of_work(engine) as db:
        db.execute(update(Region).where(Region.kode == PEDEKIK).values(lat=1.47, lon=102.30))  # east of the island
        db.execute(update(Landmark).where(Landmark.name == "Pantai Teluk Rhu")
                   .values(kode_wilayah=PEDEKIK))  # a beach of Rupat Utara said to be in Pedekik
    r = siaga(db_url, "regions", "check")
    assert r.returncode == 1
    assert f"{PEDEKIK} Pedekik" in r.stdout and "di luar poligonnya sendiri" in r.stdout
    assert "Pantai Teluk Rhu" in r.stdout and "menyebut 14.03.01.2005" in r.stdout
    assert "2 masalah" in r.stderr


def test_check_names_a_desa_without_polygon_and_two_desa_claiming_the_same_ground(db_url, engine):
    with unit_of_work(engine) as db:
        kelapapati = db.get(Region, "14.03.01.2004")
        db.get(Region, "14.03.01.2010").boundary = db.get(Region, PEDEKIK).boundary  # Senggoro := Pedekik
        kelapapati.boundary = None
    r = siaga(db_url, "regions", "check", "--language", "en")
    assert r.returncode == 1
    assert "no_polygon 14.03.01.2004 Kelapapati: has no boundary polygon" in r.stdout
    assert "overlap Pedekik and Senggoro overlap by" in r.stdout
    assert "155 desa/kelurahan (154 with a polygon)" in r.stdout


def test_import_round_trip_of_an_official_export(db_url, engine, tmp_path):
    kodes = {PEDEKIK, "14.03.01.2004"}
    path = official_export(tmp_path, kodes)
    before = snapshot(engine)
    refused = siaga(db_url, "regions", "import", str(path))  # the seeded regions have outlines already
    assert refused.returncode == 1 and "--replace" in refused.stderr and "Traceback" not in refused.stderr
    assert snapshot(engine) == before

    # Replace Pedekik by a smaller outline (its western half): its point must follow into the new outline.
    def halve(features):
        for f in features:
            if f["properties"]["KDEPUM"] == PEDEKIK.replace(".", ""):
                geom = load_geometry(json.dumps(f["geometry"]))
                minx, miny, maxx, maxy = geom.bounds
                import shapely

                half = geom.intersection(shapely.box(minx, miny, (minx + maxx) / 2, maxy))
                f["geometry"] = json.loads(shapely.to_geojson(half))

    path = official_export(tmp_path, kodes, halve)
    r = siaga(db_url, "regions", "import", str(path), "--replace", "--source", "BIG 2025 export (test)")
    assert r.returncode == 0, r.stderr
    assert "2 wilayah/regions (0 baru/new)" in r.stdout
    with unit_of_work(engine, write=False) as db:
        pedekik = db.get(Region, PEDEKIK)
        geom = load_geometry(pedekik.boundary)
        assert pedekik.boundary_source == "BIG 2025 export (test)"
        assert geom.contains(load_geometry(json.dumps({"type": "Point", "coordinates": [pedekik.lon, pedekik.lat]})))
        assert pedekik.max_lon < (read_boundary_file(SHIPPED).boundaries[0].geometry.bounds[2])
        audit = db.scalar(select(AuditEntry).where(AuditEntry.action == "regions.boundaries_import")
                          .order_by(AuditEntry.seq.desc()))
        assert audit is not None and json.loads(audit.data)["regions"] == 2 and json.loads(audit.data)["replace"]
        # the kecamatan above was re-derived: still inside one of its desa
        kec = db.get(Region, "14.03.01")
        assert service.get_geocoder(db).desa_at(kec.lat, kec.lon).startswith("14.03.01.")
    assert siaga(db_url, "audit", "verify").returncode == 0


@pytest.mark.parametrize("case, message", [
    ("bad_json", "not valid JSON"),
    ("point", "geometry is 'Point'"),
    ("bowtie", "Self-intersection"),
    ("bps_codes", "BPS code"),
    ("renamed", "stored as 'Pedekik', the file says 'KAMPUNG LAIN'"),
    ("orphan", "parent 14.99.01 is neither stored nor in the file"),
    ("level", "does not match the kode"),
])
def test_import_refuses_hostile_or_mismatched_files_and_changes_nothing(db_url, engine, tmp_path, case, message):
    def mutate(features):
        last = features[-1]  # the LAST feature is bad: nothing before it may have been written either
        if case == "point":
            last["geometry"] = {"type": "Point", "coordinates": [102.0, 1.4]}
        elif case == "bowtie":
            last["geometry"] = {"type": "Polygon", "coordinates": [[[102.0, 1.4], [102.1, 1.5], [102.1, 1.42],
                                                                    [102.0, 1.5], [102.0, 1.4]]]}
        elif case == "bps_codes":
            last["properties"] = {"KDBBPS": "1403010005", "NAMA": "Pedekik"}
        elif case == "renamed":
            last["properties"]["WADMKD"] = "KAMPUNG LAIN"
        elif case == "orphan":
            last["properties"]["KDEPUM"] = "1499012001"
        elif case == "level":
            last["properties"]["level"] = "kecamatan"

    path = official_export(tmp_path, {"14.03.01.2004", PEDEKIK}, mutate)
    if case == "bad_json":
        path.write_text(path.read_text()[:-40])
    before = snapshot(engine)
    r = siaga(db_url, "regions", "import", str(path), "--replace")
    assert r.returncode == 1, r.stdout
    assert message in " ".join(r.stderr.split()) and "Traceback" not in r.stderr
    assert snapshot(engine) == before


def test_a_failure_while_writing_leaves_the_old_outlines(ctx_factory, engine):
    before = snapshot(engine)
    parsed = read_boundary_file(SHIPPED)

    def explode(done: int, total: int) -> None:
        if done > 100:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError), ctx_factory("admin") as ctx:
        actions.import_boundaries(ctx, parsed, replace=True, progress=explode)
    assert snapshot(engine) == before


def test_region_at_api(api, ctx_factory):
    with ctx_factory("admin") as ctx:
        pedekik = ctx.db.get(Region, PEDEKIK)
        lat, lon = pedekik.lat, pedekik.lon
    r = api("ct").get("/api/v1/regions/at", params={"lat": lat, "lon": lon})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "desa" and body["desa"] == {"kode": PEDEKIK, "name": "Pedekik", "level": "desa"}
    assert body["kecamatan"]["name"] == "Bengkalis" and body["kabupaten"]["kode"] == "14.03"
    assert body["nearest_landmark"]["distance_m"] > 0 and body["nearest_desa"] is None
    assert body["label"].startswith("Desa Pedekik, Kec. Bengkalis, Kabupaten Bengkalis · ")

    sea = api("disp").get("/api/v1/regions/at", params={"lat": SEA[0], "lon": SEA[1]},
                          headers={"Accept-Language": "en"}).json()
    assert sea["status"] == "near" and sea["desa"] is None and sea["kecamatan"] is None
    assert sea["nearest_desa"]["kode"].startswith("14.03.") and 0 < sea["nearest_desa"]["distance_m"] < 22_224
    assert sea["label"].startswith("In no desa (the sea, or a neighbouring regency)")

    far = api("damkar").get("/api/v1/regions/at", params={"lat": -6.2, "lon": 106.8}).json()  # Jakarta
    assert far["status"] == "outside" and far["desa"] is None and far["nearest_desa"]["distance_m"] > 500_000

    for params in ({"lat": 91, "lon": 102}, {"lat": "nan", "lon": 102}, {"lat": 1.4}, {"lat": "x", "lon": 1}):
        bad = api("ct").get("/api/v1/regions/at", params=params)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert api().get("/api/v1/regions/at", params={"lat": 1.4, "lon": 102}).status_code == 401


def test_a_point_in_a_neighbouring_regency_is_named_as_such(api):
    """The site ships its neighbours' outlines (the other kabupaten/kota of Riau): a caller in Kota Dumai,
    6.7 km from Bengkalis, is in Kota Dumai — not "in no desa" — and still within the area served."""
    r = api("ct").get("/api/v1/regions/at", params={"lat": 1.665, "lon": 101.447}).json()
    assert r["status"] == "neighbour" and r["desa"] is None
    assert r["kabupaten"] == {"kode": "14.72", "name": "Kota Dumai", "level": "kota"}
    assert r["nearest_desa"]["kode"].startswith("14.03.") and r["nearest_desa"]["distance_m"] < 22_224
    assert r["label"].startswith("Wilayah tetangga (Kota Dumai): ")
    far = api("ct").get("/api/v1/regions/at", params={"lat": 0.5, "lon": 101.45}).json()  # Pekanbaru, 90 km
    assert far["status"] == "outside" and far["kabupaten"]["name"] == "Kota Pekanbaru"
    sea = api("ct").get("/api/v1/regions/at", params={"lat": SEA[0], "lon": SEA[1]}).json()
    assert sea["status"] == "near" and sea["kabupaten"] is None  # the strait is nobody's regency


def test_geocoder_follows_imports_and_new_patokan(api, ctx_factory, engine):
    with ctx_factory("admin") as ctx:
        first = service.get_geocoder(ctx.db)
        assert service.get_geocoder(ctx.db) is first  # nothing changed: the same one, not rebuilt
        pedekik = ctx.db.get(Region, PEDEKIK)
        lat, lon = pedekik.lat, pedekik.lon
    created = api("admin").post("/api/v1/landmarks", json={"name": "Tugu Uji Pedekik", "kind": "other",
                                                          "kode_wilayah": PEDEKIK, "lat": lat, "lon": lon + 0.0001})
    assert created.status_code == 201, created.text
    near = api("ct").get("/api/v1/regions/at", params={"lat": lat, "lon": lon}).json()
    assert near["nearest_landmark"]["name"] == "Tugu Uji Pedekik" and near["nearest_landmark"]["distance_m"] < 15
    # An import moving Pedekik's outline away from that point: the next lookup sees the new outline.
    features = [f for f in shipped_features() if f["properties"]["kode"] == PEDEKIK]
    import shapely

    moved = shapely.affinity.translate(load_geometry(json.dumps(features[0]["geometry"])), yoff=0.5)
    features[0]["geometry"] = json.loads(shapely.to_geojson(moved))
    parsed = read_boundary_file_from(features)
    with ctx_factory("admin") as ctx:
        actions.import_boundaries(ctx, parsed, replace=True)
    after = api("ct").get("/api/v1/regions/at", params={"lat": lat, "lon": lon}).json()
    assert after["desa"] is None or after["desa"]["kode"] != PEDEKIK
    assert api("ct").get("/api/v1/regions/at", params={"lat": lat + 0.5, "lon": lon}).json()["desa"]["kode"] == PEDEKIK


def read_boundary_file_from(features: list[dict]):
    from siaga.domains.regions.geometry import parse_boundaries

    return parse_boundaries({"type": "FeatureCollection", "features": features}, "moved.geojson")


def test_the_consoles_basemap_is_drawn_from_the_official_outlines(api):
    """GET /map/outlines.geojson: the built-in map of any site from its boundaries in the database (no
    Bengkalis file): desa (land), kecamatan, the regency's outline, its neighbours; revalidated by ETag."""
    r = api().get("/map/outlines.geojson")  # public, like the other map assets
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    kinds: dict[str, int] = {}
    for f in r.json()["features"]:
        kinds[f["properties"]["kind"]] = kinds.get(f["properties"]["kind"], 0) + 1
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert kinds == {"desa": 155, "kecamatan": 11, "regency_boundary": 1, "neighbour": 11}
    again = api().get("/map/outlines.geojson", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
