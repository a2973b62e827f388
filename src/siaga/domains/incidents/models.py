"""Incidents (one emergency, many calls), timeline entries, assignments and unit assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, Json, UTCDateTime

INCIDENT_STATUSES = ("new", "dispatched", "on_scene", "resolved", "closed", "cancelled")
INCIDENT_OPEN_STATUSES = ("new", "dispatched", "on_scene", "resolved")
INCIDENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"dispatched", "on_scene", "resolved", "cancelled"}),
    "dispatched": frozenset({"on_scene", "resolved", "cancelled"}),
    "on_scene": frozenset({"resolved", "cancelled"}),
    "resolved": frozenset({"closed", "on_scene", "dispatched"}),
    "closed": frozenset({"dispatched"}),  # reopening: a note is required and audited
    "cancelled": frozenset(),
}

ASSIGNMENT_STATES = ("notified", "acknowledged", "units_assigned", "on_scene", "cleared", "declined",
                     "cancelled", "stood_down")
# cleared: the agency finished, with its outcome note; declined: the agency refused; cancelled: the dispatcher
# withdrew this one agency; stood_down: the centre resolved or cancelled the whole incident, ending every open
# assignment at once (incidents.actions.stand_down), so no agency is paged or escalated for it afterwards.
ASSIGNMENT_FINISHED = frozenset({"cleared", "declined", "cancelled", "stood_down"})
ASSIGNMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "notified": frozenset({"acknowledged", "declined", "cancelled"}),
    "acknowledged": frozenset({"units_assigned", "on_scene", "cleared", "declined", "cancelled"}),
    "units_assigned": frozenset({"on_scene", "cleared", "cancelled"}),
    "on_scene": frozenset({"cleared", "cancelled"}),
    "cleared": frozenset(),
    "declined": frozenset(),
    "cancelled": frozenset(),
    "stood_down": frozenset(),  # sending the agency again (after reopening) notifies it anew: dispatch.notify_agency
}
# The incident statuses whose assignments still run (deadlines fire, agencies act). A resolved incident is still
# open on the boards (until closed), but its assignments are stood down: nothing of it may page anyone.
INCIDENT_ACTIVE_STATUSES = ("new", "dispatched", "on_scene")


class Category(Base):
    __tablename__ = "category"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    name_id: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    default_priority: Mapped[int] = mapped_column(Integer, default=3)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class GuidedQuestion(Base):
    """One guided question a call-taker asks for a top-level category: data the centre edits (admins, in
    the plan page or the API), loaded first from the site folder's questions.json. `body` is the question as
    incidents.schemas.Question validates it (kind, texts, options, what raises the priority). A question is
    retired (active false), never deleted: incidents answered it, and their answers keep its id."""

    __tablename__ = "guided_question"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class IncidentCounter(Base):
    """Per-year counter behind BKS-2026-000123; the row lock serialises number allocation."""

    __tablename__ = "incident_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Incident(Base):
    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"), index=True)
    subcategory_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    kode_wilayah: Mapped[str | None] = mapped_column(ForeignKey("region.kode"), index=True)
    address_text: Mapped[str] = mapped_column(Text, default="")
    patokan: Mapped[str] = mapped_column(Text, default="")
    landmark_id: Mapped[int | None] = mapped_column(ForeignKey("landmark.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    answers: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # the guided questions' answers
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class TimelineEntry(Base):
    """Append-only history of one incident: calls linked, notes, assignments, status changes. What the system
    says is stored as a message `code` (a catalogue key, core/i18n) and its JSON `params`, rendered in each
    reader's language; `text` is only what a person typed (a note, a reason), kept as typed. Entries written
    before codes (migration 0012) have no code, and their text is shown as it was."""

    __tablename__ = "timeline_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    code: Mapped[str | None] = mapped_column(String(80))
    params: Mapped[dict[str, Any] | None] = mapped_column(Json)


class Assignment(Base):
    """One agency's part in one incident, with every time response statistics need."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("incident_id", "agency_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stood_down_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # migration 0014
    reason: Mapped[str] = mapped_column(Text, default="")  # what the dispatcher or agency typed
    # the agency this one stands in for: notified as its backup when that one missed a deadline twice
    backup_for_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    # 0: on time; 1: a deadline was missed and the supervisor alerted (or the agency declined);
    # 2: missed again, the backup agency notified.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class UnitAssignment(Base):
    """One unit sent for one assignment; a unit has at most one active unit assignment."""

    __tablename__ = "unit_assignment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    en_route_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returning_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)



class SearchSector(Base):
    __tablename__ = "search_sector"
    __table_args__ = (UniqueConstraint("incident_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))  # indexed by the unique (incident_id, name)
    name: Mapped[str] = mapped_column(String(120))
    polygon: Mapped[list[list[float]]] = mapped_column(Json)  # [[lat, lon], ...], not closed (first != last)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}



class Deadline(Base):
    """A step that must be done by `due_at`. The ticker claims a due row with compare-and-set
    (pending → fired) in the same transaction as its escalation, so each fires exactly once, whichever
    process gets there first, and a deadline that fell due while the service was down fires on start."""

    __tablename__ = "deadline"
    __table_args__ = (Index("ix_deadline_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(Integer, default=0)  # 0: to the supervisor; 1: to the backup agency
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fired_by: Mapped[str] = mapped_column(String(80), default="")

