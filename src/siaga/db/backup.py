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


# ------------------------------------------------------------------------- PostgreSQL, through pgBackRest

PG_RESTORE_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class PgRestored:
    """A pgBackRest restore running on a scratch PostgreSQL: its URL (Unix socket, trust, in a private folder)."""
    url: str
    backup_label: str
    backup_stopped_at: datetime | None
    target: str | None
    pg_version: str


def _pgbackrest(config: str | None, stanza: str, *args: str, timeout: float = PG_RESTORE_TIMEOUT_S) -> str:
    import subprocess

    if shutil.which("pgbackrest") is None:
        raise BackupError("pgBackRest is not installed (Debian `pgbackrest`): see docs/deployment.md section 8")
    cmd = ["pgbackrest", *([f"--config={os.path.abspath(config)}"] if config else []), f"--stanza={stanza}",
           *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/", **_as_postgres())
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"pgbackrest {args[-1]} failed: {' '.join(said[:3]) or f'exit {result.returncode}'}")
    return result.stdout


def _as_postgres() -> dict[str, object]:
    """PostgreSQL and pgBackRest's repository belong to the `postgres` OS user: as root, run them as it."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        pw = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise BackupError("running as root needs a `postgres` OS user (Debian's postgresql-common makes it)") from exc
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


@contextmanager
def pgbackrest_restored(stanza: str, database: str, *, config: str | None = None,
                        target: str | None = None) -> Iterator[PgRestored]:
    """The newest pgBackRest backup of `stanza` with the archived WAL — to its end, or to `target` (a time with
    its zone) — restored into a private scratch folder and started there as a PostgreSQL that listens on a Unix
    socket only, archives nothing (its WAL must never reach the repository) and waits for no replica; yielded
    once it is promoted; stopped and removed afterwards. The live cluster is never touched."""
    import json
    import signal
    import subprocess
    import time

    info = json.loads(_pgbackrest(config, stanza, "--output=json", "info", timeout=60) or "[]")
    sets = [b for s in info if s.get("name") == stanza for b in s.get("backup", [])]
    dbs = [d for s in info if s.get("name") == stanza for d in s.get("db", [])]
    if not sets or not dbs:
        raise BackupError(f"pgBackRest has no backup of stanza {stanza!r}: take one (`pgbackrest --stanza={stanza} "
                          "--type=full backup`)")
    newest = sets[-1]
    version = str(dbs[-1].get("version", ""))
    pg_bin = Path(f"/usr/lib/postgresql/{version}/bin")
    if not (pg_bin / "postgres").exists():
        raise BackupError(f"the backup is of PostgreSQL {version}, whose server is not installed here "
                          f"(Debian `postgresql-{version}`)")
    stopped = newest.get("timestamp", {}).get("stop")
    stopped_at = datetime.fromtimestamp(stopped, UTC) if isinstance(stopped, int | float) else None
    as_pg = _as_postgres()
    scratch = Path(tempfile.mkdtemp(prefix="siaga-pgrestore-"))
    data = scratch / "data"
    proc = None
    try:
        data.mkdir(mode=0o700)
        (scratch / "pg_hba.conf").write_text("local all all trust\n")  # the folder is private (0700)
        if as_pg:
            for path in (scratch, data, scratch / "pg_hba.conf"):
                os.chown(path, as_pg["user"], as_pg["group"])  # type: ignore[arg-type]
        os.chmod(scratch, 0o700)
        how = ["--type=time", f"--target={target}", "--target-action=promote"] if target else []
        # --reset-pg1-host: on the repository host pg1 names a database server; the restore is here, local.
        _pgbackrest(config, stanza, "--reset-pg1-host", f"--pg1-path={data}", "--archive-mode=off", *how, "restore")
        port = 5432  # a Unix socket in the private folder only: no port is taken on the host
        with open(scratch / "postgres.log", "ab") as log:
            proc = subprocess.Popen(
                [str(pg_bin / "postgres"), "-D", str(data), "-p", str(port), "-c", "listen_addresses=",
                 "-c", f"unix_socket_directories={scratch}", "-c", "archive_mode=off",
                 "-c", "synchronous_standby_names=", "-c", f"hba_file={scratch / 'pg_hba.conf'}",
                 "-c", f"ident_file={data / 'pg_ident.conf'}", "-c", "cluster_name=siaga-verify",
                 "-c", "log_min_messages=warning"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/", start_new_session=True,
                **as_pg)  # type: ignore[arg-type]
        url = f"postgresql://postgres@/{database}?host={scratch}&port={port}"
        deadline = time.monotonic() + PG_RESTORE_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise BackupError("the restored PostgreSQL stopped: "
                                  + " ".join((scratch / "postgres.log").read_text(errors="replace").splitlines()[-3:]))
            if _promoted(scratch, port):
                break
            if time.monotonic() > deadline:
                raise BackupError(f"the restore did not finish replaying WAL within {PG_RESTORE_TIMEOUT_S:.0f} s")
            time.sleep(0.25)
        yield PgRestored(url=url, backup_label=str(newest.get("label", "")), backup_stopped_at=stopped_at,
                         target=target, pg_version=version)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)


def _promoted(socket_dir: Path, port: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(host=str(socket_dir), port=port, user="postgres", dbname="postgres",
                             connect_timeout=2) as conn:
            return conn.execute("SELECT NOT pg_is_in_recovery()").fetchone()[0] is True  # type: ignore[index]
    except psycopg.Error:
        return False
