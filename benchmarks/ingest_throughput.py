"""Incident creation and call-event ingestion through the HTTP API on PostgreSQL, sustained, against the
raw durable single-row insert rate of the same PostgreSQL with the same number of concurrent clients,
measured in the same run. Target: the API reaches at least 25% of the raw rate. Also p50/p99 latency.

The load comes from wrk when it is installed (`make bench` installs it as root), so that the load
generator takes little of the machine's CPU; otherwise from a Python client. Two more baselines give
the figure its context: the bare SQL of the rows a call event must write, the framework's ceiling (GET /openapi.json:
cached, no database) on the same server, and the stack's ceiling for a durable write (the same
request to an app of this stack that does nothing but the raw single-row INSERT: _one_insert_app.py).

Usage: python benchmarks/ingest_throughput.py [--seconds 8] [--clients 16] [--workers 4]"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
from _common import TOKENS, bench_database, emit, percentile, server, serving

RAW_SQL = "INSERT INTO bench_raw (at, payload) VALUES (now(), %s)"
# The rows one call event must write by the issue's own rules (the call, the event record, an audit
# entry, an outbox event, the ledger head that orders them, and the NOTIFY), as bare SQL: what the
# database alone costs for the work, with no application in between.
SAME_ROWS_SQL = [
    "INSERT INTO bench_raw (at, payload) VALUES (now(), %s)",
    "INSERT INTO bench_raw (at, payload) VALUES (now(), %s)",
    "INSERT INTO bench_raw (at, payload) VALUES (now(), %s)",
    "INSERT INTO bench_raw (at, payload) VALUES (now(), %s)",
    "UPDATE bench_head SET n = n + 1 WHERE id = 1 AND %s::text IS NOT NULL",
    "SELECT pg_notify('bench', %s)",
]


def raw_insert_rate(url: str, clients: int, seconds: float,
                    statements: list[str] | None = None) -> tuple[float, list[float]]:
    """Each client: one durable transaction (fsync'd, synchronous_commit as the server has it), repeat.
    Default: INSERT one row. With `statements`: those, in one transaction."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, at timestamptz, "
                     "payload text)")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_head (id int PRIMARY KEY, n bigint)")
        conn.execute("INSERT INTO bench_head VALUES (1, 0) ON CONFLICT DO NOTHING")

    async def client(latencies: list[float], stop: float) -> int:
        n = 0
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                if statements is None:
                    await conn.execute(RAW_SQL, ("x" * 200,))
                else:
                    async with conn.transaction():
                        for sql in statements:
                            await conn.execute(sql, ("x" * 200,))
                latencies.append(time.perf_counter() - t0)
                n += 1
        return n

    async def run() -> tuple[float, list[float]]:
        latencies: list[float] = []
        start = time.monotonic()
        counts = await asyncio.gather(*[client(latencies, start + seconds) for _ in range(clients)])
        return sum(counts) / (time.monotonic() - start), latencies

    return asyncio.run(run())


async def api_rate(base: str, clients: int, seconds: float, kind: str) -> tuple[float, list[float], int]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    errors = 0
    latencies: list[float] = []

    async def client(http: httpx.AsyncClient, stop: float) -> int:
        nonlocal errors
        n = 0
        while time.monotonic() < stop:
            key = uuid.uuid4().hex
            t0 = time.perf_counter()
            if kind == "incident":
                r = await http.post("/api/v1/incidents", json={"category_code": "kebakaran", "description": key},
                                    headers={"Authorization": f"Bearer {TOKENS['bench_ct']}",
                                             "Idempotency-Key": key})
            else:
                r = await http.post("/api/v1/call-events", json={
                    "event_id": key, "call_ref": key, "type": "offered", "at": "2026-11-27T01:00:00Z",
                    "caller_number": "0812" + key[:8]}, headers={"Authorization": f"Bearer {TOKENS['bench_phone']}"})
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 201:
                errors += 1
            n += 1
        return n

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        start = time.monotonic()
        counts = await asyncio.gather(*[client(http, start + seconds) for _ in range(clients)])
        return sum(counts) / (time.monotonic() - start), latencies, errors


