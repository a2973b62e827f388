"""Rebuild the offline basemap src/siaga/web/static/basemap/bengkalis.geojson (see the README there).

Offline data-build script; it is not part of the Siaga application.

What it does:
  * land: polygonises the GSHHG 2.3.7 full-resolution shoreline (read with ``gmt coast -Df -W``) inside a
    work window, keeps the faces that ``gmt select -Ns/k`` classifies as land (so lakes become holes), clips
    them to the basemap bbox, simplifies and rounds them, and names the six main land masses;
  * coastline: the land outlines without the straight edges that clipping leaves at the bbox;
  * rivers: the WDB II rivers bundled with GSHHG (``gmt coast -Df -Ia``), clipped, merged and simplified;
  * kecamatan and regency: the kecamatan polygons in kecamatan_14.03_cahyadsn.txt (an extract of
    cahyadsn/wilayah_boundaries, MIT) and their union, with its interior rings filled, as the regency outline.
All coordinates are snapped to a 1e-5 degree grid (5 decimals).

Needs: GMT 6 with GSHHG full on PATH (Debian: ``apt-get install gmt gmt-gshhg-full``) and ``shapely>=2`` (pip).

Usage: python tools/basemap/build_basemap.py [output.geojson]
(default output: src/siaga/web/static/basemap/bengkalis.geojson in the repository)
"""
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping, shape
from shapely.ops import linemerge, polygonize, unary_union

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, '..', '..', 'src', 'siaga', 'web', 'static', 'basemap', 'bengkalis.geojson')
KECAMATAN_TXT = os.path.join(HERE, 'kecamatan_14.03_cahyadsn.txt')

CLIP = (100.8, 0.5, 102.8, 2.4)  # lon0, lat0, lon1, lat1: the extent of the basemap
WORK = (100.6, 0.3, 103.0, 2.6)  # wider window for polygonising, clipped to CLIP later
REGION = f'-R{WORK[0]:g}/{WORK[2]:g}/{WORK[1]:g}/{WORK[3]:g}'  # WORK as a GMT -R option
LAND_TOL = 0.0001  # deg (~11 m) Douglas-Peucker tolerance for land
RIVER_TOL = 0.0005  # deg Douglas-Peucker tolerance for rivers
MIN_RIVER_LENGTH = 0.01  # deg; shorter river pieces are dropped
MIN_LAND_AREA = 1e-7  # deg2 (~0.001 km2); smaller islets (after rounding) are dropped
GRID = 1e-5  # deg; coordinates are snapped to this grid (5 decimals)

LAND_NAMES = [  # (label, lon, lat) test point inside each named land mass
    ('Sumatra (daratan / mainland)', 101.22, 1.29),
    ('Pulau Bengkalis', 102.25, 1.50),
    ('Pulau Rupat', 101.60, 1.90),
    ('Pulau Padang', 102.32, 1.15),
    ('Pulau Tebing Tinggi', 102.71, 0.98),
    ('Semenanjung Malaysia', 102.60, 2.30),
]

GSHHG_SOURCE = 'GSHHG 2.3.7 full'
RIVER_SOURCE = 'WDB II rivers via GSHHG 2.3.7'
KECAMATAN_SOURCE = 'cahyadsn/wilayah_boundaries'
REGENCY_NAME = 'Kabupaten Bengkalis'
ATTRIBUTION = ('Coastline: GSHHG 2.3.7 \u00a9 Wessel & Smith (LGPL-3.0) \u00b7 '
               'Kecamatan boundaries: wilayah_boundaries \u00a9 cahya dsn (MIT), approximate')


def rnd(geom):
    """Snap a geometry's coordinates to the GRID (5 decimals)."""
    return shapely.set_precision(geom, GRID)


def parts(geom):
    """The parts of a multi-part geometry or collection, or [geom] for a single one."""
    return getattr(geom, 'geoms', [geom])


def feature(props, geom):
    """A GeoJSON Feature dict with the given properties and (shapely) geometry."""
    return {'type': 'Feature', 'properties': props, 'geometry': mapping(geom)}


def _lonlat(ring):
    """Convert a ring of [lat, lon] pairs to (lon, lat) tuples."""
    return [(lon, lat) for lat, lon in ring]


def load_kecamatan(fn):
    """Read the kecamatan extract: {code: (name, Polygon or MultiPolygon)}.

    Lines are 'kode|nama|path' where path is the source repository's JSON in [lat, lon] order,
    nested 3 deep for a Polygon and 4 deep for a MultiPolygon. Blank lines and '#' lines are skipped.
    """
    out = {}
    with open(fn, encoding='utf-8') as fh:
        for line in fh:
            if not line.strip() or line.startswith('#'):
                continue
            code, name, path = line.strip().split('|')
            data = json.loads(path)
            polys = [data] if isinstance(data[0][0][0], float) else data
            polygons = [Polygon(_lonlat(rings[0]), [_lonlat(r) for r in rings[1:]]) for rings in polys]
            out[code] = (name, MultiPolygon(polygons) if len(polygons) > 1 else polygons[0])
    return out


def run_gmt(args, stdin=None):
    """Run ``gmt <args>`` (in the temp directory, where GMT may leave its history files); return stdout."""
    result = subprocess.run(['gmt', *args], input=stdin, capture_output=True, text=True, check=True,
                            cwd=tempfile.gettempdir())
    return result.stdout


