"""Shared by the benchmarks: a throwaway PostgreSQL database with the Bengkalis seed and an API token,
a `siaga serve` process on it, and the one JSON line format every benchmark prints."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from siaga.core.authz import SYSTEM
from siaga.core.clock import Clock
from siaga.core.context import Ctx
from siaga.db.engine import make_engine, normalise_url, unit_of_work
from siaga.settings import Settings

PG_ADMIN_URL = normalise_url(os.environ.get("SIAGA_BENCH_DATABASE_URL",
                                            os.environ.get("SIAGA_TEST_DATABASE_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres")))


def emit(benchmark: str, metric: str, value: float, unit: str, baseline: float | None,
         target: float | None = None, higher_is_better: bool = True, **extra: Any) -> None:
    """One line: value, the baseline measured in the same run, their ratio, the target and whether met."""
    ratio = (value / baseline) if baseline else None
    ok: bool | None = None
    if target is not None:
        measured = ratio if unit == "ratio_target" else value
        ok = measured >= target if higher_is_better else measured <= target
    line = {"benchmark": benchmark, "metric": metric, "value": round(value, 3), "unit": unit,
            "baseline": None if baseline is None else round(baseline, 3),
            "ratio": None if ratio is None else round(ratio, 4), "target": target, "ok": ok, **extra}
    print(json.dumps(line), flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def bench_database(name: str) -> Iterator[str]:
    """A fresh database: migrated, Bengkalis reference loaded, a telephony and a call-taker token."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        subprocess.run([sys.executable, "-m", "siaga", "db", "upgrade"], check=True, capture_output=True,
                       env={**os.environ, "SIAGA_DATABASE_URL": url})
        seed(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


TOKENS = {"bench_ct": "siaga_bench_call_taker", "bench_phone": "siaga_bench_telephony",
          "bench_disp": "siaga_bench_dispatcher"}


def seed(url: str) -> None:
    from siaga.core.security import digest, hash_password
    from siaga.data.load import load_reference
    from siaga.domains.users.models import ApiToken, User

    engine = make_engine(url)
    roles = {"bench_ct": "call_taker", "bench_phone": "telephony", "bench_disp": "dispatcher"}
    with unit_of_work(engine) as db:
        ctx = Ctx(db=db, actor=SYSTEM, clock=Clock(), settings=Settings())
        load_reference(ctx)
        for username, role in roles.items():
            user = User(username=username, full_name=username, role=role, agency_id=None,
                        password_hash=hash_password("bench-password-x"), language="id", active=True,
                        created_at=ctx.now())
            db.add(user)
            db.flush()
            db.add(ApiToken(user_id=user.id, name="bench", token_hash=digest(TOKENS[username]),
                            prefix="siaga_bench", created_at=ctx.now()))
    engine.dispose()


@contextmanager
def server(url: str, workers: int = 1) -> Iterator[str]:
    """`siaga serve` on the benchmark database."""
    env = {**os.environ, "SIAGA_DATABASE_URL": url, "SIAGA_SECRET_KEY": "bench"}
    with serving(["siaga", "serve", "--workers", str(workers)], env, "/api/v1/health") as base:
        yield base


_SERVED: dict[str, int] = {}  # base URL -> the pid of the process serving it (its session's leader)


def served_cpu_seconds(base: str) -> float:
    """CPU time (user + system) used so far by the process serving `base` and its children (uvicorn's
    workers): a service's cost per request that other load on the machine does not change."""
    pid = _SERVED[base]
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(stat[1]) == pid:  # the leader, or one of its children
            total += (int(stat[11]) + int(stat[12])) / tick
    return total


@contextmanager
def serving(module_args: list[str], env: dict[str, str], ready_path: str) -> Iterator[str]:
    """`python -m <module_args> --port P` in a session of its own, until `ready_path` answers 200; killed
    (the whole session: workers too) on exit."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", *module_args, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    _SERVED[base] = proc.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + ready_path, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(module_args)} did not start")
            time.sleep(0.2)
        yield base
    finally:
        _SERVED.pop(base, None)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
