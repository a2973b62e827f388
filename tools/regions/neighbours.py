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

from siaga.domains.regions.geometry import neighbour_features


def main(path: str, served: str) -> None:
    data = json.load(open(path, encoding="utf-8"))
    json.dump({"type": "FeatureCollection",
               "source": "cahyadsn/wilayah_boundaries @ 3c5a7960, db/kab/wilayah_boundaries_kab_14.sql (MIT); "
                         f"every kabupaten/kota of the province but {served}, made valid (tools/regions/neighbours.py)",
               "features": neighbour_features(data, served)}, sys.stdout, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
