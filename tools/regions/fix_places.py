"""Check the patokan (landmarks.csv) and stations (stations.csv) against the shipped desa boundaries and fix
what is wrong, printing each change (the data README lists them):

- inside the region it names (a desa, or a kecamatan: the union of its desa) → kept;
- inside another desa of the regency and within 2 km of the region it names → the point is plausibly right
  and the name wrong: kode_wilayah becomes the desa it lies in;
- otherwise (in the sea, outside the regency, or farther from what it names) → moved to the nearest point
  ~100 m inside the region it names (coord_approx stays 1).

Run: .venv/bin/python tools/regions/fix_places.py [--dry-run]"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import shapely
from shapely.ops import nearest_points, unary_union

from siaga.domains.regions.geometry import distance_to_m, read_boundary_file

DATA = Path(__file__).resolve().parents[2] / "src" / "siaga" / "data" / "bengkalis"
REASSIGN_WITHIN_M = 2000
INSET_DEG = 0.0009  # ~100 m


def fix(rows: list[dict[str, str]], desa: dict[str, object], label: str) -> list[str]:
    kodes = list(desa)
    tree = shapely.STRtree([desa[k] for k in kodes])
    changes = []
    for row in rows:
        named, lat, lon = row["kode_wilayah"], float(row["lat"]), float(row["lon"])
        if not named:
            continue
        area = desa.get(named) or unary_union([g for k, g in desa.items() if k.startswith(named + ".")])
        point = shapely.Point(lon, lat)
        within = [kodes[i] for i in tree.query(point, predicate="within")]
        if (named in desa and within == [named]) or (named not in desa and within
                                                     and all(k.startswith(named + ".") for k in within)):
            continue
        off_m = distance_to_m(area, lat, lon)
        if len(within) == 1 and off_m <= REASSIGN_WITHIN_M:
            row["kode_wilayah"] = within[0]
            changes.append(f"{label} {row['name']}: named {named}, lies in {within[0]} ({off_m:.0f} m from "
                           f"{named}) → kode_wilayah {within[0]}")
            continue
        inner = area.buffer(-INSET_DEG)
        if inner.is_empty:
            inner = area.buffer(-INSET_DEG / 4)
        target = nearest_points(inner, point)[0]
        new_lat, new_lon = round(target.y, 6), round(target.x, 6)
        moved_m = distance_to_m(shapely.Point(new_lon, new_lat), lat, lon)
        where = "in the sea/outside the regency" if not within else f"in {within[0]}"
        row["lat"], row["lon"] = f"{new_lat:.6f}", f"{new_lon:.6f}"
        changes.append(f"{label} {row['name']}: was {where}, {off_m:.0f} m from {named} → moved {moved_m:.0f} m "
                       f"inside {named}")
    return changes


def rewrite(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    ending = "\r\n" if b"\r\n" in path.read_bytes()[:4096] else "\n"  # keep the file's own line endings
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator=ending)
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def main() -> None:
    boundaries = read_boundary_file(DATA / "boundaries.geojson").boundaries
    desa = {b.kode: b.geometry for b in boundaries if b.level in ("desa", "kelurahan")}
    for name in ("landmarks.csv", "stations.csv"):
        path = DATA / name
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            fields, rows = list(reader.fieldnames or []), list(reader)
        changes = fix(rows, desa, name)
        print("\n".join(changes) or f"{name}: nothing to fix")
        if changes and "--dry-run" not in sys.argv:
            rewrite(path, fields, rows)


if __name__ == "__main__":
    main()
