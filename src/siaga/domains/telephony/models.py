"""Operator lines (extension, SIP credential, presence) and ring attempts (who a call rang, and how it ended)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, UTCDateTime

# available: may be rung. busy: on a call (set by the service). break/offline: set by the operator (or a
# supervisor); never rung.
PRESENCE_STATES = ("available", "busy", "break", "offline")
RING_RESULTS = ("answered", "timeout", "rejected", "cancelled", "failed")


class OperatorLine(Base):
    """One call-taker's desk phone or softphone: the extension it registers as, and their presence."""

    __tablename__ = "operator_line"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    extension: Mapped[str] = mapped_column(String(20), unique=True)
    # Digest HA1 = md5(extension:realm:password): the edge checks a phone's REGISTER with it, and the
    # password itself is never stored.
    sip_ha1: Mapped[str] = mapped_column(String(64), default="")
    presence: Mapped[str] = mapped_column(String(12), default="offline")
    presence_since: Mapped[datetime] = mapped_column(UTCDateTime)
    # When this operator last became free (end of a call or back from break): longest idle rings first.
    idle_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The call ringing or connected at this operator's phone, if any.
    current_call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class RingAttempt(Base):
    __tablename__ = "ring_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(12))
