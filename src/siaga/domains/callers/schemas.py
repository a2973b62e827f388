"""API shapes for the nuisance policy, measures and callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from siaga.core.ids import Version
from siaga.core.strict import StrictModel
from siaga.domains.incidents.schemas import IncidentOut

MeasureKind = Literal["flag", "lower_priority", "restriction"]
CallbackResult = Literal["reached_ok", "reached_emergency", "reached_no_need", "no_answer", "busy", "unreachable"]
Outcome = Literal["emergency", "information", "prank", "ghost", "abandoned", "missed_out_of_hours", "wrong_number",
                  "test"]


class RuleFields(StrictModel):
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


class MeasureCreate(StrictModel):
    """A supervisor proposes (or directly applies) a measure for a number."""

    kind: MeasureKind
    reason: str = Field(min_length=3, max_length=2000)
    legal_basis: str = Field(default="", max_length=2000)
    duration_hours: int = Field(default=24, ge=1, le=24 * 90)


class MeasureDecision(StrictModel):
    action: Literal["approve", "reject", "lift"]
    version: Version
    note: str = Field(default="", max_length=2000)
    legal_basis: str | None = Field(default=None, max_length=2000)


class CallbackIn(StrictModel):
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


class RiskReason(BaseModel):
    feature: str
    text: str = Field(description="in plain words, e.g. '4 panggilan iseng dalam 7 hari'")
    direction: Literal["up", "down"] = Field(description="up: makes a prank more likely; down: less likely")
    contribution: float = Field(description="this feature's term in the model's log-odds, against the "
                                            "training average")


class RiskOut(BaseModel):
    """The nuisance-risk hint for one call, from its metadata only (how often the number called, what its
    calls turned out to be, their durations, the hour in the site's zone, a withheld number). A hint for the call-taker,
    never a decision: nothing in Siaga acts on it."""

    available: bool = Field(description="false when no model has been trained (then show nothing)")
    call_id: int
    model_id: int | None = None
    score: float | None = Field(default=None, ge=0, le=1, description="the model's probability of a prank")
    flagged: bool = Field(default=False, description="score at or above the model's threshold")
    threshold: float | None = None
    reasons: list[RiskReason] = Field(default=[], description="the strongest reasons, strongest first")
    note: str = Field(default="", description="'petunjuk, bukan keputusan' — a hint, not a decision")
    trained_at: datetime | None = None
    test_precision: float | None = None
    test_recall: float | None = None
    test_genuine_flagged_share: float | None = Field(
        default=None, description="in the evaluation period, the share of genuine emergencies the model flagged")


class CallerSummaryOut(BaseModel):
    """What the call-taker sees as a call rings: the plain-language summary, the measures in force and the
    risk hint (when a model exists and the reader may see it). Keyed by the call, so it works for a reader
    who sees the number masked."""

    call_id: int
    summary: str
    measures: list[MeasureOut]
    risk: RiskOut | None = None


class RevealIn(StrictModel):
    reason: str = Field(min_length=3, max_length=500, description="why you need the full number (audited)")


class RevealOut(BaseModel):
    entity: Literal["call", "caller_measure"]
    id: int
    number: str = Field(description="the full number, as received ('' when withheld)")
    masked: str


class RiskModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int | None
    trained_at: datetime
    train_from: datetime
    train_to: datetime
    test_from: datetime | None
    test_to: datetime | None
    algorithm: str
    params: dict
    metrics: dict
    active: bool


class CallerCallOut(BaseModel):
    """One earlier call from a number, as the call-taker's history panel lists it."""

    id: int
    caller_number: str
    status: str
    offered_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    incident_id: int | None
    incident_number: str | None


class CallerHistoryOut(BaseModel):
    number: str = Field(description="The number as asked")
    normalised: str = Field(description="E.164 form ('+62812…'); empty when the number is withheld")
    withheld: bool
    total_calls: int
    calls_last_30_days: int
    outcomes: dict[str, int] = Field(description="Calls per outcome, all time; 'unclassified' = no outcome yet")
    outcomes_last_30_days: dict[str, int]
    calls: list[CallerCallOut] = Field(description="Newest first, at most 20")
    open_incidents: list[IncidentOut] = Field(description="Open incidents any of these calls is linked to")