WRK_SCRIPT = """
local counter = 0
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
request = function()
  counter = counter + 1
  local id = string.format("w%d-%d-%d", tid or 0, counter, math.random(1, 1000000000))
  if "{kind}" == "incident" then
    return wrk.format("POST", "/api/v1/incidents", {{["Content-Type"]="application/json",
      ["Authorization"]="Bearer {ct}", ["Idempotency-Key"]=id}},
      '{{"category_code":"kebakaran","description":"' .. id .. '"}}')
  end
  return wrk.format("POST", "/api/v1/call-events", {{["Content-Type"]="application/json",
    ["Authorization"]="Bearer {phone}"}},
    '{{"event_id":"' .. id .. '","call_ref":"' .. id .. '","type":"offered","at":"2026-11-27T01:00:00Z"}}')
end
"""


def _ms(text: str) -> float:
    value = float(text.rstrip("usm"))
    return value / 1000 if text.endswith("us") else value * 1000 if text.endswith("s") and not \
        text.endswith("ms") else value


def wrk_rate(base: str, clients: int, seconds: float, kind: str | None) -> tuple[float, float, float, int]:
    """Load from wrk (C, nearly free of CPU): rate, p50 ms, p99 ms, non-2xx responses. kind None: the
    framework's own ceiling, GET /openapi.json (cached, no database)."""
    args = ["wrk", "-t2", f"-c{clients}", f"-d{max(1, int(seconds))}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT.format(kind=kind or "", ct=TOKENS["bench_ct"], phone=TOKENS["bench_phone"]))
    out = subprocess.run(args + ([base + "/openapi.json"] if kind is None else ["-s", f.name, base]),
                         capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, p99, int(bad.group(1)) if bad else 0


@contextmanager
def one_insert_app(url: str, workers: int) -> Iterator[str]:
    """uvicorn serving benchmarks/_one_insert_app.py on the benchmark database."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "BENCH_DATABASE_URL": url,
           "PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}
    with serving(["uvicorn", "_one_insert_app:app", "--workers", str(workers), "--log-level", "warning",
                  "--no-access-log"], env, "/openapi.json") as base:
        yield base


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None
    with bench_database("siaga_bench_ingest") as url:
        raw, raw_lat = raw_insert_rate(url, args.clients, args.seconds)
        same_rows, _ = raw_insert_rate(url, args.clients, args.seconds, SAME_ROWS_SQL)
        one_insert = None
        if use_wrk:
            with one_insert_app(url, args.workers) as base:
                wrk_rate(base, args.clients, 1, "call_event")  # warm-up
                one_insert = wrk_rate(base, args.clients, args.seconds, "call_event")[0]
            emit("ingest_stack_one_insert", "rate_vs_raw_insert", one_insert, "ratio", raw,
                 clients=args.clients, workers=args.workers, load_generator="wrk", database="postgresql")
        with server(url, workers=args.workers) as base:
            framework = wrk_rate(base, args.clients, args.seconds, None)[0] if use_wrk else None
            for kind in ("incident", "call_event"):
                if use_wrk:
                    wrk_rate(base, args.clients, 1, kind)  # warm-up
                    rate, p50, p99, errors = wrk_rate(base, args.clients, args.seconds, kind)
                else:
                    asyncio.run(api_rate(base, args.clients, 1.0, kind))  # warm-up
                    rate, lat, errors = asyncio.run(api_rate(base, args.clients, args.seconds, kind))
                    p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
                name = f"ingest_{kind}"
                common = {"clients": args.clients, "workers": args.workers, "errors": errors,
                          "load_generator": "wrk" if use_wrk else "python-httpx", "database": "postgresql"}
                emit(name, "rate_vs_raw_insert", rate, "ratio_target", raw, target=0.25, **common)
                emit(name, "rate_vs_raw_same_rows", rate, "ratio", same_rows, **common)
                if framework:
                    emit(name, "rate_vs_framework_ceiling", rate, "ratio", framework, **common)
                if one_insert:
                    emit(name, "rate_vs_stack_one_insert", rate, "ratio", one_insert, **common)
                emit(name, "latency_p50", p50, "ms", percentile(raw_lat, 50) * 1000, **common)
                emit(name, "latency_p99", p99, "ms", percentile(raw_lat, 99) * 1000, **common)


if __name__ == "__main__":
    main()
