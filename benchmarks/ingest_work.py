"""The work one request costs, counted rather than timed: Python function calls (Python and C, every thread
of the server) and SQL statements per call event and per incident, against the stack's one-insert app
(_one_insert_app.py: FastAPI, pydantic and SQLAlchemy doing one INSERT and COMMIT) counted the same way in
the same run. Counts do not move with the machine's speed or with other load on it, as CPU time does (on
this 2-core VM the CPU per request of one build varies by ±20 % between rounds of one run: see
ingest_throughput.py's per-round figures), so a regression in the hot path shows here run after run.

Each app runs under uvicorn in a thread of this process with a counting profiler on every thread it starts
(`threading.setprofile`), the load is one client in the main thread (not counted) sending requests one
after the other. The ticker is off (`SIAGA_DEADLINE_TICK_SECONDS=0`): its work does not depend on requests.

Targets (issue #13, proposed in ARCHITECTURE.md "Known limits" in place of the rate targets that the stack
cannot reach): function calls per request at most 4.5x the one-insert app's for a call event and 7x for an
incident (measured 2026-12-05: 4.34x and 6.77x; the code before the Core hot path, e36eb4b, counted the same
way: 5.71x and 8.86x); SQL statements at most 5 per call event and 9 per incident (4.05 and 9; before: 4.03
and 11). Three runs of one build agreed within 0.1 %.

Usage: python benchmarks/ingest_work.py [--requests 300]"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from _common import TOKENS, bench_database, emit, free_port
from sqlalchemy import event
from sqlalchemy.engine import Engine

CALLS_TARGETS = {"call_event": 4.5, "incident": 7.0}  # x the one-insert app's function calls per request
STATEMENTS_TARGETS = {"call_event": 5.0, "incident": 9.0}

_calls = itertools.count()  # next() on it is one C call: safe from every thread under the GIL
_statements = itertools.count()


def _profile(frame: Any, event_name: str, arg: Any) -> None:
    if event_name == "call" or event_name == "c_call":
        next(_calls)


@event.listens_for(Engine, "before_cursor_execute")
def _count_statement(*_args: Any) -> None:
    next(_statements)


def _peek(counter: itertools.count) -> int:
    return int(repr(counter)[6:-1])  # count(N): read without advancing


class _Requests:
    """ASGI wrapper counting the HTTP requests an app has finished."""

    def __init__(self, app: Callable) -> None:
        self.app = app
        self.done = 0

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.done += 1


@contextmanager
def served(app: Callable) -> Iterator[tuple[str, _Requests]]:
    """`app` under uvicorn in a thread of its own, counted by the profiler from its first instruction."""
    counted = _Requests(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(counted, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    threading.setprofile(_profile)  # for every thread started from now on: the server's and its workers'
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("the server under count did not start")
        time.sleep(0.05)
    try:
        yield base, counted
    finally:
        server.should_exit = True
        thread.join(30)
        threading.setprofile(None)  # type: ignore[arg-type]


def send(http: httpx.Client, kind: str) -> None:
    key = uuid.uuid4().hex
    if kind == "incident":
        r = http.post("/api/v1/incidents", json={"category_code": "kebakaran", "description": key},
                      headers={"Authorization": f"Bearer {TOKENS['bench_ct']}", "Idempotency-Key": key})
    else:
        r = http.post("/api/v1/call-events", json={
            "event_id": key, "call_ref": key, "type": "offered", "at": "2026-11-27T01:00:00Z",
            "caller_number": "0812" + key[:8]}, headers={"Authorization": f"Bearer {TOKENS['bench_phone']}"})
    if r.status_code != 201:
        raise SystemExit(f"{kind}: {r.status_code} {r.text[:300]}")


def count(base: str, counted: _Requests, kind: str, requests: int) -> tuple[float, float]:
    """Function calls and SQL statements per request of `kind`, after a warm-up."""
    with httpx.Client(base_url=base, timeout=60) as http:
        for _ in range(20):
            send(http, kind)
        calls, statements, done = _peek(_calls), _peek(_statements), counted.done
        for _ in range(requests):
            send(http, kind)
        n = counted.done - done
        return (_peek(_calls) - calls) / n, (_peek(_statements) - statements) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    with bench_database("siaga_bench_work") as url:
        os.environ.update({"BENCH_DATABASE_URL": url, "SIAGA_DATABASE_URL": url, "SIAGA_SECRET_KEY": "bench",
                           "SIAGA_DEADLINE_TICK_SECONDS": "0"})
        from psycopg import connect
        with connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, at timestamptz, "
                         "payload text)")
        import _one_insert_app

        from siaga.app import create_app

        with served(_one_insert_app.app) as (base, counted):
            baseline_calls, baseline_statements = count(base, counted, "call_event", args.requests)
        emit("ingest_work_one_insert", "function_calls_per_request", baseline_calls, "calls", None,
             statements_per_request=round(baseline_statements, 2), requests=args.requests)
        with served(create_app()) as (base, counted):
            for kind in ("call_event", "incident"):
                calls, statements = count(base, counted, kind, args.requests)
                common = {"requests": args.requests, "database": "postgresql"}
                emit(f"ingest_work_{kind}", "function_calls_per_request", calls, "ratio_target", baseline_calls,
                     target=CALLS_TARGETS[kind], higher_is_better=False, **common)
                emit(f"ingest_work_{kind}", "sql_statements_per_request", statements, "statements",
                     baseline_statements, target=STATEMENTS_TARGETS.get(kind), higher_is_better=False, **common)


if __name__ == "__main__":
    main()
