"""Backups of a SQLite installation as a regency's technician uses them: `siaga backup` while the service
writes, the ticker's schedule keeping N, and `siaga backup verify` restoring a copy and refusing one that
was damaged, tampered with or is not Siaga's. PostgreSQL is pgBackRest's job, and the command says so."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from siaga.db import backup
from tests.conftest import BACKEND
from tests.integration.test_call_events import event, send

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite backups; PostgreSQL's are pgBackRest's")


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def siaga(url: str, *args: str, **env: str) -> Ran:
    """`siaga …` in this process (a new interpreter per command costs seconds on this machine)."""
    from typer.testing import CliRunner

    from siaga.cli import app
    from siaga.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args), env={"SIAGA_DATABASE_URL": url, "SIAGA_BACKUP_DIR": "",
                                                          "COLUMNS": "200", **env})
    finally:
        get_settings.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_a_backup_taken_while_calls_arrive_restores_whole_and_verified(api, db_url, tmp_path):
    """The copy is consistent although the service keeps writing while it is taken: the audit chain in the
    copy is intact, and every call in it is whole."""
    stop = threading.Event()

    def calls() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            send(api, event(f"w{i}", "offered", "2026-11-27T01:00:00Z", ref=f"busy-{i}"))

    writer = threading.Thread(target=calls)
    writer.start()
    try:
        taken = siaga(db_url, "backup", "--dir", str(tmp_path / "b"))
    finally:
        stop.set()
        writer.join()
    assert taken.returncode == 0, taken.stderr
    assert "Backup written" in taken.stdout
    verified = siaga(db_url, "backup", "verify", "--dir", str(tmp_path / "b"))
    assert verified.returncode == 0, verified.stderr + verified.stdout
    assert "Backup verified" in verified.stdout and "audit chain intact" in verified.stdout
    assert "Newest audit entry" in verified.stdout and "call " in verified.stdout
    [only] = backup.backups(tmp_path / "b")
    with sqlite3.connect(only.path) as conn:
        # each call in the copy came with its event row (one transaction): nothing half-written
        orphans = conn.execute("SELECT count(*) FROM call WHERE external_ref LIKE 'busy-%' AND id NOT IN "
                               "(SELECT call_id FROM call_event WHERE call_id IS NOT NULL)").fetchone()[0]
        assert orphans == 0
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, no -wal beside it
    assert not [p for p in (tmp_path / "b").iterdir() if p.name.startswith(".partial-")]


def _tampered(source: Path, target: Path, sql: str) -> Path:
    target.write_bytes(source.read_bytes())
    with sqlite3.connect(target) as conn:  # as someone holding the file would: the guards dropped first
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute(sql)
    return target


def test_verify_refuses_a_tampered_an_outdated_a_foreign_and_a_damaged_backup(api, settings, clock, tmp_path,
                                                                              db_url):
    send(api, event("e1", "offered", "2026-11-27T01:00:00Z", caller_number="081211112222"))
    good = backup.take(settings.database_url, tmp_path / "b", 5, clock.now())
    edited = _tampered(good.path, tmp_path / "edited.db",
                       "UPDATE audit_log SET data = replace(data, 'e', 'x') "
                       "WHERE seq = (SELECT max(seq) FROM audit_log)")
    r = siaga(db_url, "backup", "verify", str(edited))
    assert r.returncode == 1 and "audit chain broken" in r.stderr and "cannot be trusted" in r.stderr, r.stderr
    old = _tampered(good.path, tmp_path / "old.db", "UPDATE alembic_version SET version_num = '0001'")
    r = siaga(db_url, "backup", "verify", str(old))
    assert r.returncode == 1 and "siaga db upgrade" in r.stderr
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    r = siaga(db_url, "backup", "verify", str(foreign))
    assert r.returncode == 1 and "not a Siaga database" in r.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 200)
    r = siaga(db_url, "backup", "verify", str(junk))
    assert r.returncode == 1 and "not a readable SQLite database" in r.stderr
    assert "Traceback" not in r.stderr
    assert backup.verify(good, backup.verify(good, "").schema_revision).ok  # the original stays good


def test_the_ticker_takes_a_backup_when_due_and_keeps_the_newest(engine, settings, clock, tmp_path):
    folder = tmp_path / "b"
    s = settings.model_copy(update={"backup_dir": str(folder), "backup_interval_hours": 24, "backup_keep": 2})
    assert backup.scheduled_step(engine, clock, s) == 1  # none yet: at once
    assert backup.scheduled_step(engine, clock, s) == 0  # fresh
    clock.advance(hours=23)
    assert backup.scheduled_step(engine, clock, s) == 0
    for _ in range(3):
        clock.advance(hours=24)
        assert backup.scheduled_step(engine, clock, s) == 1
    kept = backup.backups(folder)
    assert [b.taken_at for b in kept] == [clock.now().replace(microsecond=0) - timedelta(hours=24),
                                          clock.now().replace(microsecond=0)]
    assert backup.scheduled_step(engine, clock, s.model_copy(update={"backup_dir": ""})) == 0


def test_backup_needs_a_folder_and_says_where_postgresql_backups_come_from(db_url, tmp_path):
    r = siaga(db_url, "backup")
    assert r.returncode == 1 and "--dir" in r.stderr and "SIAGA_BACKUP_DIR" in r.stderr
    with pytest.raises(backup.BackupError, match="pgBackRest"):
        backup.take("postgresql://siaga@127.0.0.1/siaga", tmp_path, 3, backup.datetime.now(backup.UTC))
    r = siaga(db_url, "backup", "verify", "--dir", str(tmp_path / "none"))
    assert r.returncode == 1 and "no backups" in r.stderr
