"""The shipped regions.csv points are the label points the import derives from the shipped boundaries
(tools/regions/derive_points.py wrote them): loading the CSV and importing the outlines agree exactly, and
every shipped patokan and station passes the same checks tools/regions/fix_places.py applied."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import shapely

from siaga.data.load import BENGKALIS
from siaga.domains.regions.geometry import read_boundary_file

TOOLS = Path(__file__).parents[2] / "tools" / "regions"


def tool(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(name: str) -> list[dict[str, str]]:
    with (BENGKALIS / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_regions_csv_points_are_the_derived_label_points():
    derived = tool("derive_points").derived_points(BENGKALIS)
    shipped = {r["kode"]: (float(r["lat"]), float(r["lon"])) for r in rows("regions.csv")}
    assert len(derived) == 167  # the kabupaten, 11 kecamatan, 155 desa (not the province)
    for kode, point in derived.items():
        assert shipped[kode] == (round(point[0], 6), round(point[1], 6)), kode


def test_fix_places_finds_nothing_left_to_fix():
    fix = tool("fix_places").fix
    desa = {b.kode: b.geometry for b in read_boundary_file(BENGKALIS / "boundaries.geojson").boundaries
            if b.level in ("desa", "kelurahan")}
    for name in ("landmarks.csv", "stations.csv"):
        assert fix(rows(name), desa, name) == [], name
    # and it does fix: a station put in the sea off Bengkalis town is moved back inside its desa
    station = {"name": "Pos Uji", "kode_wilayah": "14.03.01.1001", "lat": "1.44", "lon": "102.10"}
    changes = fix([station], desa, "test")
    assert len(changes) == 1 and "moved" in changes[0]
    assert desa["14.03.01.1001"].contains(shapely.Point(float(station["lon"]), float(station["lat"])))


def test_every_region_point_is_on_land_by_an_independent_coastline():
    """The label points are inside the desa outlines by construction; the basemap's GSHHG coast (another
    source, another generalisation) agrees that none of them is in the sea."""
    import json

    from shapely.geometry import shape

    basemap = Path(__file__).parents[2] / "src/siaga/web/static/basemap/bengkalis.geojson"
    land = shapely.union_all([shape(f["geometry"]) for f in json.loads(basemap.read_text(encoding="utf-8"))["features"]
                              if f["properties"]["kind"] == "land"])
    points = [r for r in rows("regions.csv") if r["level"] != "provinsi"]
    assert len(points) == 167
    for r in points:
        assert land.contains(shapely.Point(float(r["lon"]), float(r["lat"]))), (r["kode"], r["name"])
