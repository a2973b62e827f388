"""The shipped Bengkalis gazetteer agrees row for row with both upstream sources in ../shared/conformance."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from siaga.data.load import BENGKALIS

CONFORMANCE = Path(os.environ.get("SIAGA_CONFORMANCE_DIR", Path(__file__).parents[3] / "shared" / "conformance"))
REGIONS = CONFORMANCE / "indonesia_regions"


@pytest.fixture(scope="module")
def ours() -> dict[str, dict[str, str]]:
    if not REGIONS.exists():
        pytest.fail(f"conformance corpus not found at {REGIONS}: set SIAGA_CONFORMANCE_DIR")
    with (BENGKALIS / "regions.csv").open(encoding="utf-8") as f:
        return {r["kode"]: r for r in csv.DictReader(f)}


def read(name: str) -> list[dict[str, str]]:
    with (REGIONS / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_kecamatan_match_idn_area_data(ours):
    upstream = {r["code"]: r["name"] for r in read("idn-area-data_bengkalis_districts.csv")}
    mine = {k: r["name"] for k, r in ours.items() if r["level"] == "kecamatan"}
    assert mine == upstream
    assert {"Bathin Solapan", "Talang Muandau", "Bandar Laksamana"} <= set(mine.values())


def test_desa_and_kelurahan_match_idn_area_data(ours):
    upstream = {r["code"]: (r["name"], r["district_code"]) for r in read("idn-area-data_bengkalis_villages.csv")}
    mine = {k: (r["name"], r["parent_kode"]) for k, r in ours.items() if r["level"] in ("desa", "kelurahan")}
    assert mine == upstream and len(mine) == 155


def test_every_row_matches_cahyadsn_wilayah(ours):
    text = (REGIONS / "cahyadsn-wilayah_bengkalis_rows.sql.txt").read_text(encoding="utf-8")
    upstream = dict(re.findall(r"\('([\d.]+)','([^']*)'\)", text))
    mine = {k: r["name"] for k, r in ours.items() if k.startswith("14.03")}
    assert mine == upstream


def test_estimated_coordinates_are_marked_and_inside_the_regency(ours):
    for kode, row in ours.items():
        if row["level"] == "provinsi":
            continue
        assert row["coord_approx"] == "1", kode
        assert 0.9 <= float(row["lat"]) <= 2.2 and 100.9 <= float(row["lon"]) <= 102.6, kode


def test_islands_keep_the_published_coordinates():
    upstream = read("idn-area-data_bengkalis_islands.csv")
    with (BENGKALIS / "islands.csv").open(encoding="utf-8") as f:
        mine = {r["kode"]: r for r in csv.DictReader(f)}
    assert set(mine) == {r["code"] for r in upstream}
    bengkalis = mine["14.03.40004"]  # 01°28'29.17" N 102°17'40.70" E
    assert abs(float(bengkalis["lat"]) - (1 + 28 / 60 + 29.17 / 3600)) < 1e-4
    assert abs(float(bengkalis["lon"]) - (102 + 17 / 60 + 40.70 / 3600)) < 1e-4
