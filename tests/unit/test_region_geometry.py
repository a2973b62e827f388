"""Reading boundary files: kode wilayah from the property names official exports use, BPS codes refused,
every kind of broken or hostile geometry refused with a message naming the feature, overlapping shells
merged, label points deep inside their polygon; and the reverse geocoder on small made-up polygons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.domains.regions import geometry
from siaga.domains.regions.geocode import Geocoder, LandmarkPoint, RegionName
from siaga.domains.regions.geometry import (
    BoundaryFileError,
    label_point,
    normalise_kode,
    parse_boundaries,
    read_boundary_file,
)


def square(lon: float, lat: float, size: float = 0.01) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]


def feature(props: dict, coords=None, kind: str = "Polygon") -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": kind, "coordinates": coords if coords is not None else square(102.0, 1.4)}}


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.mark.parametrize("raw, expected", [
    ("14.03.01.2001", "14.03.01.2001"), ("1403012001", "14.03.01.2001"), (1403012001, "14.03.01.2001"),
    (" 140301 ", "14.03.01"), ("1403", "14.03"), ("14", "14"), (1403012001.0, "14.03.01.2001"),
    ("14.03.01.1003", "14.03.01.1003"),
    # BPS desa code (kecamatan 010, desa 001): in Kemendagri form its desa part would start with 0
    ("1403010001", None), ("14.03.01.0001", None), ("14.00", None), ("1403.5", None), ("", None), (None, None),
    (True, None), ("14.3.1", None), ("abcd", None), (1403012001.5, None),
])
def test_kode_normalised_from_the_forms_files_use(raw, expected):
    assert normalise_kode(raw) == expected


def test_levels_follow_the_kode():
    assert [geometry.level_of(k) for k in ("14", "14.03", "14.72", "14.03.01", "14.03.01.1001", "14.03.01.2004")] \
        == ["provinsi", "kabupaten", "kota", "kecamatan", "kelurahan", "desa"]


@pytest.mark.parametrize("props", [
    {"KDEPUM": "14.03.01.2004", "WADMKD": "Kelapapati"}, {"kode_desa": 1403012004, "nama_desa": "Kelapapati"},
    {"kd_desa": "1403012004", "NAMOBJ": "Kelapapati"}, {"KODE": "14.03.01.2004", "NAMA": "Kelapapati"},
    # a BIG desa layer carries the kecamatan and province codes as well: the most specific wins
    {"KDPPUM": "14", "KDCPUM": "14.03.01", "KDEPUM": "14.03.01.2004", "WADMKD": "Kelapapati"},
])
def test_shapefile_export_property_names(props):
    parsed = parse_boundaries(collection(feature(props)), "x.geojson")
    b = parsed.boundaries[0]
    assert (b.kode, b.name, b.level) == ("14.03.01.2004", "Kelapapati", "desa")


def test_bps_code_is_refused_with_a_hint():
    with pytest.raises(BoundaryFileError, match="BPS code"):
        parse_boundaries(collection(feature({"KDBBPS": "1403010001", "WADMKD": "X"})), "bps.geojson")


@pytest.mark.parametrize("data, message", [
    ([], "not a GeoJSON FeatureCollection"),
    ({"type": "FeatureCollection", "features": []}, "no features"),
    (collection({"type": "Feature", "properties": {"kode": "14.03"}}), "has no geometry"),
    (collection(feature({"nama": "no code"})), "no kode wilayah property"),
    (collection(feature({"kode": "14.03.01.2001"}, [102.0, 1.4], "Point")), "'Point'"),
    (collection(feature({"kode": "14.03.01.2001"}, [[[102.0, 1.4], [102.1, 1.4]]], "LineString")), "'LineString'"),
    (collection(feature({"kode": "14.03.01.2001"}, [[[102.0, 1.4], [102.1, 1.4], [102.1, 1.5], [102.0, 1.5]]])),
     "not closed"),
    (collection(feature({"kode": "14.03.01.2001"}, [[[102.0, 1.4], [102.1, 1.4], [102.0, 1.4]]])), "at least 4"),
    (collection(feature({"kode": "14.03.01.2001"}, [[[102.0, 1.4], ["a", 1.4], [102.1, 1.5], [102.0, 1.4]]])),
     "not \\[lon, lat\\] numbers"),
    (collection(feature({"kode": "14.03.01.2001"}, [[[102.0, 1.4], [float("nan"), 1.4], [102.1, 1.5],
                                                      [102.0, 1.4]]])), "not \\[lon, lat\\] numbers"),
    # a bow-tie: the ring crosses itself
    (collection(feature({"kode": "14.03.01.2001"}, [[[102.0, 1.4], [102.1, 1.5], [102.1, 1.4], [102.0, 1.5],
                                                      [102.0, 1.4]]])), "invalid \\(Self-intersection"),
    (collection(feature({"kode": "14.03.01.2001"}, [[[102.0, 1.4], [102.1, 1.4], [102.2, 1.4], [102.0, 1.4]]])),
     "invalid|no area"),
    # [lat, lon] order, and projected metres (UTM 47N)
    (collection(feature({"kode": "14.03.01.2001"}, square(1.4, 102.0))), "not\\s+WGS 84 \\[lon, lat\\]"),
    (collection(feature({"kode": "14.03.01.2001"}, square(790000.0, 160000.0, 900.0))), "projected metres"),
    (collection(feature({"kode": "14.03.01.2001"}), feature({"kode": "1403012001"})), "appears twice"),
    (collection(feature({"kode": "14.03.01.2001", "level": "kecamatan"})), "does not match the kode"),
])
def test_broken_files_are_refused_naming_what_is_wrong(data, message):
    with pytest.raises(BoundaryFileError, match=message):
        parse_boundaries(data, "broken.geojson")


def test_overlapping_shells_are_merged_and_said_so():
    outer, inner = square(102.0, 1.4, 0.1), square(102.02, 1.42, 0.01)  # an islet listed inside the main shell
    parsed = parse_boundaries(collection(feature({"kode": "14.03.02"}, [outer, inner], "MultiPolygon")), "k")
    b = parsed.boundaries[0]
    assert b.geometry.is_valid and b.geometry.area == pytest.approx(0.01)
    assert "overlapping parts merged" in b.repaired and parsed.notes == [f"14.03.02: {b.repaired}"]


def test_file_level_refusals(tmp_path: Path, monkeypatch):
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(BoundaryFileError, match="not valid JSON"):
        read_boundary_file(bad)
    deep = tmp_path / "deep.geojson"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BoundaryFileError, match="nested too deeply|not a GeoJSON"):
        read_boundary_file(deep)
    binary = tmp_path / "kel.shp"
    binary.write_bytes(b"\x00\x00'\n\xff\xfe\x00" * 100)
    with pytest.raises(BoundaryFileError, match="not UTF-8|not valid JSON"):
        read_boundary_file(binary)
    with pytest.raises(BoundaryFileError, match="cannot read"):
        read_boundary_file(tmp_path / "missing.geojson")
    huge = tmp_path / "huge.geojson"
    with huge.open("wb") as f:  # sparse: refused from its size, before a byte is read
        f.truncate(geometry.MAX_FILE_BYTES + 1)
    with pytest.raises(BoundaryFileError, match="MiB: at most"):
        read_boundary_file(huge)
    monkeypatch.setattr(geometry, "MAX_FEATURES", 2)
    with pytest.raises(BoundaryFileError, match="at most 2 in one file"):
        parse_boundaries(collection(*[feature({"kode": f"14.03.01.20{i:02d}"}) for i in range(1, 4)]), "many")
    monkeypatch.setattr(geometry, "MAX_FEATURES", 10)
    monkeypatch.setattr(geometry, "MAX_VERTICES", 12)
    with pytest.raises(BoundaryFileError, match="vertices"):
        parse_boundaries(collection(*[feature({"kode": f"14.03.01.20{i:02d}"}) for i in range(1, 4)]), "many")


def test_label_point_is_inside_the_largest_part_even_for_a_c_shape():
    # A C shape: its centroid lies in the notch, outside the polygon; a small island beside it.
    c_shape = shapely.Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 2), (3, 2), (3, 3), (0, 3), (0, 0)])
    island = shapely.box(5, 5, 5.5, 5.5)
    geom = shapely.MultiPolygon([c_shape, island])
    assert not geom.contains(geom.centroid)
    lat, lon = label_point(geom)
    assert c_shape.contains(shapely.Point(lon, lat))
    assert c_shape.boundary.distance(shapely.Point(lon, lat)) > 0.4  # deep inside, not on an edge
    within = shapely.box(0, 0, 0.9, 3)  # e.g. the union of its desa: the point must be in both
    lat, lon = label_point(geom, within=within)
    assert within.contains(shapely.Point(lon, lat)) and c_shape.contains(shapely.Point(lon, lat))


# The geocoder on two made-up desa that overlap in a sliver, in two kecamatan.
DESA = {"14.03.01.2001": shapely.box(102.0, 1.0, 102.1, 1.1), "14.03.02.2001": shapely.box(102.099, 1.0, 102.2, 1.1)}
REGIONS = {k: RegionName(k, n, lv) for k, n, lv in [
    ("14.03", "Kabupaten Contoh", "kabupaten"), ("14.03.01", "Satu", "kecamatan"), ("14.03.02", "Dua", "kecamatan"),
    ("14.03.01.2001", "Desa Barat", "desa"), ("14.03.02.2001", "Desa Timur", "desa")]}
LANDMARKS = [LandmarkPoint(1, "Masjid", "mosque", "14.03.01.2001", 1.05, 102.05),
             LandmarkPoint(2, "Pasar", "market", "14.03.02.2001", 1.05, 102.15)]


@pytest.fixture(scope="module")
def geocoder() -> Geocoder:
    return Geocoder([(k, geometry.geometry_text(g)) for k, g in DESA.items()], REGIONS, LANDMARKS)


def test_geocoder_names_desa_kecamatan_kabupaten_and_the_nearest_patokan(geocoder):
    place = geocoder.locate(1.05, 102.06)
    assert place.status == "desa" and place.desa.name == "Desa Barat"
    assert (place.kecamatan.kode, place.kabupaten.kode) == ("14.03.01", "14.03")
    assert place.landmark.name == "Masjid" and place.landmark_m == pytest.approx(1113, rel=0.01)
    east = geocoder.locate(1.05, 102.16)
    assert east.desa.name == "Desa Timur" and east.kecamatan.name == "Dua" and east.landmark.name == "Pasar"


def test_geocoder_in_the_sliver_takes_the_desa_the_point_is_deeper_in(geocoder):
    # the sliver is lon 102.099..102.100: at 102.0992 the point is 0.0008° inside Barat, 0.0002° inside Timur
    assert geocoder.desa_at(1.05, 102.0992) == "14.03.01.2001"
    assert geocoder.desa_at(1.05, 102.0998) == "14.03.02.2001"


def test_geocoder_offshore_and_far_away(geocoder):
    boat = geocoder.locate(1.15, 102.05)  # 0.05° north of both: ~5.6 km offshore
    assert boat.status == "near" and boat.desa is None and boat.nearest_desa.kode == "14.03.01.2001"
    assert boat.nearest_desa_m == pytest.approx(5560, rel=0.01)
    far = geocoder.locate(3.0, 102.05)
    assert far.status == "outside" and far.nearest_desa is not None and far.nearest_desa_m > 200_000
    empty = Geocoder([], REGIONS, [])
    assert empty.locate(1.05, 102.05).status == "no_boundaries"


@settings(max_examples=200, deadline=None)
@given(st.floats(102.0, 102.2), st.floats(1.0, 1.1))
def test_geocoder_agrees_with_point_in_polygon(lon, lat):
    inside = [k for k, g in DESA.items() if g.covers(shapely.Point(lon, lat))]
    found = Geocoder.desa_at(_GEOCODER, lat, lon)
    assert (found in inside) if inside else found is None


_GEOCODER = Geocoder([(k, geometry.geometry_text(g)) for k, g in DESA.items()], REGIONS, LANDMARKS)


def test_geojson_text_round_trips():
    g = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])
    assert geometry.load_geometry(geometry.geometry_text(g)).equals(g)
    assert json.loads(geometry.geometry_text(g))["type"] == "MultiPolygon"
