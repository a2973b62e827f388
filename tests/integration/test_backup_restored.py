"""`siaga backup verify --database URL`: the checks of a backup (schema at head, audit chain intact, what it
holds) on a database restored elsewhere — the PostgreSQL copy pgBackRest restores to a point in time
(docs/operations.md; tests/drill exercises the restore itself). On both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from siaga.db import backup
from tests.integration.test_backup import _tampered, siaga
from tests.integration.test_call_events import event, send


def test_verify_checks_a_restored_database_and_refuses_a_broken_chain(api, db_url, engine, tmp_path):
    send(api, event("r1", "offered", "2026-11-27T01:00:00Z", caller_number="081211112222"))
    r = siaga(db_url, "backup", "verify", "--database", db_url)
    assert r.returncode == 0, r.stderr
    assert "Backup verified" in r.stdout and "Checked the restored database" in r.stdout, r.stdout
    calls = engine.connect().execute(text("SELECT count(*) FROM call")).scalar()
    assert f"call {calls:,}," in r.stdout, r.stdout
    tamper = "UPDATE audit_log SET data = replace(data, 'r1', 'x1') WHERE seq = (SELECT max(seq) FROM audit_log)"
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # what someone with the database's keys could do: no triggers
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(tamper))
        broken = db_url
    else:
        copy = backup.take(db_url, tmp_path / "b", 1, datetime.now(UTC))
        broken = f"sqlite:///{_tampered(copy.path, tmp_path / 'edited.db', tamper)}"
    r = siaga(db_url, "backup", "verify", "--database", broken)
    assert r.returncode == 1 and "audit chain broken" in r.stderr and "cannot be trusted" in r.stderr, r.stderr


def test_verify_says_when_the_restored_database_cannot_be_read(db_url, tmp_path):
    r = siaga(db_url, "backup", "verify", "--database", "postgresql://siaga:x@127.0.0.1:1/siaga?connect_timeout=2")
    assert r.returncode == 1 and "cannot read the restored database 127.0.0.1:1/siaga" in r.stderr, r.stderr
    r = siaga(db_url, "backup", "verify", "--database", f"sqlite:///{tmp_path / 'none.db'}")
    assert r.returncode == 1 and "does not exist" in r.stderr
    r = siaga(db_url, "backup", "verify", "x.db", "--database", db_url)
    assert r.returncode == 1 and "not both" in r.stderr
    r = siaga(db_url, "backup", "verify", "--target", "2026-12-05 10:00:00+07")
    assert r.returncode == 1 and "--pgbackrest STANZA" in r.stderr
    r = siaga(db_url, "backup", "verify", "--pgbackrest", "nosuch", "--pgbackrest-config", str(tmp_path / "none.conf"))
    assert r.returncode == 1 and "pgbackrest info failed" in r.stderr and "Traceback" not in r.stderr, r.stderr
