"""Operator lines (extension, SIP credential, presence) and ring attempts (who a call rang, and how it ended)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, Json, UTCDateTime

# What the operator chose (or a supervisor, or the service after a missed ring): available may be rung;
# break and offline are never rung. "Busy" is not stored: it is a line with a current call.
PRESENCE_STATES = ("available", "break", "offline")
RING_RESULTS = ("answered", "timeout", "rejected", "cancelled", "failed")
# Where the operator's audio is: a desk phone (or softphone) registering with its own password, or the console
# in the browser (SIP over WebSocket), registering with a password made for each console session.
LINE_DEVICES = ("phone", "browser")


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
    # The call ringing or connected at this operator's phone, if any (the operator is then busy).
    current_call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"))
    # The phone's registration as the edge last reported it.
    registered_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact: Mapped[str] = mapped_column(String(300), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    device: Mapped[str] = mapped_column(String(12), default="phone", server_default="phone")
    # HA1 of the browser line's current password (made by the console, given to it once; "" before): the edge
    # checks a browser line's REGISTER with it, and a desk phone's with sip_ha1.
    browser_ha1: Mapped[str] = mapped_column(String(64), default="", server_default="")

    __mapper_args__ = {"version_id_col": version}


class TelephonyEdge(Base):
    """The SIP edge as the bridge last saw it: connected or not, since when, and its last heartbeat."""

    __tablename__ = "telephony_edge"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(12))  # up, down
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


# --- joining an agency to a caller (issue 17) ------------------------------------------------------------
# conference: the operator's line calls the agency (its number through the trunk gateway, or an agency
# operator's line) while the caller holds, and the operator's phone (or browser) mixes the three; the
# transfers are the operator's phone asking the trunk (REFER) to connect the caller to the agency itself.
AGENCY_CALL_KINDS = ("conference", "blind_transfer", "attended_transfer")
# requested: the console asked for it (nothing dialled yet); dialling → answered → ended, or failed; a
# transfer: accepted (the trunk took the REFER) → transferred (it connected the caller), or refused (the trunk
# does not do REFER: use a conference) or failed.
AGENCY_CALL_STATES = ("requested", "dialling", "answered", "ended", "failed", "accepted", "refused", "transferred")


class AgencyCall(Base):
    """One attempt to join an agency to an emergency call: the leg an operator's line placed to the agency
    (its SIP Call-ID), or a transfer the operator's phone asked of the trunk (the emergency call's Call-ID)."""

    __tablename__ = "agency_call"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"), index=True)  # the caller's call
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))  # the operator
    extension: Mapped[str] = mapped_column(String(20), default="")  # the operator's line
    target: Mapped[str] = mapped_column(String(40))  # the number or extension dialled
    target_kind: Mapped[str] = mapped_column(String(12), default="agency")  # agency (a number) or line
    kind: Mapped[str] = mapped_column(String(20), default="conference")
    state: Mapped[str] = mapped_column(String(12), index=True)
    sip_call_id: Mapped[str] = mapped_column(String(200), default="", index=True)
    result: Mapped[str] = mapped_column(String(80), default="")  # e.g. the SIP code of a refusal
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
