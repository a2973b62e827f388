"""Replace the kecamatan outlines and the regency boundary of src/siaga/web/static/basemap/bengkalis.geojson
with outlines dissolved from the official desa boundaries that ship in src/siaga/data/bengkalis/
boundaries.geojson (cahyadsn/wilayah_boundaries @ 3c5a7960, MIT), and write the desa outlines beside it
(bengkalis_desa.geojson, drawn by the consoles from zoom 11). Land, coastline and rivers (GSHHG) are kept
as they are. Kecamatan and the regency are the union of their desa — the same layer the reverse geocoder
uses — so a click inside a drawn kecamatan is geocoded to that kecamatan.

Run: .venv/bin/python tools/basemap/official_boundaries.py (standard library + shapely; no GMT needed)."""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import mapping
from shapely.ops import unary_union

from siaga.domains.regions.geometry import read_boundary_file

ROOT = Path(__file__).resolve().parents[2]
BOUNDARIES = ROOT / "src/siaga/data/bengkalis/boundaries.geojson"
BASEMAP = ROOT / "src/siaga/web/static/basemap"
SOURCE = "cahyadsn/wilayah_boundaries @ 3c5a7960 (MIT), desa layer"
TOLERANCE = {"kecamatan": 0.001, "regency_boundary": 0.001, "desa": 0.0002}  # degrees: ~110 m / ~22 m
ATTRIBUTION = ("Coastline: GSHHG 2.3.7 © Wessel & Smith (LGPL-3.0) · Batas desa/kecamatan: wilayah_boundaries "
               "© Cahya DSN (MIT)")


MIN_PART_DEG2 = {"kecamatan": 1e-5, "regency_boundary": 1e-5, "desa": 0.0}  # ~0.12 km²: islets left out


def simplified(geom, kind: str):  # type: ignore[no-untyped-def]
    parts = [p for p in getattr(geom, "geoms", [geom]) if p.area >= MIN_PART_DEG2[kind]] or [geom]
    geom = unary_union(parts)
    if kind != "desa":  # outlines of the whole: the holes between desa (slivers upstream left) are not holes
        geom = unary_union([shapely.Polygon(p.exterior) for p in getattr(geom, "geoms", [geom])])
    g = shapely.set_precision(geom.simplify(TOLERANCE[kind], preserve_topology=True), 1e-5)
    return g if g.is_valid else shapely.make_valid(g)


def feature(geom, **props) -> dict:  # type: ignore[no-untyped-def]
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def main() -> None:
    boundaries = read_boundary_file(BOUNDARIES).boundaries
    names = {b.kode: b.name for b in boundaries}
    desa = {b.kode: b.geometry for b in boundaries if b.level in ("desa", "kelurahan")}
    kecamatan = sorted({k.rsplit(".", 1)[0] for k in desa})
    basemap_path = BASEMAP / "bengkalis.geojson"
    basemap = json.loads(basemap_path.read_text(encoding="utf-8"))
    kept = [f for f in basemap["features"] if f["properties"].get("kind") not in ("kecamatan", "regency_boundary")]
    new = []
    for kode in kecamatan:
        union = unary_union([g for k, g in desa.items() if k.startswith(kode + ".")])
        new.append(feature(simplified(union, "kecamatan"), kind="kecamatan", name=names[kode], code=kode,
                           regency="Kabupaten Bengkalis", source=SOURCE))
    regency = unary_union(list(desa.values()))
    new.insert(0, feature(simplified(regency, "regency_boundary"), kind="regency_boundary",
                          name="Kabupaten Bengkalis", code="14.03", source=SOURCE))
    basemap["features"] = kept + new
    basemap["attribution"] = ATTRIBUTION
    basemap_path.write_text(json.dumps(basemap, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    desa_layer = {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": [
        feature(simplified(g, "desa"), kind="desa", code=k, name=names[k]) for k, g in sorted(desa.items())]}
    (BASEMAP / "bengkalis_desa.geojson").write_text(
        json.dumps(desa_layer, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    for name in ("bengkalis.geojson", "bengkalis_desa.geojson"):
        print(name, (BASEMAP / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
