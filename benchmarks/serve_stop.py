"""How fast `siaga serve` stops on SIGTERM with consoles connected (issue #15: it used to wait up to 120 s "for
connections to close" while the consoles still showed "● Langsung" and every save failed).

N consoles hold the live event stream open (GET /api/v1/events, a dispatcher's token, as EventSource does);
then SIGTERM. Measured: SIGTERM → the process has exited, and SIGTERM → every console has been told (its
stream sent `event: reset` with `server_stopping`, or closed), so it reconnects to another process at once.
Baseline, same run: the same stop with no console connected. Target: exit ≤ 5 s with the consoles.

Usage: python benchmarks/serve_stop.py [--consoles 50] [--runs 3]"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
from _common import TOKENS, bench_database, emit, free_port

BENCH = "serve_stop"


def start(url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "SIAGA_DATABASE_URL": url, "SIAGA_SECRET_KEY": "bench"}
    proc = subprocess.Popen([sys.executable, "-m", "siaga", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("siaga serve did not start")
        time.sleep(0.2)


def open_consoles(base: str, n: int) -> list[socket.socket]:
    """n event streams, each past its response headers (the server holds them open)."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    request = (f"GET /api/v1/events HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
               f"Authorization: Bearer {TOKENS['bench_disp']}\r\n\r\n").encode()
    out = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("the event stream closed before its headers")
            head += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"event stream: {head.splitlines()[0]!r}")
        s.setblocking(False)
        out.append(s)
    return out


def stop(proc: subprocess.Popen, consoles: list[socket.socket]) -> tuple[float, float | None]:
    """SIGTERM; seconds until the process exits, and until the last console was told (None: no console)."""
    sel = selectors.DefaultSelector()
    for s in consoles:
        sel.register(s, selectors.EVENT_READ)
    told: dict[int, float] = {}
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGTERM)
    exited: float | None = None
    deadline = t0 + 180
    while (exited is None or len(told) < len(consoles)) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.01):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data or b"server_stopping" in data:
                told.setdefault(s.fileno(), time.monotonic() - t0)
                sel.unregister(s)
        if exited is None and proc.poll() is not None:
            exited = time.monotonic() - t0
    for s in consoles:
        s.close()
    if exited is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        raise RuntimeError("siaga serve did not stop within 180 s of SIGTERM")
    if len(told) < len(consoles):
        raise RuntimeError(f"{len(consoles) - len(told)} consoles were never told the server stopped")
    return exited, (max(told.values()) if told else None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--consoles", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with bench_database("siaga_bench_stop") as url:
        bare: list[float] = []
        loaded: list[float] = []
        told: list[float] = []
        for _ in range(args.runs):
            proc, _base = start(url)
            bare.append(stop(proc, [])[0])
            proc, base = start(url)
            consoles = open_consoles(base, args.consoles)
            exited, last_told = stop(proc, consoles)
            loaded.append(exited)
            assert last_told is not None
            told.append(last_told)
    common = {"consoles": args.consoles, "runs": args.runs, "database": "postgresql",
              "baseline_is": "the same stop with no console connected"}
    emit(BENCH, "sigterm_to_exit_with_consoles_median", statistics.median(loaded), "s", statistics.median(bare),
         target=5, higher_is_better=False, worst_s=round(max(loaded), 3), **common)
    emit(BENCH, "sigterm_to_every_console_told_median", statistics.median(told), "s", statistics.median(bare),
         target=5, higher_is_better=False, worst_s=round(max(told), 3), **common)


if __name__ == "__main__":
    main()
