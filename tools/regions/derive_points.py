"""Rewrite the lat/lon of src/siaga/data/bengkalis/regions.csv from the shipped boundaries, with the same
functions `siaga regions import` uses (a desa: the pole of inaccessibility of its largest part; a kecamatan
or the kabupaten: inside its outline and inside one of its desa). tests/unit/test_region_points.py fails
when the file and the boundaries disagree. Run: .venv/bin/python tools/regions/derive_points.py"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from siaga.domains.regions.geometry import label_point, read_boundary_file, region_point

DATA = Path(__file__).resolve().parents[2] / "src" / "siaga" / "data" / "bengkalis"


def derived_points(folder: Path = DATA) -> dict[str, tuple[float, float]]:
    boundaries = {b.kode: b for b in read_boundary_file(folder / "boundaries.geojson").boundaries}
    points = {k: label_point(b.geometry) for k, b in boundaries.items() if b.level in ("desa", "kelurahan")}
    for kode, b in boundaries.items():
        if b.level in ("kecamatan", "kabupaten", "kota"):
            desa = [d.geometry for k, d in boundaries.items() if k.startswith(kode + ".") and k in points]
            points[kode] = region_point(b.geometry, desa)
    return points


def main() -> None:
    path = DATA / "regions.csv"
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    points = derived_points()
    for row in rows:
        if row["kode"] in points:
            lat, lon = points[row["kode"]]
            row["lat"], row["lon"] = f"{lat:.6f}", f"{lon:.6f}"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    print(f"{sum(r['kode'] in points for r in rows)} of {len(rows)} points derived from the boundaries")


if __name__ == "__main__":
    main()
