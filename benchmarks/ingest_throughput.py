"""Incident creation and call-event ingestion through the HTTP API on PostgreSQL, sustained, against the
raw durable single-row insert rate of the same PostgreSQL with the same number of concurrent clients,
measured in the same run. Target: the API reaches at least 25% of the raw rate. Also p50/p99 latency.

Usage: python benchmarks/ingest_throughput.py [--seconds 8] [--clients 16] [--workers 2]"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import httpx
import psycopg
from _common import TOKENS, bench_database, emit, percentile, server

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with bench_database("siaga_bench_ingest") as url:
        raw, raw_lat = raw_insert_rate(url, args.clients, args.seconds)
        same_rows, _ = raw_insert_rate(url, args.clients, args.seconds, SAME_ROWS_SQL)
        with server(url, workers=args.workers) as base:
            asyncio.run(api_rate(base, args.clients, 1.0, "incident"))  # warm-up
            for kind in ("incident", "call_event"):
                rate, lat, errors = asyncio.run(api_rate(base, args.clients, args.seconds, kind))
                name = f"ingest_{kind}"
                common = {"clients": args.clients, "workers": args.workers, "errors": errors,
                          "database": "postgresql"}
                emit(name, "rate_vs_raw_insert", rate, "ratio_target", raw, target=0.25, **common)
                emit(name, "rate_vs_raw_same_rows", rate, "ratio", same_rows, **common)
                emit(name, "latency_p50", percentile(lat, 50) * 1000, "ms", percentile(raw_lat, 50) * 1000,
                     **common)
                emit(name, "latency_p99", percentile(lat, 99) * 1000, "ms", percentile(raw_lat, 99) * 1000,
                     **common)


if __name__ == "__main__":
    main()
