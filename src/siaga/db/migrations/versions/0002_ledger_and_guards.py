"""Ledger head row, the PostgreSQL ledger append function, and append-only guards on the audit log and
incident timelines.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_log", "timeline_entry")

# Takes the ledger lock, chains the audit hashes (same formula as siaga.core.audit.chain_hash), numbers
# and inserts the events, moves the head and queues NOTIFY — one round trip, so the lock is held only
# until the caller's COMMIT, not across several client round trips.
LEDGER_APPEND = """
CREATE FUNCTION siaga_ledger_append(p_at timestamptz, p_audits json, p_events json, p_channel text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_event bigint; v_seq bigint; v_prev text; v_hash text; a json; n_events int;
BEGIN
  SELECT last_event_id, last_audit_seq, last_audit_hash INTO v_event, v_seq, v_prev
    FROM ledger_head WHERE id = 1 FOR UPDATE;
  FOR a IN SELECT value FROM json_array_elements(p_audits) LOOP
    v_seq := v_seq + 1;
    v_hash := encode(sha256(convert_to(v_prev || ':' || v_seq::text || ':' || (a->>'content_hash'), 'UTF8')),
                     'hex');
    INSERT INTO audit_log (seq, at, actor_id, actor, action, entity, entity_id, data, content_hash,
                           prev_hash, hash)
    VALUES (v_seq, p_at, (a->>'actor_id')::bigint, a->>'actor', a->>'action', a->>'entity',
            a->>'entity_id', a->>'data', a->>'content_hash', v_prev, v_hash);
    v_prev := v_hash;
  END LOOP;
  INSERT INTO event (id, at, kind, entity, entity_id, audience, payload)
  SELECT v_event + t.o, p_at, t.e->>'kind', t.e->>'entity', (t.e->>'entity_id')::bigint, t.e->'audience',
         t.e->'payload'
    FROM json_array_elements(p_events) WITH ORDINALITY AS t(e, o);
  n_events := json_array_length(p_events);
  v_event := v_event + n_events;
  UPDATE ledger_head SET last_event_id = v_event, last_audit_seq = v_seq, last_audit_hash = v_prev
   WHERE id = 1;
  IF n_events > 0 THEN
    PERFORM pg_notify(p_channel, v_event::text);
  END IF;
  RETURN v_event;
END $$"""


def upgrade() -> None:
    op.execute("INSERT INTO ledger_head (id, last_event_id, last_audit_seq, last_audit_hash) "
               "VALUES (1, 0, 0, '" + "0" * 64 + "')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LEDGER_APPEND)
        op.execute("""
            CREATE FUNCTION siaga_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END $$""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION siaga_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION siaga_append_only()")
    else:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS siaga_append_only()")
        op.execute("DROP FUNCTION IF EXISTS siaga_ledger_append(timestamptz, json, json, text)")
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    op.execute("DELETE FROM ledger_head WHERE id = 1")