def gmt_lines(args):
    """Segments of ``gmt coast -Df -M <args>`` over the WORK window, as LineStrings (1-point segments dropped)."""
    txt = run_gmt(['coast', REGION, '-Df', '-M', *args])
    segs, cur = [], []
    for line in txt.splitlines():
        if line.startswith('>'):
            if len(cur) > 1:
                segs.append(LineString(cur))
            cur = []
        else:
            x, y = map(float, line.split()[:2])
            cur.append((x, y))
    if len(cur) > 1:
        segs.append(LineString(cur))
    return segs


def land_polygons(clip):
    """Land polygons from the GSHHG shoreline (level 1), clipped to ``clip``.

    The shoreline and the WORK frame are polygonised; GMT classifies one point inside each face as land or
    water, and the land faces are merged.
    """
    segs = gmt_lines(['-W'])
    work_box = box(WORK[0], WORK[1], WORK[2], WORK[3])
    faces = list(polygonize(unary_union([*segs, work_box.exterior])))
    points = []
    for i, face in enumerate(faces):
        rep = face.representative_point()
        points.append(f'{rep.x:.9f} {rep.y:.9f} {i:d}')
    selected = run_gmt(['select', REGION, '-Df', '-Ns/k'], stdin='\n'.join(points))
    land_idx = {int(float(row.split()[2])) for row in selected.splitlines() if row.strip()}
    land = unary_union([faces[i] for i in land_idx]).intersection(clip)
    return [p for p in parts(land) if p.geom_type == 'Polygon']


def land_name(poly):
    """The LAND_NAMES label whose test point lies inside ``poly`` (the last one if several), else None."""
    name = None
    for label, x, y in LAND_NAMES:
        if poly.contains(Point(x, y)):
            name = label
    return name


def land_features(land_polys):
    """'land' features, largest first: simplified, rounded, named; islets below MIN_LAND_AREA dropped."""
    feats = []
    for poly in sorted(land_polys, key=lambda p: -p.area):
        name = land_name(poly)
        geom = rnd(poly.simplify(LAND_TOL, preserve_topology=True))
        if geom.is_empty or geom.area < MIN_LAND_AREA:
            continue
        props = {'kind': 'land', 'name': name, 'source': GSHHG_SOURCE}
        if name is None:
            del props['name']
        feats.append(feature(props, geom))
    return feats


def coastline_feature(land_feats, clip):
    """The 'coastline' feature: the outline of the land features without the clip frame."""
    frame = clip.exterior.buffer(1e-6)
    land = unary_union([shape(f['geometry']) for f in land_feats])
    coast = linemerge(land.boundary.difference(frame))
    return feature({'kind': 'coastline', 'source': GSHHG_SOURCE}, rnd(coast))


def river_features(clip):
    """'river' features from the WDB II rivers bundled with GSHHG: clipped, merged, short pieces dropped."""
    rivers = linemerge(unary_union(gmt_lines(['-Ia'])).intersection(clip))
    feats = []
    for river in parts(rivers):
        if river.length < MIN_RIVER_LENGTH:
            continue
        geom = rnd(river.simplify(RIVER_TOL))
        feats.append(feature({'kind': 'river', 'source': RIVER_SOURCE, 'approx': True}, geom))
    return feats


def kecamatan_features(clip):
    """The 'kecamatan' features (sorted by code) and the 'regency_boundary' feature (their union)."""
    kec = load_kecamatan(KECAMATAN_TXT)
    feats, geoms = [], []
    for code in sorted(kec):
        name, geom = kec[code]
        geom = unary_union([geom.buffer(0)])  # fixes "nested shells" (islet inside main ring)
        geoms.append(geom)
        props = {'kind': 'kecamatan', 'name': name, 'code': code, 'regency': REGENCY_NAME,
                 'source': KECAMATAN_SOURCE, 'approx': True}
        feats.append(feature(props, rnd(geom.intersection(clip))))
    regency = unary_union(geoms)
    # The source simplified each kecamatan on its own, so neighbours leave slivers (<= 1.7 km2) between them;
    # the regency has no enclaves, so fill every interior ring of the union.
    regency = unary_union([Polygon(p.exterior) for p in parts(regency)])
    props = {'kind': 'regency_boundary', 'name': REGENCY_NAME, 'code': '14.03',
             'source': f'{KECAMATAN_SOURCE} (union of the 11 kecamatan)', 'approx': True}
    return feats, feature(props, rnd(regency.intersection(clip)))


def build():
    """Build the basemap FeatureCollection.

    Feature order: land, coastline, rivers, regency boundary, kecamatan.
    """
    clip = box(*CLIP)
    land = land_features(land_polygons(clip))
    coastline = coastline_feature(land, clip)
    rivers = river_features(clip)
    kecamatan, regency = kecamatan_features(clip)
    feats = [*land, coastline, *rivers, regency, *kecamatan]
    return {'type': 'FeatureCollection',
            'name': 'bengkalis_basemap',
            'bbox': list(CLIP),
            'attribution': ATTRIBUTION,
            'features': feats}


def main(argv=None):
    """Build the basemap and write it (compact UTF-8 JSON) to argv[1] or DEFAULT_OUT; print a summary."""
    argv = sys.argv if argv is None else argv
    out = argv[1] if len(argv) > 1 else DEFAULT_OUT
    fc = build()
    feats = fc['features']
    text = json.dumps(fc, separators=(',', ':'), ensure_ascii=False)
    with open(out, 'w', encoding='utf-8') as fh:
        fh.write(text)
    print(len(feats), 'features', len(text), 'bytes')
    print(Counter(f['properties']['kind'] for f in feats))


if __name__ == '__main__':
    main()
