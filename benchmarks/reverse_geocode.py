"""Reverse geocoding latency: a coordinate → desa, kecamatan, kabupaten and the nearest patokan.

10,000 random points drawn uniformly inside Kabupaten Bengkalis's official outline (its sea channels and
the generalised coast included, so some points are in no desa and take the nearest-desa path, as a boat's
fix does), looked up in the Geocoder built from the shipped boundaries (155 desa, 15,057 vertices) and the
shipped patokan. Baseline, in the same run: the obvious code without an index — test the point against
every desa polygon in turn (shapely `covers`, unprepared) — on the first 1,000 points. Target: p95 ≤ 2 ms.
With PostgreSQL reachable (SIAGA_BENCH_DATABASE_URL), also `service.locate` as the API calls it: the one
query that tells whether the cached geocoder is current, then the lookup.

Usage: python benchmarks/reverse_geocode.py [--points 10000] [--no-db]"""

from __future__ import annotations

import argparse
import csv
import random
import time

import shapely
from _common import emit, percentile

from siaga.data.load import BENGKALIS
from siaga.domains.regions.geocode import Geocoder, LandmarkPoint, RegionName
from siaga.domains.regions.geometry import read_boundary_file

BENCH = "reverse_geocode"
TARGET_MS = 2.0


def build() -> tuple[Geocoder, dict[str, object], object]:
    boundaries = read_boundary_file(BENGKALIS / "boundaries.geojson").boundaries
    with (BENGKALIS / "regions.csv").open(encoding="utf-8") as f:
        names = {r["kode"]: RegionName(r["kode"], r["name"], r["level"]) for r in csv.DictReader(f)}
    with (BENGKALIS / "landmarks.csv").open(encoding="utf-8") as f:
        landmarks = [LandmarkPoint(i, r["name"], r["kind"], r["kode_wilayah"] or None, float(r["lat"]),
                                   float(r["lon"])) for i, r in enumerate(csv.DictReader(f))]
    desa = {b.kode: b.geometry for b in boundaries if b.level in ("desa", "kelurahan")}
    regency = next(b.geometry for b in boundaries if b.kode == "14.03")
    geocoder = Geocoder([(k, shapely.to_geojson(g)) for k, g in desa.items()], names, landmarks)
    return geocoder, desa, regency


def random_points(regency: object, n: int, seed: int = 112) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    shapely.prepare(regency)
    min_lon, min_lat, max_lon, max_lat = regency.bounds  # type: ignore[attr-defined]
    points: list[tuple[float, float]] = []
    while len(points) < n:
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        if shapely.contains_xy(regency, lon, lat):
            points.append((lat, lon))
    return points


def timed(fn, points: list[tuple[float, float]]) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for lat, lon in points:
        t = time.perf_counter()
        fn(lat, lon)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--no-db", action="store_true", help="skip the PostgreSQL end-to-end figure")
    args = parser.parse_args()
    t = time.perf_counter()
    geocoder, desa, regency = build()
    build_ms = (time.perf_counter() - t) * 1000
    points = random_points(regency, args.points)
    timed(geocoder.locate, points[:200])  # warm up
    ours = timed(geocoder.locate, points)
    in_desa = sum(geocoder.desa_at(lat, lon) is not None for lat, lon in points)
    polys = list(desa.values())

    def brute(lat: float, lon: float) -> str | None:
        p = shapely.Point(lon, lat)
        return next((k for k, g in zip(desa, polys, strict=True) if g.covers(p)), None)

    base = timed(brute, points[:1000])
    agree = sum(brute(lat, lon) == geocoder.desa_at(lat, lon) for lat, lon in points[:1000])
    common = {"points": len(points), "points_in_a_desa": in_desa, "desa": len(desa),
              "agree_with_baseline_of_1000": agree}
    emit(BENCH, "locate_p95", percentile(ours, 95), "ms", percentile(base, 95), target=TARGET_MS,
         higher_is_better=False, **common)
    emit(BENCH, "locate_p50", percentile(ours, 50), "ms", percentile(base, 50))
    emit(BENCH, "locate_max", max(ours), "ms", None)
    emit(BENCH, "build_geocoder", build_ms, "ms", None, note="parse the shipped file, index, prepare")
    if args.no_db:
        return
    try:
        from _common import bench_database

        from siaga.db.engine import make_engine, unit_of_work
        from siaga.domains.regions import service

        with bench_database("siaga_bench_geocode") as url:
            engine = make_engine(url)
            with unit_of_work(engine, write=False) as db:
                service.locate(db, *points[0])  # builds the cached geocoder
                api = timed(lambda lat, lon: service.locate(db, lat, lon), points[:2000])
                service.KEY_TTL_S = 0.0  # ask the database before every lookup
                every = timed(lambda lat, lon: service.locate(db, lat, lon), points[:2000])
                one_query = timed(lambda lat, lon: service.geocoder_key(db), points[:2000])
            engine.dispose()
        emit(BENCH, "service_locate_postgresql_p95", percentile(api, 95), "ms", percentile(ours[:2000], 95),
             target=TARGET_MS, higher_is_better=False, note="as the API calls it: lookup + response shape, "
             "the key checked at most once a second")
        emit(BENCH, "service_locate_key_checked_every_time_p95", percentile(every, 95), "ms",
             percentile(one_query, 95), note="baseline: the key query alone (a PostgreSQL round trip)")
    except Exception as exc:  # no PostgreSQL here: the in-memory figures above still stand
        print(f'{{"benchmark": "{BENCH}", "metric": "service_locate_postgresql_p95", "skipped": '
              f'"{type(exc).__name__}"}}', flush=True)


if __name__ == "__main__":
    main()
