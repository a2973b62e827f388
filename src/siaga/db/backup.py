"""Backups of a SQLite installation (the small single-server setup) and their verification.

A backup is a consistent online copy made with SQLite's backup API (page by page under SQLite's own
locks, so the service keeps writing while it runs), written under a temporary name and renamed when
complete, so a backup folder never holds a half-written file under a backup's name. The folder keeps the
newest N; older ones are removed after a new one is complete, never before.

`verify` restores a backup into a scratch file, opens it, checks that its schema is at the head
migration this code expects and that the audit chain is intact, and says what it restored (the time of
the newest entry in the ledger and the rows per table). A regency runs it weekly (`siaga backup verify`).

PostgreSQL is backed up with pgBackRest (continuous WAL archiving, base backups, point-in-time restore),
not by Siaga: a copy from one process cannot give a point in time between two backups. `verify_restored`
runs the same checks on a copy pgBackRest restored (`siaga backup verify --database URL`)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

from siaga.core.audit import verify_chain
from siaga.core.clock import Clock
from siaga.db.engine import make_engine, open_session
from siaga.settings import Settings

PREFIX = "siaga-"
SUFFIX = ".db"
_NAME = re.compile(r"^siaga-(\d{8}T\d{6}Z)\.db$")


class BackupError(Exception):
    """Why a backup or its verification could not be done, in words for the person running it."""


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: datetime
    size: int


@dataclass
class Verified:
    backup: Backup
    schema_revision: str
    head_revision: str
    audit_entries: int
    audit_intact: bool
    audit_problem: str
    newest_entry_at: datetime | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.audit_intact and self.schema_revision == self.head_revision


def sqlite_path(database_url: str) -> Path:
    """The database file of a SQLite URL, or a BackupError naming what to use instead."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(f"{url.get_backend_name()} is backed up with pgBackRest (WAL archiving and base "
                          "backups, point-in-time restore), not with `siaga backup`: see docs/deployment.md")
    if not url.database or url.database == ":memory:":
        raise BackupError("this SQLite database lives in memory: there is no file to back up")
    return Path(url.database)


def backups(folder: Path) -> list[Backup]:
    """The complete backups in `folder`, oldest first (temporary files of a backup under way are not)."""
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            m = _NAME.match(path.name)
            if m and path.is_file():
                taken = datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                found.append(Backup(path=path, taken_at=taken, size=path.stat().st_size))
    return sorted(found, key=lambda b: b.taken_at)


def latest(folder: Path) -> Backup | None:
    found = backups(folder)
    return found[-1] if found else None


def take(database_url: str, folder: Path, keep: int, now: datetime) -> Backup:
    """One consistent copy of the live SQLite database into `folder`, then the oldest beyond `keep` removed."""
    source = sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"the database file {source} does not exist")
    if keep < 1:
        raise BackupError("keep at least one backup")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{PREFIX}{stamp}{SUFFIX}"
    if target.exists():
        raise BackupError(f"a backup taken this second already exists: {target}")
    fd, partial = tempfile.mkstemp(prefix=".partial-", suffix=SUFFIX, dir=folder)
    os.close(fd)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=1024)  # in steps: the service's writers get the lock between them
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
            src.close()
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, target)
        _fsync_dir(folder)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    for old in backups(folder)[:-keep]:
        old.path.unlink(missing_ok=True)
    return Backup(path=target, taken_at=now.astimezone(UTC).replace(microsecond=0), size=target.stat().st_size)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _scratch_copy(backup: Backup) -> Iterator[Engine]:
    """The backup restored into a scratch file: verification never touches the backup itself."""
    with tempfile.TemporaryDirectory(prefix="siaga-verify-") as tmp:
        scratch = Path(tmp) / "restored.db"
        shutil.copyfile(backup.path, scratch)
        engine = create_engine(f"sqlite:///{scratch}")
        try:
            yield engine
        finally:
            engine.dispose()


