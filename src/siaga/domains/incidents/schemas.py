"""API shapes for incidents, timeline, assignments and categories."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from siaga.core.geo import area_m2
from siaga.core.i18n import render
from siaga.core.ids import DbId, Version
from siaga.core.strict import StrictModel

IncidentStatus = Literal["new", "dispatched", "on_scene", "resolved", "closed", "cancelled"]
AssignmentState = Literal["acknowledged", "on_scene", "cleared", "declined", "cancelled"]


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    parent_code: str | None
    name_id: str
    name_en: str
    default_priority: int
    active: bool


class CategoryCreate(StrictModel):
    code: str = Field(min_length=2, max_length=60, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)?$",
                      description="lowercase; a subcategory is parent_code.name")
    parent_code: str | None = Field(default=None, max_length=60)
    name_id: str = Field(min_length=2, max_length=120)
    name_en: str = Field(min_length=2, max_length=120)
    default_priority: int = Field(default=3, ge=1, le=4)


class UnitAssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    unit_id: DbId
    active: bool
    dispatched_at: datetime
    en_route_at: datetime | None
    on_scene_at: datetime | None
    returning_at: datetime | None
    cleared_at: datetime | None


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    agency_id: DbId
    state: str
    notified_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    on_scene_at: datetime | None
    cleared_at: datetime | None
    declined_at: datetime | None
    cancelled_at: datetime | None
    stood_down_at: datetime | None = Field(default=None, description="the incident was resolved or cancelled")
    reason: str
    backup_for_agency_id: int | None = Field(default=None, description="notified as this agency's backup")
    escalation_level: int = 0
    escalated_at: datetime | None = None
    due_at: datetime | None = Field(default=None, description="when the step it waits for falls due")
    due_step: str | None = Field(default=None, description="acknowledge, units or on_scene")
    version: Version
    units: list[UnitAssignmentOut] = []


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    category_code: str
    subcategory_code: str | None
    priority: int
    status: str
    lat: float | None
    lon: float | None
    kode_wilayah: str | None
    address_text: str
    patokan: str
    landmark_id: int | None
    description: str
    created_at: datetime
    created_by: int | None
    resolved_at: datetime | None
    closed_at: datetime | None
    outcome_note: str
    version: Version
    assignments: list[AssignmentOut] = []
    call_ids: list[int] = []
    sectors: list[SectorOut] = Field(default=[], description="Search sectors drawn on the incident's map")
    answers: dict[str, Any] | None = Field(default=None, description="The guided answers {question_id: value}")


Priority = Annotated[int, Field(ge=1, le=4)]
AnswerValue = StrictBool | Annotated[str, Field(max_length=500)] | None
Answers = Annotated[dict[Annotated[str, Field(max_length=80)], AnswerValue], Field(max_length=40)]
# A question's or an option's words: never blank (spaces alone are refused as too short), one line.
QuestionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
QUESTION_ID = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"  # in URLs and in answers' field paths (body.answers.<id>)


class QuestionOption(StrictModel):
    value: str = Field(min_length=1, max_length=60)
    text_id: QuestionText
    text_en: QuestionText
    raises_priority_to: Priority | None = None


class Question(StrictModel):
    """One guided question. Answers: yesno → true / false / null (not known); choice → an option's
    `value` or null; text → a string or null. `raises_priority_to` applies to the yesno answer named by
    `raises_on`, or to the chosen option's own `raises_priority_to`."""

    id: str = Field(min_length=1, max_length=80, pattern=QUESTION_ID,
                    description="for ever: answers refer to it (lowercase, digits, _ and .)")
    kind: Literal["yesno", "choice", "text"]
    text_id: QuestionText
    text_en: QuestionText
    options: list[QuestionOption] = []
    raises_priority_to: Priority | None = None
    raises_on: Literal["yes", "no"] = "yes"

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.kind == "choice":
            values = [o.value for o in self.options]
            if len(values) < 2 or len(set(values)) != len(values):
                raise ValueError(f"{self.id}: a choice needs two or more options with distinct values")
            if self.raises_priority_to is not None:
                raise ValueError(f"{self.id}: a choice raises priority through its options")
        elif self.options:
            raise ValueError(f"{self.id}: only a choice has options")
        if self.kind == "text" and self.raises_priority_to is not None:
            raise ValueError(f"{self.id}: a text answer cannot raise priority")
        return self


class CategoryQuestionsOut(BaseModel):
    category_code: str = Field(description="The top-level category the questions belong to")
    questions: list[Question]


