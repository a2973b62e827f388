"""Check the offline basemap src/siaga/web/static/basemap/bengkalis.geojson (made by build_basemap.py).

Offline data-check script; it is not part of the Siaga application.

Checks: the file is valid JSON and a FeatureCollection; every feature has a geometry and a ``kind``; no
geometry is empty; everything lies inside lon 100.8-102.8, lat 0.5-2.4; coordinates have at most 5 decimals;
every geometry is OGC-valid; and a few known places fall on the expected land mass and in the expected
kecamatan. Prints one ``PASS``/``FAIL`` line per check; the exit status does not reflect failures.

Needs: ``shapely>=2`` (pip). GMT is not needed.

Usage: python tools/basemap/check_basemap.py [basemap.geojson]
(default: src/siaga/web/static/basemap/bengkalis.geojson in the repository)
"""
import json
import os
import re
import sys

from shapely.geometry import Point, box, shape
from shapely.ops import unary_union

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GEOJSON = os.path.join(HERE, '..', '..', 'src', 'siaga', 'web', 'static', 'basemap', 'bengkalis.geojson')

BOUNDS = (100.8, 0.5, 102.8, 2.4)  # lon0, lat0, lon1, lat1 (CLIP in build_basemap.py)
EPS = 1e-9  # deg slack for the bounds check
MAX_DECIMALS = 5
M_PER_DEG = 111320  # metres per degree, for reporting distances
MAINLAND = 'Sumatra (daratan / mainland)'
UNNAMED_LAND = '(unnamed land)'
ANY_LAND = '*'

LAND_TESTS = [  # (check name, lon, lat, expected land name | ANY_LAND | None for sea)
    ('Bengkalis town on Pulau Bengkalis', 102.107, 1.467, 'Pulau Bengkalis'),
    ('Duri (Mandau) on mainland', 101.22, 1.29, MAINLAND),
    ('Pakning on mainland', 102.15, 1.35, MAINLAND),
    ('Batu Panjang (Rupat) on land', 101.43, 1.70, ANY_LAND),
    ('Strait of Malacca point not land', 101.9, 2.2, None),
]
KECAMATAN_TESTS = [  # (check name, lon, lat, expected kecamatan name)
    ('Duri in kecamatan Mandau', 101.22, 1.29, 'Mandau'),
    ('Pakning in kecamatan Bukit Batu', 102.15, 1.35, 'Bukit Batu'),
    ('Bengkalis town in kecamatan Bengkalis', 102.107, 1.467, 'Bengkalis'),
]


def report(results, name, cond, extra=''):
    """Record one check result in ``results`` and print it as 'PASS|FAIL name extra'."""
    results.append((name, bool(cond), extra))
    print(('PASS' if cond else 'FAIL'), name, extra)


def land_at(land, lon, lat):
    """Name of the first land feature covering (lon, lat) (UNNAMED_LAND if it has no name), else None."""
    p = Point(lon, lat)
    for name, geom in land:
        if geom.covers(p):
            return name or UNNAMED_LAND
    return None


def check_file(fn):
    """Run all checks on the GeoJSON file ``fn``, printing each result; return [(name, passed, extra)]."""
    results = []
    with open(fn, encoding='utf-8') as fh:
        d = json.load(fh)  # valid JSON?
    report(results, 'FeatureCollection', d.get('type') == 'FeatureCollection')
    features = d['features']
    report(results, 'every feature has geometry',
           all(f.get('geometry') and f['geometry'].get('coordinates') for f in features))
    report(results, 'every feature has kind', all('kind' in f['properties'] for f in features))

    geoms = [shape(f['geometry']) for f in features]
    report(results, 'no empty geometry', all(not g.is_empty for g in geoms))
    bb = unary_union([box(*g.bounds) for g in geoms]).bounds
    inside = (bb[0] >= BOUNDS[0] - EPS and bb[2] <= BOUNDS[2] + EPS
              and bb[1] >= BOUNDS[1] - EPS and bb[3] <= BOUNDS[3] + EPS)
    report(results, 'bounds inside 100.8-102.8 / 0.5-2.4', inside, str(tuple(round(v, 5) for v in bb)))
    decs = max(len(m) for m in re.findall(r'\.(\d+)', json.dumps([f['geometry'] for f in features])))
    report(results, 'coordinates <= 5 decimals', decs <= MAX_DECIMALS, f'max decimals {decs}')
    invalid = [f['properties'].get('name') or f['properties']['kind']
               for f, g in zip(features, geoms, strict=True) if not g.is_valid]
    report(results, 'all geometries valid (OGC)', not invalid, str(invalid))

    land = [(f['properties'].get('name'), g)
            for f, g in zip(features, geoms, strict=True) if f['properties']['kind'] == 'land']
    land_union = unary_union([g for _, g in land])
    for name, lon, lat, want in LAND_TESTS:
        found = land_at(land, lon, lat)
        point = Point(lon, lat)
        dist = land_union.distance(point) * M_PER_DEG
        if want is None:
            cond = found is None
        elif want == ANY_LAND:
            cond = found is not None
        else:
            cond = found == want
        near = min(land, key=lambda t: t[1].distance(point))[0] or UNNAMED_LAND
        report(results, name, cond, f'found={found!r}, nearest land={near!r} at {dist:.0f} m')

    kecamatan = [(f['properties']['name'], g)
                 for f, g in zip(features, geoms, strict=True) if f['properties']['kind'] == 'kecamatan']
    for name, lon, lat, want in KECAMATAN_TESTS:
        hits = [kec_name for kec_name, g in kecamatan if g.covers(Point(lon, lat))]
        report(results, name, want in hits, str(hits))
    return results


def main(argv=None):
    """Check argv[1] or DEFAULT_GEOJSON."""
    argv = sys.argv if argv is None else argv
    check_file(argv[1] if len(argv) > 1 else DEFAULT_GEOJSON)


if __name__ == '__main__':
    main()
