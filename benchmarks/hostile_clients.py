"""A health check while clients attack the HTTP server (issue #16: "a health check is never delayed by more
than a second"). `siaga serve` (one worker, on PostgreSQL) answers `GET /readyz` from one client, one
request after another, first alone (the baseline, same run), then while four clients send 64 MB request
heads over and over and 50 send theirs a byte every 50 ms (slowloris), and while 8 clients post 1 MiB
bodies over the limit.

Metric: the slowest and the 99th-percentile /readyz under attack. Target: the slowest at most 1,000 ms.

Usage: python benchmarks/hostile_clients.py [--seconds 10]"""

from __future__ import annotations

import argparse
import select
import socket
import threading
import time

import httpx
from _common import bench_database, emit, percentile, server


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _push(sock: socket.socket, data: bytes, pace: float, stop: threading.Event) -> None:
    """Send `data` (a byte every `pace` s, or as fast as the socket takes it) until the server answers or
    closes, or the run ends."""
    sent, piece = 0, 1 if pace else 65536
    try:
        while sent < len(data) and not stop.is_set():
            if select.select([sock], [], [], pace)[0]:
                return
            sent += sock.send(data[sent:sent + piece])
    except OSError:
        pass


def attacker(base: str, data: bytes, pace: float, stop: threading.Event, refused: list[int]) -> None:
    while not stop.is_set():
        try:
            with _connect(base) as sock:
                _push(sock, data, pace, stop)
                try:
                    if sock.recv(12).startswith(b"HTTP/1.1 4"):
                        refused.append(1)
                except OSError:
                    pass
        except OSError:
            time.sleep(0.05)  # refused outright: try again shortly


def readyz_latencies(base: str, seconds: float) -> list[float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=30) as http:
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            assert http.get("/readyz").status_code == 200
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with bench_database("siaga_bench_hostile") as url, server(url, workers=1) as base:
        quiet = readyz_latencies(base, args.seconds)
        stop = threading.Event()
        refused: list[int] = []
        big_head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (64 * 1024 * 1024)
        slow_head = b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 100_000
        big_body = (b"POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1048577\r\n\r\n" + b"x" * 1_048_577)
        threads = ([threading.Thread(target=attacker, args=(base, big_head, 0.0, stop, refused)) for _ in range(4)]
                   + [threading.Thread(target=attacker, args=(base, slow_head, 0.05, stop, refused))
                      for _ in range(50)]
                   + [threading.Thread(target=attacker, args=(base, big_body, 0.0, stop, refused)) for _ in range(8)])
        for thread in threads:
            thread.start()
        time.sleep(1)  # the attack under way
        attacked = readyz_latencies(base, args.seconds)
        stop.set()
        for thread in threads:
            thread.join(30)
    common = {"checks_quiet": len(quiet), "checks_attacked": len(attacked), "attacking_connections_refused":
              len(refused), "attackers": len(threads)}
    emit("hostile_clients", "readyz_max_ms_under_attack", max(attacked), "ms", max(quiet), target=1000.0,
         higher_is_better=False, **common)
    emit("hostile_clients", "readyz_p99_ms_under_attack", percentile(attacked, 99), "ms", percentile(quiet, 99),
         higher_is_better=False, **common)


if __name__ == "__main__":
    main()
