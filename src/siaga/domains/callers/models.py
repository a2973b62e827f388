"""Per-number defence of the line: the nuisance policy (rules as data), the measures it proposes or
applies (always graduated, supervised, expiring and audited — never a block), and callbacks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, Json, UTCDateTime

# flag: the call-taker sees a warning. lower_priority: the call waits behind newer calls for at most the
# cap (default 20 s), then takes its place again. restriction: a supervisor-approved measure the telephony
# edge may act on (e.g. a warning announcement) — it never drops or rejects a call.
MEASURE_KINDS = ("flag", "lower_priority", "restriction")
MEASURE_STATES = ("proposed", "active", "expired", "lifted", "rejected")
CALLBACK_RESULTS = ("reached_ok", "reached_emergency", "reached_no_need", "no_answer", "busy", "unreachable")


class NuisanceRule(Base):
    __tablename__ = "nuisance_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    outcomes: Mapped[list[str]] = mapped_column(Json, default=list)  # e.g. ["prank"]
    min_count: Mapped[int] = mapped_column(Integer)
    window_hours: Mapped[int] = mapped_column(Integer)
    measure: Mapped[str] = mapped_column(String(20))
    duration_hours: Mapped[int] = mapped_column(Integer)  # how long the measure lasts once active
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class CallbackAttempt(Base):
    __tablename__ = "callback_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_user: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    result: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")


class RiskModel(Base):
    """A trained nuisance-risk model (a hint for the call-taker, never an action): its parameters, the periods
    it was trained and evaluated on, and the evaluation figures. The newest active row is used."""

    __tablename__ = "risk_model"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trained_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    train_from: Mapped[datetime] = mapped_column(UTCDateTime)
    train_to: Mapped[datetime] = mapped_column(UTCDateTime)
    test_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    test_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    algorithm: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict] = mapped_column(Json, default=dict)  # features, scaling, coefficients, threshold
    metrics: Mapped[dict] = mapped_column(Json, default=dict)  # precision, recall, genuine wrongly flagged, …
    active: Mapped[bool] = mapped_column(Boolean, default=True)
