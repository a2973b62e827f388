"""The audit log: every write is in it, hash-chained; changing or deleting an entry is detected by
`siaga audit verify` and the API; the database itself refuses updates and deletes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

FIRE = {"category_code": "kebakaran", "description": "Gudang terbakar"}


def verify_cli(db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SIAGA_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "siaga", "audit", "verify"], env=env, capture_output=True,
                          text=True, timeout=120)


def test_every_write_is_audited_with_who_did_it(api):
    inc = api("ct").post("/api/v1/incidents", json=FIRE).json()
    api("ct").post(f"/api/v1/incidents/{inc['id']}/notes", json={"text": "Korban 2 orang"})
    entries = api("sup").get(f"/api/v1/audit?entity=incident&entity_id={inc['id']}").json()
    assert [e["action"] for e in entries] == ["incident.note", "incident.create"]
    assert all(e["actor"] == "ct (call_taker)" for e in entries)
    assert entries[0]["data"] == {"text": "Korban 2 orang"}


def test_intact_chain_verifies_via_api_and_cli(api, db_url):
    api("ct").post("/api/v1/incidents", json=FIRE)
    r = api("sup").get("/api/v1/audit/verify").json()
    assert r["ok"] is True and r["entries"] > 1 and r["problems"] == []
    result = verify_cli(db_url)
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stdout


def test_database_refuses_to_change_or_delete_audit_entries(engine):
    for statement in ("UPDATE audit_log SET actor = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 1"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))


@pytest.fixture
def tamperable(engine):  # type: ignore[no-untyped-def]
    """What an attacker with database access could do first: drop the append-only guard. Restored
    afterwards (the PostgreSQL test database is shared between tests)."""
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if pg:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
    yield engine
    if pg:
        with engine.begin() as conn:
            conn.execute(text("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                              "FOR EACH ROW EXECUTE FUNCTION siaga_append_only()"))


def test_a_modified_entry_is_detected(api, tamperable, db_url):
    engine = tamperable
    inc = api("ct").post("/api/v1/incidents", json=FIRE).json()
    with engine.begin() as conn:
        seq = conn.execute(text("SELECT seq FROM audit_log WHERE action = 'incident.create'")).scalar()
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = :s"), {"s": seq})
    r = api("sup").get("/api/v1/audit/verify").json()
    assert r["ok"] is False
    assert f"entry {seq}: content does not match its hash (modified)" in r["problems"]
    result = verify_cli(db_url)
    assert result.returncode == 1
    assert "tampered" in result.stderr
    assert inc["id"]


def test_a_deleted_entry_is_detected(api, tamperable):
    engine = tamperable
    api("ct").post("/api/v1/incidents", json=FIRE)
    api("ct").post("/api/v1/incidents", json=FIRE)
    with engine.begin() as conn:
        seq = conn.execute(text("SELECT MIN(seq) FROM audit_log WHERE action = 'incident.create'")).scalar()
        conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})
    r = api("sup").get("/api/v1/audit/verify").json()
    assert r["ok"] is False
    assert any("missing (deleted)" in p for p in r["problems"])


def test_a_truncated_tail_is_detected(api, tamperable):
    engine = tamperable
    api("ct").post("/api/v1/incidents", json=FIRE)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"))
    r = api("sup").get("/api/v1/audit/verify").json()
    assert r["ok"] is False
    assert any("ledger head" in p for p in r["problems"])


def test_a_refused_request_leaves_no_audit_entry(api):
    before = api("sup").get("/api/v1/audit/verify").json()["entries"]
    r = api("ct").post("/api/v1/incidents", json={**FIRE, "category_code": "nope"})
    assert r.status_code == 422
    assert api("sup").get("/api/v1/audit/verify").json()["entries"] == before
