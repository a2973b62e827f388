"""The audit log: every write is in it, hash-chained; changing or deleting an entry is detected by
`siaga audit verify` and the API; the database itself refuses updates and deletes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC

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


def anchored_cli(db_url: str, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "SIAGA_DATABASE_URL": db_url, "SIAGA_AUDIT_KEY_FILE": str(tmp_path / "key"),
           "SIAGA_AUDIT_WITNESS": str(tmp_path / "witness.jsonl")}
    return subprocess.run([sys.executable, "-m", "siaga", "audit", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_without_a_key_the_ledger_is_said_not_anchored(api, db_url):
    api("ct").post("/api/v1/incidents", json=FIRE)
    result = verify_cli(db_url)
    assert result.returncode == 0 and "Not anchored" in result.stdout
    verified = api("admin").get("/api/v1/audit/verify").json()
    assert verified["ok"] and not verified["anchored"]


def test_an_unreadable_anchoring_key_is_a_problem_not_a_crash(api, app, settings, tmp_path):
    app.state.settings = settings.model_copy(update={"audit_key_file": str(tmp_path / "missing"),
                                                     "audit_witness": str(tmp_path / "witness.jsonl")})
    r = api("admin").get("/api/v1/audit/verify")
    assert r.status_code == 200 and not r.json()["ok"] and "cannot be read" in r.json()["problems"][0]


@pytest.mark.parametrize("tamper", ["cut", "rehash", "wipe", "forge"])
def test_anchored_ledger_detects_what_the_chain_alone_cannot(api, app, settings, tamperable, db_url, tmp_path,
                                                             tamper):
    from siaga.core.audit import chain_hash

    engine = tamperable
    assert anchored_cli(db_url, tmp_path, "keygen", str(tmp_path / "key")).returncode == 0
    api("ct").post("/api/v1/incidents", json=FIRE)
    assert anchored_cli(db_url, tmp_path, "checkpoint").returncode == 0
    good = anchored_cli(db_url, tmp_path, "verify")
    assert good.returncode == 0 and "Anchored: 1 signed checkpoint" in good.stdout, good.stderr
    # the API checks the same anchor as the command (the console's "verify" must not say intact either)
    app.state.settings = settings.model_copy(update={"audit_key_file": str(tmp_path / "key"),
                                                     "audit_witness": str(tmp_path / "witness.jsonl")})
    verified = api("admin").get("/api/v1/audit/verify").json()
    assert verified["ok"] and verified["anchored"] and verified["checkpoints"] == 1, verified
    with engine.begin() as conn:
        top = conn.execute(text("SELECT MAX(seq) FROM audit_log")).scalar()
        if tamper == "cut":  # delete the newest entry and roll the head back to the one before
            prev = conn.execute(text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": top - 1}).scalar()
            conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": top})
            conn.execute(text("UPDATE ledger_head SET last_audit_seq = :s, last_audit_hash = :h"),
                         {"s": top - 1, "h": prev})
        elif tamper == "wipe":
            conn.execute(text("DELETE FROM audit_log"))
            conn.execute(text("UPDATE ledger_head SET last_audit_seq = 0, last_audit_hash = :h"), {"h": "0" * 64})
    if tamper == "rehash":  # edit the first entry and rehash the whole chain as an insider would
        from siaga.core.audit import content_hash
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1"))
            r = conn.execute(text("SELECT at, actor_id, actor, action, entity, entity_id, data FROM audit_log "
                                  "WHERE seq = 1")).one()
        from datetime import datetime

        at = r.at if isinstance(r.at, datetime) else datetime.fromisoformat(r.at)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        c = content_hash(at, r.actor_id, r.actor, r.action, r.entity, r.entity_id, r.data)
        prev_hash = "0" * 64
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET content_hash = :c WHERE seq = 1"), {"c": c})
            for seq, content in conn.execute(text("SELECT seq, content_hash FROM audit_log ORDER BY seq")).all():
                h = chain_hash(prev_hash, seq, content)
                conn.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                             {"p": prev_hash, "h": h, "s": seq})
                prev_hash = h
            conn.execute(text("UPDATE ledger_head SET last_audit_hash = :h"), {"h": prev_hash})
    if tamper == "forge":
        with open(tmp_path / "witness.jsonl", "a") as f:
            f.write('{"seq":1,"hash":"' + "a" * 64 + '","at":"2026-01-01T00:00:00+00:00","mac":"' + "0" * 64 + '"}\n')
    result = anchored_cli(db_url, tmp_path, "verify")
    assert result.returncode == 1, result.stdout
    expected = {"cut": "tail cut", "rehash": "chain rewritten", "wipe": "wiped", "forge": "forged"}[tamper]
    assert expected in result.stderr
    verified = api("admin").get("/api/v1/audit/verify").json()
    assert not verified["ok"] and verified["anchored"] and any(expected in p for p in verified["problems"]), verified


def test_the_ticker_checkpoints_the_head_every_five_minutes(api, engine, settings, tmp_path):
    from datetime import UTC, datetime

    from siaga.core.audit_anchor import checkpoint_step, keygen, load_key, verify_anchor
    from siaga.core.clock import FixedClock
    from siaga.db.engine import unit_of_work

    keygen(str(tmp_path / "key"))
    anchored = settings.model_copy(update={"audit_key_file": str(tmp_path / "key"),
                                           "audit_witness": str(tmp_path / "w.jsonl")})
    api("ct").post("/api/v1/incidents", json=FIRE)
    clock = FixedClock(datetime(2030, 1, 1, tzinfo=UTC))
    assert checkpoint_step(engine, clock, anchored) == 1
    assert checkpoint_step(engine, clock, anchored) == 0  # not due again yet
    clock.advance(minutes=5)
    assert checkpoint_step(engine, clock, anchored) == 1
    with unit_of_work(engine) as db:
        result = verify_anchor(db, load_key(str(tmp_path / "key")), str(tmp_path / "w.jsonl"))
    assert result.checkpoints == 2 and result.problems == [] and result.covered_seq > 0
