"""The shipped gazetteer against the official boundaries in ../shared/conformance (read there, never copied
here as fixtures): the shipped outlines are upstream's polygons unchanged; every desa point lies in its own
desa; every kecamatan and the kabupaten point in its own outline and in one of its desa; every station and
patokan on land and inside the region it names; the reverse geocoder puts any point of a desa in that desa
(hypothesis), except in the overlap slivers upstream left; and upstream's files for other regencies read."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.ops import unary_union

from siaga.data.load import BENGKALIS
from siaga.domains.regions.geocode import Geocoder, RegionName
from siaga.domains.regions.geometry import BoundaryFileError, geometry_text, read_boundary_file

CONFORMANCE = Path(os.environ.get("SIAGA_CONFORMANCE_DIR", Path(__file__).parents[3] / "shared" / "conformance"))
REGIONS = CONFORMANCE / "indonesia_regions"


def upstream(name: str) -> dict[str, tuple[str, object]]:
    if not REGIONS.exists():
        pytest.fail(f"conformance corpus not found at {REGIONS}: set SIAGA_CONFORMANCE_DIR")
    data = json.loads((REGIONS / name).read_text(encoding="utf-8"))
    return {f["properties"]["kode"]: (f["properties"]["nama"], shapely.geometry.shape(f["geometry"]))
            for f in data["features"]}


@pytest.fixture(scope="module")
def desa() -> dict[str, object]:
    return {k: g for k, (_, g) in upstream("bengkalis_desa.geojson").items()}


@pytest.fixture(scope="module")
def kecamatan() -> dict[str, object]:
    return {k: shapely.make_valid(g) for k, (_, g) in upstream("bengkalis_kecamatan.geojson").items()}


@pytest.fixture(scope="module")
def tree(desa):
    kodes = list(desa)
    return kodes, shapely.STRtree([desa[k] for k in kodes])


def csv_rows(name: str) -> list[dict[str, str]]:
    with (BENGKALIS / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def holding(tree, lat: float, lon: float) -> list[str]:
    kodes, t = tree
    return [kodes[i] for i in t.query(shapely.Point(lon, lat), predicate="intersects")]


def test_shipped_outlines_are_upstreams_polygons_unchanged(desa, kecamatan):
    shipped = {f["properties"]["kode"]: f for f in
               json.loads((BENGKALIS / "boundaries.geojson").read_text(encoding="utf-8"))["features"]}
    assert {k for k in shipped if k.count(".") == 3} == set(desa) and len(desa) == 155
    assert {k for k in shipped if k.count(".") == 2} == set(kecamatan) and len(kecamatan) == 11
    kab = upstream("riau_kabupaten.geojson")["14.03"][1]
    for kode, geom in [*desa.items(), ("14.03", kab)]:
        assert shapely.geometry.shape(shipped[kode]["geometry"]).equals_exact(geom, 0), kode
    assert (BENGKALIS / "LICENSE-wilayah_boundaries-MIT.txt").read_text() == \
        (REGIONS / "cahyadsn-wilayah_boundaries_LICENSE_MIT.txt").read_text()


def test_every_desa_point_lies_in_its_own_desa_and_no_other(desa, tree):
    rows = [r for r in csv_rows("regions.csv") if r["level"] in ("desa", "kelurahan")]
    assert len(rows) == 155
    for r in rows:
        assert holding(tree, float(r["lat"]), float(r["lon"])) == [r["kode"]], (r["kode"], r["name"])


def test_kecamatan_and_kabupaten_points_lie_in_their_outline_and_in_one_of_their_desa(kecamatan, tree):
    kab = shapely.make_valid(upstream("riau_kabupaten.geojson")["14.03"][1])
    rows = {r["kode"]: r for r in csv_rows("regions.csv")}
    for kode in [*kecamatan, "14.03"]:
        r = rows[kode]
        lat, lon = float(r["lat"]), float(r["lon"])
        outline = kab if kode == "14.03" else kecamatan[kode]
        assert outline.contains(shapely.Point(lon, lat)), kode
        inside = holding(tree, lat, lon)
        assert len(inside) == 1 and inside[0].startswith(kode + "."), (kode, inside)


def test_stations_and_patokan_lie_on_land_inside_the_region_they_name(desa, tree):
    rows = csv_rows("landmarks.csv") + csv_rows("stations.csv")
    assert len(rows) == 49
    for r in rows:
        inside = holding(tree, float(r["lat"]), float(r["lon"]))
        assert len(inside) == 1, (r["name"], inside)  # on land, and not in an overlap sliver
        assert inside[0] == r["kode_wilayah"] or inside[0].startswith(r["kode_wilayah"] + "."), (r["name"], inside)


def test_the_demo_units_start_inside_their_stations_desa(tree):
    stations = {r["code"]: r for r in csv_rows("stations.csv")}
    for unit in csv_rows("units.csv"):
        st_row = stations[unit["station_code"]]
        assert holding(tree, float(st_row["lat"]), float(st_row["lon"])), unit["callsign"]


@pytest.fixture(scope="module")
def geocoder(desa) -> Geocoder:
    names = {k: RegionName(k, n, "desa") for k, (n, _) in upstream("bengkalis_desa.geojson").items()}
    return Geocoder([(k, geometry_text(g)) for k, g in desa.items()], names, [])


@pytest.fixture(scope="module")
def triangles(desa):
    """Every desa cut into triangles that lie inside it (constrained Delaunay), weighted by area below."""
    out = []
    for kode, geom in desa.items():
        for tri in shapely.constrained_delaunay_triangles(geom).geoms:
            if tri.area > 0:
                out.append((kode, tri))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_point_inside_a_desa_is_geocoded_to_that_desa(desa, geocoder, triangles, data):
    kode, tri = data.draw(st.sampled_from(triangles))
    # barycentric weights bounded away from 0: strictly inside the triangle, never on the desa's own edge
    w = [data.draw(st.floats(0.01, 1.0)) for _ in range(3)]
    (x0, y0), (x1, y1), (x2, y2) = list(tri.exterior.coords)[:3]
    lon = (w[0] * x0 + w[1] * x1 + w[2] * x2) / sum(w)
    lat = (w[0] * y0 + w[1] * y1 + w[2] * y2) / sum(w)
    point = shapely.Point(lon, lat)
    claimed = [k for k, g in desa.items() if g.covers(point)]
    found = geocoder.desa_at(lat, lon)
    if len(claimed) > 1:  # an overlap sliver between neighbours (documented): one of them
        assert found in claimed
    else:
        assert found == kode


def test_other_regencies_files_read_and_broken_outlines_are_named():
    for name, count in (("kepulauan_meranti_desa.geojson", 101), ("paser_desa.geojson", 144),
                        ("kepulauan_meranti_kecamatan.geojson", 9), ("paser_kecamatan.geojson", 10)):
        assert len(read_boundary_file(REGIONS / name).boundaries) == count, name
    kec = read_boundary_file(REGIONS / "bengkalis_kecamatan.geojson")
    assert sorted(n.split(":")[0] for n in kec.notes) == ["14.03.02", "14.03.10"]  # nested shells, merged
    # 14.06 has a ring that crosses itself: the whole file is refused, naming it.
    with pytest.raises(BoundaryFileError, match=r"\(14\.06\).*Self-intersection"):
        read_boundary_file(REGIONS / "riau_kabupaten.geojson")


def test_kecamatan_points_are_not_in_the_sea_between_desa(kecamatan, desa):
    # The kecamatan outlines are generalised: 1-5 % of each is in no desa (sea, or a neighbour's land).
    union = unary_union(list(desa.values()))
    for kode, outline in kecamatan.items():
        assert outline.difference(union).area > 0, kode


def test_a_second_regency_is_onboarded_from_upstreams_files(ctx_factory, tmp_path, monkeypatch):
    """Kepulauan Meranti (14.10): its kabupaten, kecamatan and desa outlines in one file (parents create
    their children's rows), imported beside Bengkalis; then a point of each regency is placed right. Its
    kabupaten outline was already there, a neighbour's (shipped with Bengkalis): --replace takes the file's."""
    from siaga.domains.regions import actions, service
    from siaga.domains.regions.geometry import read_boundary_file as read

    monkeypatch.setattr(service, "KEY_TTL_S", 0.0)  # read back at once what was just imported
    riau = json.loads((REGIONS / "riau_kabupaten.geojson").read_text(encoding="utf-8"))["features"]
    features = [f for f in riau if f["properties"]["kode"] == "14.10"]
    for name in ("kepulauan_meranti_kecamatan.geojson", "kepulauan_meranti_desa.geojson"):
        features += json.loads((REGIONS / name).read_text(encoding="utf-8"))["features"]
    path = tmp_path / "meranti.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    with ctx_factory("admin") as ctx:
        result = actions.import_boundaries(ctx, read(path), replace=True)
    assert (result.region_count, result.created_count) == (111, 110)
    with ctx_factory("admin") as ctx:
        meranti = service.locate(ctx.db, *_desa_point(ctx.db, "14.10."), "en")
        bengkalis = service.locate(ctx.db, *_desa_point(ctx.db, "14.03."), "en")
    assert meranti.desa.kode.startswith("14.10.") and meranti.kabupaten.kode == "14.10"
    assert bengkalis.kabupaten.kode == "14.03"


def _desa_point(db, prefix: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from siaga.domains.regions.models import Region

    region = db.scalar(select(Region).where(Region.kode.startswith(prefix), Region.level.in_(("desa", "kelurahan")))
                       .order_by(Region.kode).limit(1))
    return region.lat, region.lon