def verify(backup: Backup, head_revision: str) -> Verified:
    """Restore `backup` into a scratch database and check it: schema at `head_revision`, audit chain intact;
    with what it holds. A file that is not a SQLite database, or not Siaga's, is a BackupError."""
    try:
        with _scratch_copy(backup) as engine:
            with engine.connect() as conn:
                if conn.exec_driver_sql("PRAGMA integrity_check").scalar() != "ok":
                    raise BackupError(f"{backup.path.name} is damaged (SQLite integrity check failed)")
            return _check(engine, backup, head_revision, backup.path.name)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup.path.name} is not a readable SQLite database: {exc}") from exc
    except BackupError:
        raise
    except Exception as exc:
        if "file is not a database" in str(exc) or "malformed" in str(exc):
            raise BackupError(f"{backup.path.name} is not a readable SQLite database") from exc
        raise


def verify_restored(database_url: str, head_revision: str) -> Verified:
    """The same checks on a database already restored elsewhere — a PostgreSQL copy pgBackRest restored to a
    point in time on a scratch port (docs/operations.md), or a SQLite file: never the live database (the
    checks only read, but a restore is checked where it was restored)."""
    if database_url.startswith("sqlite"):
        path = sqlite_path(database_url)
        if not path.is_file():
            raise BackupError(f"{path} does not exist")
        with tempfile.TemporaryDirectory(prefix="siaga-verify-") as tmp:  # with its -wal, as SQLite reads it
            copy = Path(tmp) / path.name
            src, dst = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30), sqlite3.connect(copy)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
                src.close()
            result = verify(Backup(path=copy, taken_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                                   size=path.stat().st_size), head_revision)
        result.backup = Backup(path=path, taken_at=result.backup.taken_at, size=result.backup.size)
        return result
    engine = make_engine(database_url, pool_size=1)
    label = f"{engine.url.host or 'localhost'}:{engine.url.port or 5432}/{engine.url.database}"
    try:
        with engine.connect() as conn:
            size = int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0) \
                if engine.dialect.name == "postgresql" else 0
        return _check(engine, Backup(path=Path(label), taken_at=datetime.now(UTC), size=size), head_revision, label)
    except BackupError:
        raise
    except Exception as exc:
        raise BackupError(f"cannot read the restored database {label}: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()


def _check(engine: Engine, backup: Backup, head_revision: str, label: str) -> Verified:
    tables = set(inspect(engine).get_table_names())
    if "alembic_version" not in tables or "audit_log" not in tables:
        raise BackupError(f"{label} is not a Siaga database")
    with open_session(engine, write=False) as db:
        revision = db.scalar(text("SELECT version_num FROM alembic_version")) or ""
        chain = verify_chain(db)
        newest = db.scalar(text("SELECT max(at) FROM audit_log"))
        counts = {name: db.scalar(text(f'SELECT count(*) FROM "{name}"')) or 0
                  for name in sorted(tables) if name != "alembic_version"}
    return Verified(backup=backup, schema_revision=revision, head_revision=head_revision,
                    audit_entries=chain.entries, audit_intact=chain.ok, audit_problem="; ".join(chain.problems[:3]),
                    newest_entry_at=_as_utc(newest), counts=counts)


def _as_utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def scheduled_step(engine: Engine, clock: Clock, settings: Settings) -> int:
    """The ticker's job: when SIAGA_BACKUP_DIR is set on a SQLite installation, take a backup once the
    newest is SIAGA_BACKUP_INTERVAL_HOURS old (or there is none). An exclusive lock on the folder keeps two
    processes of one server from both taking it."""
    if not settings.backup_dir or engine.dialect.name != "sqlite" or settings.backup_interval_hours <= 0:
        return 0
    import fcntl

    folder = Path(settings.backup_dir)
    now = clock.now()

    def due() -> bool:
        newest = latest(folder)
        return newest is None or (now - newest.taken_at).total_seconds() >= settings.backup_interval_hours * 3600

    if not due():
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another process is taking it
        if not due():  # taken by another process while we looked
            return 0
        take(settings.database_url, folder, settings.backup_keep, now)
    return 1
