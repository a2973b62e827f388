"""Writing simulated history: how fast `siaga simulate --write` fills a database, on PostgreSQL and SQLite.

A busy centre's year is about a million calls (2,740 a day); the KPI and report benchmarks need one, so the
writer should take minutes, not hours. The scenario is bengkalis-24x7 with its daily rate raised so that
`--calls` calls (default 100,000) fall in whole days from 1 January 2026, staffed 24/7 by a roster large
enough for the load (the queue model still runs for every call).

Measured: calls written per second, end to end (generate, queue, incidents with their response-plan
agencies, calls, locations, one commit). Baseline, in the same run: the same stream generated and queued in
memory with nothing written — the ceiling the database work is measured against. Target: ≥ 1,000 calls/s
(a million-call year in under 17 minutes).

Usage: python benchmarks/simulate_history.py [--calls 100000] [--only postgresql|sqlite]"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from _common import bench_database, emit, seed

from siaga.core.authz import SYSTEM
from siaga.core.clock import Clock, SiteZone
from siaga.core.context import Ctx
from siaga.db.engine import make_engine, unit_of_work
from siaga.domains.simulate import actions, engine, reference, scenario
from siaga.settings import Settings

WIB = SiteZone.named("Asia/Jakarta")  # the Bengkalis scenario's zone

BENCH = "simulate_history"
TARGET = 1000.0


def busy(calls: int) -> tuple[scenario.Scenario, scenario.Roster, date, date]:
    base = scenario.load("bengkalis-24x7")
    days = max(1, math.ceil(calls / 2740))
    per_day = calls / days
    start = date(2026, 1, 1)
    end = start + timedelta(days=days - 1)
    sc = dataclasses.replace(base, calls_per_day=per_day, offered_total=None, start=start, end=end)
    return sc, scenario.recommended_roster(sc), start, end


def in_memory(sc: scenario.Scenario, roster: scenario.Roster, start: date, end: date) -> tuple[int, float]:
    t = time.perf_counter()
    calls = engine.generate(sc, reference.places_from_csv(), reference.categories_from_csv(), sc.seed, start, end,
                            zone=WIB)
    n = sum(1 for _ in engine.run(calls, engine.Queue(roster, start, end, WIB)))
    return n, time.perf_counter() - t


def write(url: str, sc: scenario.Scenario, roster: scenario.Roster, start: date, end: date) -> tuple[int, float]:
    eng = make_engine(url)
    t = time.perf_counter()
    with unit_of_work(eng) as db:
        result = actions.write_history(Ctx(db=db, actor=SYSTEM, clock=Clock(), settings=Settings()), sc, roster,
                                       sc.seed, start, end)
    elapsed = time.perf_counter() - t
    eng.dispose()
    return result.calls, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    args = parser.parse_args()
    sc, roster, start, end = busy(args.calls)
    n, base_s = in_memory(sc, roster, start, end)
    baseline = n / base_s
    if args.only in (None, "postgresql"):
        with bench_database("siaga_bench_simulate") as url:
            calls, elapsed = write(url, sc, roster, start, end)
        emit(BENCH, "calls_written_per_s", calls / elapsed, "calls/s", baseline, TARGET, database="postgresql",
             calls=calls, seconds=round(elapsed, 1), roster_peak=roster.max_operators)
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            subprocess.run([sys.executable, "-m", "siaga", "db", "upgrade"], check=True, capture_output=True,
                           env={**os.environ, "SIAGA_DATABASE_URL": url})
            seed(url)
            calls, elapsed = write(url, sc, roster, start, end)
        emit(BENCH, "calls_written_per_s", calls / elapsed, "calls/s", baseline, TARGET, database="sqlite",
             calls=calls, seconds=round(elapsed, 1), roster_peak=roster.max_operators)


if __name__ == "__main__":
    main()
