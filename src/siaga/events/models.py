"""Outbox events and the ledger head that numbers audit entries and events in commit order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, Json, UTCDateTime


class LedgerHead(Base):
    """One row. Writers lock it at commit so that audit entries chain and event ids follow commit order:
    a reader that has seen event N has seen every event before N (no gaps from late commits)."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_audit_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_audit_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)


class Event(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    # Who may see it: {"staff": true, "agencies": [3, 5]}; staff = every role not bound to one agency.
    audience: Mapped[dict[str, Any]] = mapped_column(Json)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "kind": self.kind, "entity": self.entity,
                "entity_id": self.entity_id, "payload": self.payload}
