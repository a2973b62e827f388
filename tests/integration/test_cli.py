"""The command line as an admin uses it: readable errors, idempotent demo load, one-time passwords."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import cli
from tests.cli import Ran


@pytest.fixture
def fresh_sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def siaga(url: str, *args: str) -> Ran:
    return cli.siaga(url, *args)


def test_help_lists_the_commands():
    out = siaga("sqlite:///:memory:", "--help").stdout
    for command in ("serve", "db", "users", "demo", "audit"):
        assert command in out


def test_commands_before_migration_say_what_to_do(fresh_sqlite):
    r = siaga(fresh_sqlite, "demo", "load")
    assert r.returncode == 1 and "siaga db upgrade" in r.stderr
    assert "Traceback" not in r.stderr


def test_upgrade_then_demo_load_twice_is_idempotent_and_prints_passwords_once(fresh_sqlite):
    assert siaga(fresh_sqlite, "db", "upgrade").returncode == 0
    first = siaga(fresh_sqlite, "demo", "load")
    assert first.returncode == 0, first.stderr
    assert "admin" in first.stdout and "one-time passwords" in first.stdout
    second = siaga(fresh_sqlite, "demo", "load")
    assert second.returncode == 0 and "nothing new" in second.stdout and "Demo incidents: 0" in second.stdout
    assert "siaga users password admin" in second.stdout
    assert siaga(fresh_sqlite, "audit", "verify").returncode == 0


def test_users_add_rejects_bad_input_readably(fresh_sqlite):
    siaga(fresh_sqlite, "db", "upgrade")
    siaga(fresh_sqlite, "demo", "load", "--no-incidents")
    r = siaga(fresh_sqlite, "users", "add", "Bad Name!", "--role", "call_taker", "--name", "X")
    assert r.returncode == 1 and "username" in r.stderr and "Traceback" not in r.stderr
    r = siaga(fresh_sqlite, "users", "add", "opd2", "--role", "agency_operator", "--name", "X", "--agency", "NOPE")
    assert r.returncode == 1 and "unknown agency" in r.stderr
    r = siaga(fresh_sqlite, "users", "add", "admin", "--role", "admin", "--name", "X")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = siaga(fresh_sqlite, "users", "add", "opd2", "--role", "agency_operator", "--name", "Op", "--agency", "damkar")
    assert r.returncode == 0 and "One-time password" in r.stdout


def test_password_reset_and_token(fresh_sqlite):
    siaga(fresh_sqlite, "db", "upgrade")
    siaga(fresh_sqlite, "demo", "load", "--no-incidents")
    r = siaga(fresh_sqlite, "users", "password", "admin")
    assert r.returncode == 0 and "New one-time password" in r.stdout
    assert siaga(fresh_sqlite, "users", "password", "ghost").returncode == 1
    r = siaga(fresh_sqlite, "users", "token", "admin", "--name", "bridge")
    assert r.returncode == 0 and "siaga_" in r.stdout


def test_serve_refuses_several_workers_on_sqlite(fresh_sqlite):
    r = siaga(fresh_sqlite, "serve", "--workers", "2")
    assert r.returncode == 1 and "PostgreSQL" in r.stderr


def test_the_demo_board_starts_under_way_not_red(fresh_sqlite):
    """The demo a newcomer opens: every agency has acknowledged and has a unit on its way, so no clock runs
    out in the first minutes (the earliest due is a unit's arrival, 15 minutes or more away), and operator1
    has no call left waiting for its outcome."""
    from datetime import datetime, timedelta

    from sqlalchemy import create_engine, text

    siaga(fresh_sqlite, "db", "upgrade")
    loaded = siaga(fresh_sqlite, "demo", "load")
    assert loaded.returncode == 0, loaded.stderr
    engine = create_engine(fresh_sqlite)
    with engine.connect() as conn:
        states = conn.execute(text("SELECT state FROM assignment")).scalars().all()
        assert states and set(states) == {"units_assigned"}
        pending = conn.execute(text("SELECT step, due_at FROM deadline WHERE state = 'pending'")).all()
        assert pending and {step for step, _ in pending} == {"on_scene"}
        now = datetime.now()
        assert min(datetime.fromisoformat(str(due)).replace(tzinfo=None) for _, due in pending) > \
            now + timedelta(minutes=14)
        unfinished = conn.execute(text("SELECT count(*) FROM call WHERE outcome IS NULL OR status != 'ended'"))
        assert unfinished.scalar() == 0
    engine.dispose()


def test_an_admin_gives_an_agency_its_number_from_the_command_line(fresh_sqlite):
    """The number a call-taker dials to join Damkar to a caller, set without a developer; a wrong one is said
    readably and changes nothing."""
    siaga(fresh_sqlite, "db", "upgrade")
    siaga(fresh_sqlite, "demo", "load", "--no-incidents")
    shown = siaga(fresh_sqlite, "site", "agency", "damkar")
    assert shown.returncode == 0 and "tidak ada / none" in shown.stdout, shown.stdout + shown.stderr
    bad = siaga(fresh_sqlite, "site", "agency", "DAMKAR", "--phone", "call me")
    assert bad.returncode == 1 and "only digits" in bad.stderr and "Traceback" not in bad.stderr
    set_ = siaga(fresh_sqlite, "site", "agency", "DAMKAR", "--phone", "(0766) 21-113")
    assert set_.returncode == 0 and "(0766) 21-113" in set_.stdout, set_.stdout + set_.stderr
    assert "(0766) 21-113" in siaga(fresh_sqlite, "site", "agency", "DAMKAR").stdout
    unknown = siaga(fresh_sqlite, "site", "agency", "NOPE", "--phone", "1")
    assert unknown.returncode == 1 and "unknown agency" in unknown.stderr
    assert siaga(fresh_sqlite, "audit", "verify").returncode == 0
