"""emit() and audit() queue entries on the session; at commit, under the ledger-head lock, they are
numbered, hash-chained and inserted in the same transaction as the change they describe. Nothing is
announced to consoles before it is committed, and nothing committed goes unannounced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from siaga.core.audit import AuditEntry, canonical_json, chain_hash, content_hash
from siaga.core.clock import Clock
from siaga.core.safejson import dumps
from siaga.events.kinds import EventKind
from siaga.events.models import Event, LedgerHead

NOTIFY_CHANNEL = "siaga_events"
_LEDGER_KEY = "siaga_ledger"
_EMITTED_KEY = "siaga_emitted"

# Called (in the committing thread) after a commit that emitted events: wakes this process's hub.
_after_commit_hooks: list[Callable[[int], None]] = []


@dataclass(frozen=True)
class Audience:
    staff: bool = True
    agencies: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"staff": self.staff, "agencies": sorted(set(self.agencies))}


STAFF_ONLY = Audience()


@dataclass
class _Pending:
    audits: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def _pending(session: Session) -> _Pending:
    pending = session.info.get(_LEDGER_KEY)
    if pending is None:
        pending = session.info[_LEDGER_KEY] = _Pending()
    return pending


def audit(session: Session, *, actor_id: int | None, actor: str, action: str, entity: str,
          entity_id: Any, data: dict[str, Any] | None = None) -> None:
    _pending(session).audits.append({
        "actor_id": actor_id, "actor": actor, "action": action, "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id), "data": data or {},
    })


def emit(session: Session, kind: EventKind, entity: str, entity_id: int | None, payload: dict[str, Any],
         audience: Audience = STAFF_ONLY) -> None:
    """Queue an event for this transaction. Only an EventKind is accepted, never a bare string (even a listed
    one): consoles subscribe to the enumeration's values, so a kind outside it would reach no console, and a
    typo must fail where it is written rather than be committed and lost."""
    if not isinstance(kind, EventKind):
        raise TypeError(f"event kind {kind!r} is not an EventKind (siaga.events.kinds): no console would hear it")
    _pending(session).events.append({
        "kind": kind.value, "entity": entity, "entity_id": entity_id, "payload": payload,
        "audience": audience.as_dict(),
    })


def add_after_commit_hook(hook: Callable[[int], None]) -> None:
    _after_commit_hooks.append(hook)


def remove_after_commit_hook(hook: Callable[[int], None]) -> None:
    if hook in _after_commit_hooks:
        _after_commit_hooks.remove(hook)


@sa_event.listens_for(Session, "before_commit")
def _write_ledger(session: Session) -> None:
    pending: _Pending | None = session.info.pop(_LEDGER_KEY, None)
    if pending is None or (not pending.audits and not pending.events):
        return
    session.flush()
    clock: Clock = session.info.get("clock") or Clock()
    now = clock.now()
    # Everything that can be computed without the lock is computed here, before taking it.
    audits = []
    for a in pending.audits:
        data_text = canonical_json(a["data"])
        audits.append({**a, "data": data_text, "content_hash": content_hash(
            now, a["actor_id"], a["actor"], a["action"], a["entity"], a["entity_id"], data_text)})
    if session.get_bind().dialect.name == "postgresql":
        last_event_id = _append_postgres(session, now, audits, pending.events)
    else:
        last_event_id = _append_locked(session, now, audits, pending.events)
    if pending.events:
        session.info[_EMITTED_KEY] = last_event_id


def _append_postgres(session: Session, now: datetime, audits: list[dict[str, Any]],
                     events: list[dict[str, Any]]) -> int:
    """One round trip holds the ledger lock until COMMIT: PostgreSQL locks the head, chains the hashes,
    inserts, and sends NOTIFY (delivered at commit) inside siaga_ledger_append."""
    return session.execute(
        text("SELECT siaga_ledger_append(:at, CAST(:audits AS json), CAST(:events AS json), :channel)"),
        {"at": now, "audits": dumps(audits, default=str), "events": dumps(events, default=str),
         "channel": NOTIFY_CHANNEL},
    ).scalar_one()


def _append_locked(session: Session, now: datetime, audits: list[dict[str, Any]],
                   events: list[dict[str, Any]]) -> int:
    """SQLite: the writer already holds the database's write lock (BEGIN IMMEDIATE)."""
    last_event_id, seq, prev_hash = session.execute(
        select(LedgerHead.last_event_id, LedgerHead.last_audit_seq, LedgerHead.last_audit_hash)
        .where(LedgerHead.id == 1)
    ).one()
    audit_rows = []
    for a in audits:
        seq += 1
        h = chain_hash(prev_hash, seq, a["content_hash"])
        audit_rows.append({**a, "seq": seq, "at": now, "prev_hash": prev_hash, "hash": h})
        prev_hash = h
    event_rows = []
    for e in events:
        last_event_id += 1
        event_rows.append({**e, "id": last_event_id, "at": now})
    if audit_rows:
        session.execute(insert(AuditEntry), audit_rows)
    if event_rows:
        session.execute(insert(Event), event_rows)
    session.execute(
        update(LedgerHead).where(LedgerHead.id == 1)
        .values(last_event_id=last_event_id, last_audit_seq=seq, last_audit_hash=prev_hash)
    )
    return last_event_id


@sa_event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    last = session.info.pop(_EMITTED_KEY, None)
    if last is not None:
        for hook in list(_after_commit_hooks):
            hook(last)


@sa_event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_LEDGER_KEY, None)
    session.info.pop(_EMITTED_KEY, None)