class IncidentCreate(StrictModel):
    category_code: str = Field(min_length=1, max_length=60)
    subcategory_code: str | None = Field(default=None, max_length=60)
    priority: int | None = Field(default=None, ge=1, le=4, description="1 = life threat; default from category")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    kode_wilayah: str | None = Field(default=None, max_length=13)
    address_text: str = Field(default="", max_length=1000)
    patokan: str = Field(default="", max_length=500)
    landmark_id: DbId | None = None
    description: str = Field(default="", max_length=5000)
    call_id: DbId | None = Field(default=None, description="The call this incident is created from")
    answers: Answers | None = Field(
        default=None, description="Guided answers {question_id: value} (GET /categories/{code}/questions); "
                                   "without `priority`, the priority is suggested from them")


class NearbyIncidentOut(IncidentOut):
    distance_m: float = Field(description="Great-circle distance from the point asked about, in metres")
    same_category: bool = Field(description="Same top-level category as the one asked about")


class IncidentUpdate(StrictModel):
    """Only the fields given change. `version` is the one you last saw."""

    version: Version
    category_code: str | None = Field(default=None, min_length=1, max_length=60)
    subcategory_code: str | None = Field(default=None, max_length=60)
    priority: int | None = Field(default=None, ge=1, le=4)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    kode_wilayah: str | None = Field(default=None, max_length=13)
    address_text: str | None = Field(default=None, max_length=1000)
    patokan: str | None = Field(default=None, max_length=500)
    landmark_id: DbId | None = None
    description: str | None = Field(default=None, max_length=5000)
    answers: Answers | None = Field(
        default=None, description="The guided answers as they now stand (all of them: they replace the ones "
                                  "stored); without `priority`, an answer that says so raises the priority")

    @model_validator(mode="after")
    def _no_null_for_required(self) -> IncidentUpdate:
        for name in ("category_code", "priority", "address_text", "patokan", "description", "answers"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class IncidentStatusIn(StrictModel):
    status: IncidentStatus
    version: Version
    note: str = Field(default="", max_length=5000, description="Required to close or cancel")


class NoteIn(StrictModel):
    text: str = Field(min_length=1, max_length=5000)


class TimelineOut(BaseModel):
    """One timeline entry. `text` is the entry in the reader's language (the request's; Bahasa Indonesia in
    the event stream, which many readers share): the system's message, then what a person typed with it.
    `code` and `params` are the message as stored (a client may render it itself); `note` is what the person
    typed, as typed. Entries written before codes have no code: their text is shown as it was stored."""

    id: int
    incident_id: int
    at: datetime
    actor_id: int | None
    actor: str
    kind: str
    text: str
    code: str | None = None
    params: dict[str, Any] | None = None
    note: str = ""
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: Any, lang: str) -> TimelineOut:
        return cls(id=entry.id, incident_id=entry.incident_id, at=entry.at, actor_id=entry.actor_id,
                   actor=entry.actor, kind=entry.kind, text=render(entry.code, entry.params, lang, entry.text or ""),
                   code=entry.code, params=entry.params, note=entry.text or "", data=entry.data or {})


class LinkCallIn(StrictModel):
    call_id: DbId


class AssignmentCreate(StrictModel):
    agency_id: DbId


class DispatchIn(StrictModel):
    """The agencies to notify now (e.g. the response plan's proposal, as confirmed or edited)."""

    agency_ids: list[DbId] = Field(min_length=1, max_length=20)
    note: str = Field(default="", max_length=500)


class AssignmentStateIn(StrictModel):
    state: AssignmentState
    version: Version
    reason: str = Field(default="", max_length=2000, description="Required to decline")


class AssignUnitIn(StrictModel):
    unit_id: DbId
    unit_version: Version | None = None


class SectorOut(BaseModel):
    id: int
    incident_id: int
    name: str
    polygon: list[list[float]] = Field(description="[[lat, lon], ...], not closed")
    assignment_id: int | None
    status: str
    note: str
    area_m2: float
    created_at: datetime
    updated_at: datetime
    version: Version

    @classmethod
    def of(cls, sector: Any) -> SectorOut:
        return cls(id=sector.id, incident_id=sector.incident_id, name=sector.name, polygon=sector.polygon,
                   assignment_id=sector.assignment_id, status=sector.status, note=sector.note,
                   area_m2=round(area_m2(sector.polygon), 1), created_at=sector.created_at,
                   updated_at=sector.updated_at, version=sector.version)
