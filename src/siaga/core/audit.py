"""Append-only, hash-chained audit log.

Each entry has a content hash (its time, actor, action, entity and data, as canonical JSON) computed
by the writer before it takes any lock, and a chain hash = sha256(previous chain hash : seq : content
hash) computed under the ledger lock — by PostgreSQL itself in one statement (siaga_ledger_append), or
by Python on SQLite, with the same formula. A changed entry no longer matches its content hash; a
deleted one leaves a gap in seq and a broken link; a cut tail disagrees with the ledger head."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from siaga.core.safejson import dumps
from siaga.db.base import Base, UTCDateTime
from siaga.events.models import LedgerHead

GENESIS = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Canonical JSON text, stored verbatim: the content hash is over exactly these characters.
    data: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def data_dict(self) -> dict[str, Any]:
        return json.loads(self.data)


def canonical_json(value: Any) -> str:
    """Non-finite floats as their marker text, NUL and lone surrogates as U+FFFD (core.safejson): the text
    is stored and hashed as it is, on either database."""
    return dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(at: datetime, actor_id: int | None, actor: str, action: str, entity: str,
                 entity_id: str | None, data_text: str) -> str:
    canonical = canonical_json([at.isoformat(timespec="microseconds"), actor_id, actor, action, entity,
                                entity_id, data_text])
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain_hash(prev_hash: str, seq: int, content: str) -> str:
    """Mirrored in SQL by siaga_ledger_append (migration 0002): keep the two identical."""
    return hashlib.sha256(f"{prev_hash}:{seq}:{content}".encode()).hexdigest()


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    problems: list[str]


def verify_chain(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain; report every break (changed content, missing entry, truncated tail)."""

    problems: list[str] = []
    prev_hash, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            count += 1
            if e.seq != expected_seq:
                problems.append(f"entries {expected_seq}..{e.seq - 1} are missing (deleted)")
            if e.prev_hash != prev_hash:
                problems.append(f"entry {e.seq}: previous-hash link broken")
            recomputed = content_hash(e.at, e.actor_id, e.actor, e.action, e.entity, e.entity_id, e.data)
            if recomputed != e.content_hash or chain_hash(e.prev_hash, e.seq, e.content_hash) != e.hash:
                problems.append(f"entry {e.seq}: content does not match its hash (modified)")
            prev_hash, expected_seq, last_seq = e.hash, e.seq + 1, e.seq
    head = session.get(LedgerHead, 1)
    if head is not None:
        if head.last_audit_seq != last_seq:
            problems.append(
                f"the ledger head records entry {head.last_audit_seq} as last but the log ends at {last_seq}"
            )
        elif head.last_audit_hash != prev_hash:
            problems.append("the last entry's hash differs from the one the ledger head recorded")
    return VerifyResult(ok=not problems, entries=count, problems=problems)
