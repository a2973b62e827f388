"""Response plans (which agencies and units an incident needs) and deadlines (what must have happened
by when, fired exactly once by the ticker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, Json, UTCDateTime

RULE_KINDS = ("base", "extra")
DEADLINE_STEPS = ("acknowledge", "units", "on_scene")
DEADLINE_STATES = ("pending", "fired", "cancelled")


class ResponseRule(Base):
    """One rule of the response plan. An incident takes the agencies and units of its most specific
    matching `base` rule, plus those of every matching `extra` rule (e.g. "+ Dinkes if injuries").
    Conditions left empty match anything."""

    __tablename__ = "response_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(10), default="base")
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"), index=True)
    subcategory_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    max_priority: Mapped[int | None] = mapped_column(Integer)  # applies to priority <= this (1 = most urgent)
    kode_wilayah: Mapped[str | None] = mapped_column(ForeignKey("region.kode"))  # kecamatan or desa
    hour_from: Mapped[int | None] = mapped_column(Integer)  # site's local hour, inclusive; may wrap midnight
    hour_to: Mapped[int | None] = mapped_column(Integer)  # the site's local hour, exclusive
    answers: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # guided answers that must match
    agency_codes: Mapped[list[str]] = mapped_column(Json, default=list)
    units: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)  # [{"type": "pumper", "count": 2}]
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class DeadlinePolicy(Base):
    """Seconds allowed for a step, per agency and priority; the most specific row wins, and the built-in
    defaults apply where no row does."""

    __tablename__ = "deadline_policy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    priority: Mapped[int | None] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(20))
    seconds: Mapped[int] = mapped_column(Integer)
