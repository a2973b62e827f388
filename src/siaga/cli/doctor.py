"""`siaga doctor`: one table of what a technician checks first at 3 a.m. — the database, its clock, the audit
chain, the ticker, the SIP edge and its bridge, who is on duty while calls wait, disk space and backups —
each ok, a warning, or a problem that needs a person now (exit 1). Read-only: it changes nothing."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from siaga.cli import alembic_config, app, out
from siaga.core.clock import Clock
from siaga.db import backup
from siaga.db.engine import engine_for, open_session
from siaga.settings import Settings, get_settings

OK, WARN, FAIL = "ok", "warn", "fail"
CLOCK_SKEW_FAIL_S = 2.0  # deadlines and answer times are reckoned across hosts
EDGE_SILENT_S = 30  # the bridge writes a heartbeat every few seconds
DEADLINE_LATE_S = 30  # the ticker runs every second in every process
DISK_FAIL_BYTES = 1 << 30
DISK_WARN_SHARE = 0.10


@dataclass
class Check:
    name: str
    state: str
    detail: str


def _database(settings: Settings) -> tuple[list[Check], Session | None]:
    from alembic.script import ScriptDirectory

    engine = engine_for(settings.database_url)
    try:
        db = open_session(engine, write=False)
        db.execute(text("SELECT 1"))
    except Exception as exc:  # whatever it is, the person needs to read it
        return [Check("database", FAIL, f"{engine.dialect.name}: cannot connect ({type(exc).__name__}: "
                                        f"{str(exc).splitlines()[0][:160]})")], None
    checks = []
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        revision = db.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:
        db.rollback()
        revision = None
    if revision != head:
        checks.append(Check("database", FAIL, f"schema at {revision or 'nothing'}, this version needs {head}: "
                                              "run `siaga db upgrade`"))
        return checks, None
    if engine.dialect.name == "postgresql" and db.scalar(text("SELECT pg_is_in_recovery()")):
        checks.append(Check("database", FAIL, "connected to a read-only standby: point SIAGA_DATABASE_URL at the "
                                              "primary (or add target_session_attrs=read-write)"))
    else:
        checks.append(Check("database", OK, f"{engine.dialect.name}, schema at {head}, writable"))
    return checks, db


def _clock(db: Session) -> Check:
    if db.get_bind().dialect.name != "postgresql":
        return Check("clock", OK, "SQLite: the database is on this host")
    before = time.time()
    server = db.scalar(text("SELECT extract(epoch FROM clock_timestamp())"))
    after = time.time()
    skew = float(server) - (before + after) / 2
    state = FAIL if abs(skew) > CLOCK_SKEW_FAIL_S else OK
    return Check("clock", state, f"{skew:+.2f} s against the database server"
                 + (": fix time sync (chrony/NTP) on both hosts" if state == FAIL else ""))


def _audit(db: Session) -> Check:
    from siaga.core.audit import verify_chain

    result = verify_chain(db)
    if not result.ok:
        return Check("audit log", FAIL, f"chain broken ({len(result.problems)} problem(s)): run `siaga audit verify`")
    return Check("audit log", OK, f"chain intact, {result.entries:,} entries")


def _ticker(db: Session, now: datetime) -> Check:
    from siaga.domains.incidents.models import Deadline

    pending, late = db.execute(select(func.count(), func.count().filter(
        Deadline.due_at < now - timedelta(seconds=DEADLINE_LATE_S))).where(Deadline.state == "pending")).one()
    if late:
        return Check("ticker", FAIL, f"{late} deadline(s) past due and not fired: no `siaga serve` is running its "
                                     "ticker, so escalations are not sent. Start the service")
    return Check("ticker", OK, f"{pending} deadline(s) running, none late")


def _edge(db: Session, now: datetime, settings: Settings) -> Check:
    from siaga.domains.telephony import service

    st = service.status(db, now)
    if st.edge.last_seen_at is None and not st.lines:
        return Check("SIP edge", OK, "not used here (calls come through the call-event API)")
    seen = st.edge.last_seen_at
    if seen is None or (now - seen).total_seconds() > EDGE_SILENT_S:
        when = f"last heard {int((now - seen).total_seconds())} s ago" if seen else "never heard from"
        return Check("SIP edge", FAIL, f"bridge not connected ({when}): `siaga telephony status`; is "
                                       "SIAGA_TELEPHONY_BRIDGE=true on a running `siaga serve`?")
    unregistered = sum(1 for line in st.lines if not line.registered)
    detail = f"bridge connected; {len(st.lines) - unregistered} of {len(st.lines)} phone(s) registered"
    return Check("SIP edge", WARN if unregistered and len(st.lines) == unregistered else OK, detail)


def _on_duty(db: Session, now: datetime) -> Check:
    from siaga.domains.calls.models import Call
    from siaga.domains.stats.service import WAITING_STATUSES, operators_on_duty

    waiting, oldest = db.execute(select(func.count(), func.min(Call.offered_at))
                                 .where(Call.status.in_(WAITING_STATUSES))).one()
    on_duty, counted_by = operators_on_duty(db, now)
    if waiting and not on_duty:
        return Check("on duty", FAIL, f"{waiting} call(s) waiting ({int((now - oldest).total_seconds())} s) and no "
                                      "operator on duty: call the shift supervisor")
    return Check("on duty", OK, f"{on_duty} operator(s) on duty ({counted_by}), {waiting} call(s) waiting")


def _disk(settings: Settings) -> list[Check]:
    places: dict[str, Path] = {}
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        places["database"] = Path(url.database).resolve().parent
    places["data"] = Path(settings.data_dir)
    if settings.backup_dir:
        places["backups"] = Path(settings.backup_dir)
    checks, seen = [], set()
    for what, path in places.items():
        while not path.exists() and path != path.parent:
            path = path.parent
        usage = shutil.disk_usage(path)
        if path.stat().st_dev in seen:
            continue
        seen.add(path.stat().st_dev)
        share = usage.free / usage.total if usage.total else 0
        state = FAIL if usage.free < DISK_FAIL_BYTES else WARN if share < DISK_WARN_SHARE else OK
        checks.append(Check(f"disk ({what})", state,
                            f"{usage.free / (1 << 30):.1f} GiB free ({share:.0%}) at {path.resolve()}"))
    return checks


def _backups(settings: Settings, now: datetime) -> Check:
    if make_url(settings.database_url).get_backend_name() != "sqlite":
        if shutil.which("pgbackrest") is None:
            return Check("backups", WARN, "PostgreSQL: no pgBackRest on this host; back up with pgBackRest "
                                          "(docs/operations.md)")
        return Check("backups", OK, "PostgreSQL: pgBackRest installed; check it with `pgbackrest info`")
    if not settings.backup_dir:
        return Check("backups", WARN, "no SIAGA_BACKUP_DIR: nothing backs this database up (docs/operations.md)")
    newest = backup.latest(Path(settings.backup_dir))
    if newest is None:
        return Check("backups", FAIL, f"no backup in {settings.backup_dir}: run `siaga backup`")
    age_h = (now - newest.taken_at).total_seconds() / 3600
    limit = max(settings.backup_interval_hours, 1) * 1.5
    if settings.backup_interval_hours and age_h > limit:
        return Check("backups", FAIL, f"newest backup is {age_h:.0f} h old (every {settings.backup_interval_hours:g} h "
                                      "expected): is the service running? `siaga backup` takes one now")
    return Check("backups", OK, f"newest {age_h:.1f} h old: {newest.path.name}")


def diagnose(settings: Settings, now: datetime) -> list[Check]:
    checks, db = _database(settings)
    if db is not None:
        try:
            for check in (_clock, _audit):
                checks.append(check(db))
            checks.append(_ticker(db, now))
            checks.append(_edge(db, now, settings))
            checks.append(_on_duty(db, now))
        finally:
            db.close()
    checks += _disk(settings)
    checks.append(_backups(settings, now))
    return checks


@app.command("doctor")
def doctor(as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
    """Health of this installation: database, clock, audit log, ticker, SIP edge, operators on duty, disk,
    backups. Exits 1 when something needs a person now; warnings alone exit 0."""
    checks = diagnose(get_settings(), Clock().now())
    if as_json:
        out.print_json(json.dumps([asdict(c) for c in checks]))
    else:
        table = Table("", "check", "detail", show_lines=False)
        marks = {OK: "[green]✓[/]", WARN: "[yellow]![/]", FAIL: "[bold red]✗[/]"}
        for c in checks:
            table.add_row(marks[c.state], c.name, c.detail)
        out.print(table)
    if any(c.state == FAIL for c in checks):
        raise typer.Exit(1)
