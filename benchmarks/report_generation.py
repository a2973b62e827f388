"""Period report generation for one year of a busy centre: 1,000,000 calls (and the incidents, assignments
and unit assignments of the emergency ones) on PostgreSQL and on SQLite.

The year is SYNTHETIC (numpy, fixed seed), shaped like a 112 centre that is staffed around the clock:
calls over 2025 with a day/night profile, ~9% abandoned, ~1% missed out of hours, answer times
exponential (mean 7 s), the outcome mix of Indonesian centres (most answered calls are pranks, ghosts and
wrong numbers; ~8% emergencies, each with an incident handled by one or two agencies). Rows are written
with COPY (PostgreSQL) and executemany (SQLite), straight into the tables, after `siaga db upgrade` and the
Bengkalis seed.

Measured, each the best of --repeat runs in one process:
- `kpi_year`: the report's data (every KPI: totals, by month, hour, day of week, category, kecamatan,
  agency, operator; NFPA processing; agency stage times) for the whole year;
- `pdf_year`, `xlsx_year`: the data plus rendering the PDF (WeasyPrint) / the XLSX;
- `kpi_month`: the report's data for one month (what a supervisor asks for most).
Baseline, in the same run on the same rows: a bare `SELECT count(*) FROM call WHERE offered_at in the
year` — the least any report must do (`ratio` = report / count). Target: the year's PDF within 60 s.

Usage: python benchmarks/report_generation.py [--calls 1000000] [--backends postgresql,sqlite]
       [--repeat 2] [--keep DIR]"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
from _common import PG_ADMIN_URL, emit, seed
from pypdf import PdfReader
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

BENCH = "report_generation"
YEAR = 2025
TARGET_PDF_S = 60.0
OUTCOMES_ANSWERED = ("emergency", "information", "prank", "ghost", "wrong_number", "test")
OUTCOME_WEIGHTS = (0.08, 0.12, 0.32, 0.28, 0.17, 0.03)
HOUR_WEIGHTS = np.array([2, 1.5, 1, 1, 1, 1.5, 3, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 6, 5, 4, 3], dtype=float)


def _stamp(values: np.ndarray, pg: bool) -> list[str | None]:
    """datetime64[us] (UTC) → the text each database stores; NaT → NULL."""
    text_values = np.datetime_as_string(values, unit="us")
    mask = np.isnat(values)
    suffix = "+00" if pg else ""
    return [None if m else s.replace("T", " ") + suffix for s, m in zip(text_values.tolist(), mask.tolist(),
                                                                         strict=True)]


def synthetic_year(n_calls: int, ref: dict, seed_value: int = 112) -> dict[str, list[tuple]]:
    """Rows for call, incident, assignment and unit_assignment, with explicit ids."""
    rng = np.random.default_rng(seed_value)
    start = np.datetime64(f"{YEAR - 1}-12-31T17:00:00", "us")  # 1 Jan 00:00 WIB
    days = rng.integers(0, 365, n_calls)
    hours = rng.choice(24, n_calls, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = rng.integers(0, 3600, n_calls)
    micro = rng.integers(0, 1_000_000, n_calls)
    offered = start + (days * 86400 + hours * 3600 + seconds) * 1_000_000 + micro
    offered = np.sort(offered).astype("datetime64[us]")
    fate = rng.random(n_calls)
    answered_mask = fate >= 0.10
    out_of_hours = fate < 0.01
    wait_us = np.minimum(rng.exponential(7.0, n_calls), 300) * 1_000_000
    answered = np.where(answered_mask, offered + wait_us.astype("timedelta64[us]"), np.datetime64("NaT"))
    outcome_idx = rng.choice(len(OUTCOMES_ANSWERED), n_calls, p=OUTCOME_WEIGHTS)
    outcomes = np.where(answered_mask, np.array(OUTCOMES_ANSWERED)[outcome_idx],
                        np.where(out_of_hours, "missed_out_of_hours", "abandoned"))
    talk_us = (rng.exponential(60.0, n_calls) * 1_000_000).astype("timedelta64[us]")
    ended = np.where(answered_mask, answered + talk_us, offered + (wait_us / 2).astype("timedelta64[us]"))
    operators = np.array(ref["operators"])[rng.integers(0, len(ref["operators"]), n_calls)]
    emergency = answered_mask & (outcomes == "emergency")
    incident_of = np.zeros(n_calls, dtype=np.int64)
    incident_of[emergency] = np.arange(1, int(emergency.sum()) + 1)

    n_inc = int(emergency.sum())
    created = answered[emergency] + np.timedelta64(10, "s")
    categories = np.array(ref["categories"])[rng.integers(0, len(ref["categories"]), n_inc)]
    kodes = np.array(ref["kodes"])[rng.integers(0, len(ref["kodes"]), n_inc)]
    creators = operators[emergency]
    pg = ref["pg"]
    call_rows = list(zip(
        range(1, n_calls + 1),
        [f"08{n % 10**10:010d}" for n in rng.integers(0, 10**10, n_calls).tolist()],
        np.where(answered_mask, "ended", "abandoned").tolist(),
        _stamp(offered, pg), _stamp(answered, pg), _stamp(ended.astype("datetime64[us]"), pg),
        [int(o) if a else None for o, a in zip(operators.tolist(), answered_mask.tolist(), strict=True)],
        outcomes.tolist(),
        [int(i) or None for i in incident_of.tolist()],
        strict=True))
    created_s = _stamp(created, pg)
    incident_rows = [(i + 1, f"BEN-{YEAR}-{i + 1:07d}", categories[i], 2, "closed", kodes[i], created_s[i],
                      int(creators[i])) for i in range(n_inc)]
    # One or two agencies per incident, with their stage times.
    agencies = ref["agencies"]
    n_asg_per = 1 + (rng.random(n_inc) < 0.3)
    inc_idx = np.repeat(np.arange(n_inc), n_asg_per)
    n_asg = len(inc_idx)
    notified = created[inc_idx] + np.timedelta64(3, "s")

    def later(base: np.ndarray, mean_s: float) -> np.ndarray:
        return base + (rng.exponential(mean_s, n_asg) * 1_000_000).astype("timedelta64[us]")

    acked = later(notified, 15)
    dispatched = later(acked, 25)
    on_scene = later(dispatched, 700)
    cleared = later(on_scene, 1800)
    first = np.cumsum(n_asg_per) - n_asg_per  # each incident's first assignment; the second takes the next agency
    position = np.arange(n_asg) - np.repeat(first, n_asg_per)
    agency_idx = (rng.integers(0, len(agencies), n_inc)[inc_idx] + position) % len(agencies)
    assignment_rows = list(zip(range(1, n_asg + 1), (inc_idx + 1).tolist(),
                               [agencies[a][0] for a in agency_idx.tolist()], ["cleared"] * n_asg,
                               _stamp(notified, pg), _stamp(acked, pg), _stamp(dispatched, pg),
                               _stamp(on_scene, pg), _stamp(cleared, pg), strict=True))
    unit_rows = [(i + 1, i + 1, int(inc_idx[i]) + 1, agencies[a][1], False, assignment_rows[i][6],
                  assignment_rows[i][7], assignment_rows[i][8])
                 for i, a in enumerate(agency_idx.tolist())]
    return {"incident": incident_rows, "call": call_rows, "assignment": assignment_rows,
            "unit_assignment": unit_rows}


COLUMNS = {
    "incident": ("id", "number", "category_code", "priority", "status", "kode_wilayah", "created_at", "created_by"),
    "call": ("id", "caller_number", "status", "offered_at", "answered_at", "ended_at", "operator_id", "outcome",
             "incident_id"),
    "assignment": ("id", "incident_id", "agency_id", "state", "notified_at", "acknowledged_at", "dispatched_at",
                   "on_scene_at", "cleared_at"),
    "unit_assignment": ("id", "assignment_id", "incident_id", "unit_id", "active", "dispatched_at", "on_scene_at",
                        "cleared_at"),
}
# Columns with a Python-side default in the models: given here so the raw inserts satisfy NOT NULL.
DEFAULTS = {
    "incident": {"address_text": "", "patokan": "", "description": "", "outcome_note": "", "answers": "{}",
                 "version": 1},
    "call": {"called_number": "112", "notes": "", "version": 1},
    "assignment": {"reason": "", "escalation_level": 0, "version": 1},
    "unit_assignment": {},
}


def reference(url: str, pg: bool) -> dict:
    """Operators (12 call-takers added here), categories, kode wilayah, agencies with a unit each."""
    from siaga.core.security import hash_password
    from siaga.db.engine import make_engine, unit_of_work
    from siaga.domains.agencies.models import Agency
    from siaga.domains.incidents.models import Category
    from siaga.domains.regions.models import Region
    from siaga.domains.units.models import Unit
    from siaga.domains.users.models import User

    engine = make_engine(url)
    with unit_of_work(engine) as db:
        from siaga.core.clock import Clock

        now = Clock().now()
        password = hash_password("bench-operator-x")
        for i in range(12):
            db.add(User(username=f"op{i:02d}", full_name=f"Operator {i:02d}", role="call_taker", agency_id=None,
                        password_hash=password, language="id", active=True, created_at=now))
        db.flush()
        operators = list(db.scalars(select(User.id).where(User.username.like("op%"))))
        categories = list(db.scalars(select(Category.code).where(Category.parent_code.is_(None))))
        kodes = list(db.scalars(select(Region.kode).where(Region.level.in_(("kecamatan", "desa", "kelurahan")))))
        agencies = []
        for agency in db.scalars(select(Agency).order_by(Agency.id)):
            unit = db.scalar(select(Unit.id).where(Unit.agency_id == agency.id).order_by(Unit.id))
            if unit is not None:
                agencies.append((agency.id, unit))
    engine.dispose()
    return {"operators": operators, "categories": categories, "kodes": kodes, "agencies": agencies, "pg": pg}


def load(url: str, rows: dict[str, list[tuple]], pg: bool) -> None:
    order = ("incident", "call", "assignment", "unit_assignment")
    if pg:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            with conn.cursor() as cur:
                cur.execute("SET session_replication_role = replica")  # no FK checks during the load
                for table in order:
                    extra = DEFAULTS[table]
                    cols = ", ".join((*COLUMNS[table], *extra))
                    tail = tuple(extra.values())
                    with cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                        for row in rows[table]:
                            copy.write_row(row + tail)
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                f"(SELECT MAX(id) FROM \"{table}\"))")
                cur.execute("ANALYZE")
        return
    import sqlite3

    path = make_url(url).database
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    for table in order:
        extra = DEFAULTS[table]
        cols = (*COLUMNS[table], *extra)
        tail = tuple(extra.values())
        conn.executemany(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})',
                         (row + tail for row in rows[table]))
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def best_of(repeat: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(backend: str, url: str, n_calls: int, repeat: int) -> None:
    from siaga.core.clock import SiteZone
    from siaga.db.engine import make_engine, open_session
    from siaga.domains.kpi.service import make_period
    from siaga.domains.reports import period as report_period
    from siaga.domains.reports import render

    engine = make_engine(url)
    wib = SiteZone.named("Asia/Jakarta")  # the benchmark's history is Bengkalis'
    year = make_period(date(YEAR, 1, 1), date(YEAR + 1, 1, 1), wib)
    month = make_period(date(YEAR, 10, 1), date(YEAR, 11, 1), wib)

    def build(period):  # type: ignore[no-untyped-def]
        session = open_session(engine, write=False, snapshot=True)
        try:
            with session.begin():
                return report_period.build(session, period, "id")
        finally:
            session.close()

    def count() -> int:
        bounds = {"s": year.start, "e": year.end}
        if backend == "sqlite":  # the stored text, compared as the app's queries do
            bounds = {k: v.strftime("%Y-%m-%d %H:%M:%S.%f") for k, v in bounds.items()}
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM call WHERE offered_at >= :s AND offered_at < :e"),
                                bounds).scalar_one()

    assert count() == n_calls
    baseline = best_of(repeat, count)
    common = {"backend": backend, "calls": n_calls}
    emit(BENCH, "kpi_year", best_of(repeat, lambda: build(year)), "s", baseline, higher_is_better=False, **common)
    document = render.pdf(build(year))
    emit(BENCH, "pdf_year", best_of(repeat, lambda: render.pdf(build(year))), "s", baseline, target=TARGET_PDF_S,
         higher_is_better=False, pdf_bytes=len(document), pages=len(PdfReader(io.BytesIO(document)).pages),
         **common)
    emit(BENCH, "xlsx_year", best_of(repeat, lambda: render.xlsx(build(year))), "s", baseline,
         higher_is_better=False, **common)
    emit(BENCH, "kpi_month", best_of(repeat, lambda: build(month)), "s", baseline, higher_is_better=False,
         month_calls=build(month).total.offered, **common)
    engine.dispose()


def run_backend(backend: str, n_calls: int, repeat: int, keep: Path | None) -> None:
    import subprocess

    t0 = time.perf_counter()
    if backend == "postgresql":
        name = "siaga_bench_report"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    else:
        folder = keep or Path(tempfile.mkdtemp(prefix="siaga-bench-report-"))
        folder.mkdir(parents=True, exist_ok=True)
        db_path = folder / "report.db"
        db_path.unlink(missing_ok=True)
        url = f"sqlite:///{db_path}"
    try:
        subprocess.run([sys.executable, "-m", "siaga", "db", "upgrade"], check=True, capture_output=True,
                       env={**os.environ, "SIAGA_DATABASE_URL": url})
        seed(url)
        pg = backend == "postgresql"
        rows = synthetic_year(n_calls, reference(url, pg))
        load(url, rows, pg)
        loaded = time.perf_counter() - t0
        print(f"# {backend}: {n_calls} calls, {len(rows['incident'])} incidents, "
              f"{len(rows['assignment'])} assignments loaded in {loaded:.1f} s", file=sys.stderr, flush=True)
        del rows
        measure(backend, url, n_calls, repeat)
    finally:
        if backend == "postgresql":
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
        elif keep is None:
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="keep the SQLite file in this folder")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        run_backend(backend.strip(), args.calls, args.repeat, args.keep)


if __name__ == "__main__":
    main()
