"""How src/siaga/data/bengkalis/neighbours.geojson was made: the other kabupaten/kota of Riau from the
conformance copy of cahyadsn/wilayah_boundaries (db/kab/wilayah_boundaries_kab_14.sql, MIT), made valid
where upstream rings cross themselves (14.06), rounded to 6 decimals. The reverse geocoder then says a point
in Kota Dumai is in Kota Dumai, not "near Bengkalis".

    python tools/regions/neighbours.py ../shared/conformance/indonesia_regions/riau_kabupaten.geojson 14.03 \
        > src/siaga/data/bengkalis/neighbours.geojson
"""

from __future__ import annotations

import json
import sys

import shapely
from shapely.geometry import mapping, shape


def rounded(coords):  # type: ignore[no-untyped-def]
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], 6), round(coords[1], 6)]
    return [rounded(c) for c in coords]


def main(path: str, served: str) -> None:
    data = json.load(open(path, encoding="utf-8"))
    features = []
    for f in data["features"]:
        kode = f["properties"]["kode"]
        if kode == served:
            continue
        geom = shape(f["geometry"])
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
            polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
            geom = shapely.unary_union(polys)
        geom = shapely.set_precision(geom, 1e-6)
        gj = mapping(geom)
        features.append({"type": "Feature", "properties": dict(f["properties"]),
                         "geometry": {"type": gj["type"], "coordinates": rounded(gj["coordinates"])}})
    json.dump({"type": "FeatureCollection",
               "source": "cahyadsn/wilayah_boundaries @ 3c5a7960, db/kab/wilayah_boundaries_kab_14.sql (MIT); "
                         f"every kabupaten/kota of the province but {served}, made valid (tools/regions/neighbours.py)",
               "features": features}, sys.stdout, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
