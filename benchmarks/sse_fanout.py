"""Event fan-out: from commit to delivery on N connected SSE consoles (default 200), on PostgreSQL.
Each incident is created by a POST; every console's receipt of its `incident.created` event is timed
from the event's ledger timestamp, taken just before COMMIT (same machine, same clock), and also from
the moment the POST was sent (an upper bound that includes the whole request). Baseline, measured in
the same run: the same with one console. The consoles are raw-socket EventSource readers so that the
measuring side takes little of the two cores.
Target: p99 ≤ 100 ms with 200 consoles.

Usage: python benchmarks/sse_fanout.py [--clients 200] [--events 40]"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime

import httpx
from _common import TOKENS, bench_database, emit, percentile, server


async def console(host: str, port: int, events: int, sent: dict[str, float],
                  from_send: list[float], from_commit: list[float], connected: asyncio.Event,
                  counter: list[int], clients: int) -> None:
    """A minimal EventSource on a raw socket, so the measuring side costs little CPU of its own."""
    reader, writer = await asyncio.open_connection(host, port, limit=2**20)
    writer.write((f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                  f"Authorization: Bearer {TOKENS['bench_disp']}\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    assert b" 200 " in status, status
    counter[0] += 1
    if counter[0] == clients:
        connected.set()
    got = 0
    while got < events:
        line = await reader.readline()
        if not line:
            raise RuntimeError("stream closed")
        if line.startswith(b"data:") and b'"incident.created"' in line:
            now_wall, now = time.time(), time.perf_counter()
            data = json.loads(line[5:])
            t = sent.get(data["payload"]["description"])
            if t is not None:
                from_send.append(now - t)
                at = datetime.fromisoformat(data["at"]).timestamp()
                from_commit.append(now_wall - at)
            got += 1
    writer.close()


async def measure(base: str, clients: int, events: int) -> tuple[list[float], list[float]]:
    host, port = base.split("//")[1].split(":")
    sent: dict[str, float] = {}
    from_send: list[float] = []
    from_commit: list[float] = []
    connected = asyncio.Event()
    counter = [0]
    tasks = [asyncio.create_task(console(host, int(port), events, sent, from_send, from_commit, connected,
                                         counter, clients)) for _ in range(clients)]
    await asyncio.wait_for(connected.wait(), 60)
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=base, timeout=30) as poster:
        for i in range(events):
            key = f"fanout-{i}"
            sent[key] = time.perf_counter()
            await poster.post("/api/v1/incidents", json={"category_code": "kebakaran", "description": key},
                              headers={"Authorization": f"Bearer {TOKENS['bench_ct']}"})
            await asyncio.sleep(0.1)
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    return from_commit, from_send


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--events", type=int, default=40)
    args = parser.parse_args()
    with bench_database("siaga_bench_fanout") as url, server(url, workers=1) as base:
        baseline, baseline_send = asyncio.run(measure(base, 1, args.events))
        many, many_send = asyncio.run(measure(base, args.clients, args.events))
    common = {"clients": args.clients, "events": args.events, "deliveries": len(many), "database": "postgresql"}
    ms = 1000
    emit("sse_fanout", "commit_to_delivery_p50", percentile(many, 50) * ms, "ms", percentile(baseline, 50) * ms,
         **common)
    emit("sse_fanout", "commit_to_delivery_p99", percentile(many, 99) * ms, "ms", percentile(baseline, 99) * ms,
         target=100, higher_is_better=False, **common)
    emit("sse_fanout", "commit_to_delivery_max", max(many) * ms, "ms", max(baseline) * ms, **common)
    emit("sse_fanout", "request_sent_to_delivery_p99", percentile(many_send, 99) * ms, "ms",
         percentile(baseline_send, 99) * ms, **common)


if __name__ == "__main__":
    main()
