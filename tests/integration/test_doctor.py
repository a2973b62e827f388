"""`siaga doctor` as the technician on call reads it: each check ok, a warning, or a problem that needs a
person (exit 1), said in words with what to do."""

from __future__ import annotations

import json
import shutil

from siaga.db import backup
from tests.conftest import BACKEND
from tests.integration.test_backup import siaga
from tests.integration.test_call_events import event, send


def checks(result) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    return {c["name"]: c for c in json.loads(result.stdout)}


def test_a_healthy_installation_is_all_ok_but_says_what_is_missing(db_url):
    r = siaga(db_url, "doctor", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    c = checks(r)
    assert c["database"]["state"] == "ok" and "writable" in c["database"]["detail"]
    assert c["clock"]["state"] == "ok" and c["audit log"]["state"] == "ok" and c["ticker"]["state"] == "ok"
    assert c["SIP edge"]["detail"].startswith("not used here")
    # Nothing backs it up: said, without failing the check. On PostgreSQL that is pgBackRest's job, and the check
    # says only whether it is installed (`make drill` installs it: the test must not depend on which ran first).
    pgbackrest = db_url.startswith("postgresql") and shutil.which("pgbackrest") is not None
    assert c["backups"]["state"] == ("ok" if pgbackrest else "warn"), c["backups"]
    assert any(name.startswith("disk") and v["state"] == "ok" for name, v in c.items())


def test_late_deadlines_and_a_waiting_call_with_nobody_on_duty_need_a_person(api, db_url):
    """The test clock stands days before today: a deadline scheduled now is long past due in real time,
    as it would be with no ticker running."""
    from tests.integration.test_deadlines import new_incident
    from tests.integration.test_deadlines import send as send_to

    send_to(api, new_incident(api), "DAMKAR")
    send(api, event("e1", "offered", "2026-11-27T01:00:00Z", ref="waiting"))
    r = siaga(db_url, "doctor")
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    text = " ".join(r.stdout.split())
    assert "past due and not fired" in text and "escalations are not sent" in text
    assert "no operator on duty" in text
    c = checks(siaga(db_url, "doctor", "--json"))
    assert c["ticker"]["state"] == "fail" and c["on duty"]["state"] == "fail"
    assert c["database"]["state"] == "ok"


def test_backups_missing_or_present(db_url, settings, clock, tmp_path):
    folder = tmp_path / "backups"
    if BACKEND != "sqlite":
        assert "pgBackRest" in checks(siaga(db_url, "doctor", "--json"))["backups"]["detail"]
        return
    r = siaga(db_url, "doctor", "--json", SIAGA_BACKUP_DIR=str(folder))
    assert r.returncode == 1 and checks(r)["backups"]["state"] == "fail"
    backup.take(settings.database_url, folder, 3, backup.datetime.now(backup.UTC))
    r = siaga(db_url, "doctor", "--json", SIAGA_BACKUP_DIR=str(folder))
    assert checks(r)["backups"]["state"] == "ok", r.stdout


def test_a_database_that_cannot_be_reached_is_one_clear_line(tmp_path):
    url = "postgresql://siaga@127.0.0.1:1/siaga" if BACKEND == "postgresql" else f"sqlite:///{tmp_path}"
    r = siaga(url, "doctor")
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert "cannot connect" in " ".join(r.stdout.split())
