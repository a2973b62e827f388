"""Calls, the locations reported for them, and the telephony events already ingested."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, Json, UTCDateTime

CALL_OUTCOMES = ("emergency", "information", "prank", "ghost", "abandoned", "missed_out_of_hours",
                 "wrong_number", "test")
CALL_STATUSES = ("offered", "ringing", "answered", "ended", "abandoned")
CALL_LIVE_STATUSES = ("offered", "ringing", "answered")
# A call's status only moves along these; a late or repeated event that would move it elsewhere (a
# `ringing` after the answer, an `answered` after the hang-up) changes no status, only its times.
CALL_TRANSITIONS: dict[str, frozenset[str]] = {
    "offered": frozenset({"ringing", "answered", "abandoned"}),
    "ringing": frozenset({"answered", "abandoned"}),
    "answered": frozenset({"ended", "abandoned"}),
    "ended": frozenset(),
    "abandoned": frozenset(),
}
# What a telephony event asks of the status (calls.actions.status_after decides an end's kind).
CALL_EVENT_TARGET = {"offered": None, "location": None, "ringing": "ringing", "answered": "answered", "ended": "end",
                     "abandoned": "abandoned", "missed": "end"}


def status_after_end(answered: bool, event: str) -> str:
    """How a call that ends ends: `ended` when someone answered it, `abandoned` when nobody did (the
    caller hung up in the queue, or it was missed) or the network says it was abandoned."""
    return "ended" if answered and event != "abandoned" else "abandoned"
LOCATION_SOURCES = ("pidf_lo", "aml", "network", "operator", "caller")


class Call(Base):
    __tablename__ = "call"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The telephony side's call id (SIP Call-ID or a PBX's id); unique so a replayed event finds it.
    external_ref: Mapped[str | None] = mapped_column(String(200), unique=True)
    caller_number: Mapped[str] = mapped_column(String(40), index=True, default="")
    called_number: Mapped[str] = mapped_column(String(40), default="112")
    status: Mapped[str] = mapped_column(String(20), index=True)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # When the call first rang at an operator's phone (the first `ringing` event: the SIP edge sends it as
    # it rings the first phone); answered_at − ringing_at is the pickup delay (kpi, staffing).
    ringing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    outcome: Mapped[str | None] = mapped_column(String(30), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # The silent-caller protocol, ticked by the call-taker before a call may be recorded as ghost.
    checklist: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # The keys the caller pressed during the call (RFC 4733 events reported by rtpengine), in order; a
    # caller who cannot speak is asked to press SIAGA_SILENT_CALLER_KEY (5). At most 40 kept.
    keys_pressed: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # Made by `siaga simulate` (written, or replayed live through the call-events API): left out of every
    # figure unless asked for (calls/marks.py). Set when the call is recorded, never changed.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class CallLocation(Base):
    __tablename__ = "call_location"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    kode_wilayah: Mapped[str | None] = mapped_column(ForeignKey("region.kode"))
    address_text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    invalid_reason: Mapped[str] = mapped_column(String(300), default="")
    # What the network sent, kept beside the point: the shape (point, circle, ellipse, polygon, civic,
    # reference), its parameters (radius, axes, vertices, civic fields), a location by reference to be
    # dereferenced later, and when the fix was taken (not when it arrived).
    shape: Mapped[str] = mapped_column(String(20), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    reference_uri: Mapped[str] = mapped_column(String(500), default="")
    located_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallEventRecord(Base):
    """Each telephony event id seen once: a replay or a retry changes nothing."""

    __tablename__ = "call_event"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)



class RingAttempt(Base):
    __tablename__ = "ring_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(12))



class CallerMeasure(Base):
    __tablename__ = "caller_measure"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), index=True)  # normalised (+62…)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(12), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("nuisance_rule.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    duration_hours: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
