"""API shapes for the nuisance policy, measures and callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from siaga.core.ids import Version

MeasureKind = Literal["flag", "lower_priority", "restriction"]
CallbackResult = Literal["reached_ok", "reached_emergency", "reached_no_need", "no_answer", "busy", "unreachable"]
Outcome = Literal["emergency", "information", "prank", "ghost", "abandoned", "missed_out_of_hours", "wrong_number",
                  "test"]


class RuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=160)
    outcomes: list[Outcome] = Field(min_length=1, max_length=8)
    min_count: int = Field(ge=2, le=1000)
    window_hours: int = Field(ge=1, le=24 * 90)
    measure: MeasureKind
    duration_hours: int = Field(default=24, ge=1, le=24 * 90)
    active: bool = True


class RuleCreate(RuleFields):
    pass


class RuleUpdate(RuleFields):
    version: Version


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    outcomes: list[str]
    min_count: int
    window_hours: int
    measure: str
    duration_hours: int
    active: bool
    version: Version


class MeasureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    kind: str
    state: str
    rule_id: int | None
    reason: str
    legal_basis: str
    created_at: datetime
    created_by: int | None
    decided_at: datetime | None
    decided_by: int | None
    duration_hours: int
    expires_at: datetime | None
    ended_at: datetime | None
    note: str
    version: Version


class MeasureCreate(BaseModel):
    """A supervisor proposes (or directly applies) a measure for a number."""

    model_config = ConfigDict(extra="forbid")

    kind: MeasureKind
    reason: str = Field(min_length=3, max_length=2000)
    legal_basis: str = Field(default="", max_length=2000)
    duration_hours: int = Field(default=24, ge=1, le=24 * 90)


class MeasureDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "reject", "lift"]
    version: Version
    note: str = Field(default="", max_length=2000)
    legal_basis: str | None = Field(default=None, max_length=2000)


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: CallbackResult
    note: str = Field(default="", max_length=2000)


class CallbackAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: int
    at: datetime
    by_user: int | None
    result: str
    note: str


class CallbackItem(BaseModel):
    """One number to call back: its latest unanswered/silent call, how many, and why it matters."""

    number: str
    last_call_id: int
    last_offered_at: datetime
    last_outcome: str | None
    calls: int
    priority: bool = Field(description="a silent call from a number with a past genuine emergency")
    reason: str
    last_lat: float | None
    last_lon: float | None
    open_incidents_nearby: list[str] = Field(description="numbers of open incidents within 2 km")
    attempts: list[CallbackAttemptOut]
