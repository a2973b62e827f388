"""Reads of incidents, shaped once (IncidentOut) for the API, the event payloads and the snapshot."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.core.errors import Problem, invalid
from siaga.core.geo import EARTH_RADIUS_M, distance_m
from siaga.core.i18n import both, joined, message, ref
from siaga.domains.calls.models import Call
from siaga.domains.incidents import schemas
from siaga.domains.incidents.models import (
    INCIDENT_OPEN_STATUSES,
    Assignment,
    Category,
    Deadline,
    Incident,
    SearchSector,
    TimelineEntry,
    UnitAssignment,
)
from siaga.domains.incidents.questions import questions_for
from siaga.domains.incidents.schemas import SectorOut


def incidents_out(db: Session, incidents: Sequence[Incident]) -> list[schemas.IncidentOut]:
    """Five queries for any number of incidents: assignments, their units, linked calls, deadlines, search
    sectors."""
    ids = [i.id for i in incidents]
    if not ids:
        return []
    assignments = db.scalars(
        select(Assignment).where(Assignment.incident_id.in_(ids)).order_by(Assignment.id)).all()
    units = db.scalars(
        select(UnitAssignment).where(UnitAssignment.incident_id.in_(ids)).order_by(UnitAssignment.id)).all()
    calls = db.execute(select(Call.incident_id, Call.id).where(Call.incident_id.in_(ids)).order_by(Call.id)).all()
    due = {row.assignment_id: row for row in db.execute(
        select(Deadline.assignment_id, Deadline.due_at, Deadline.step)
        .where(Deadline.incident_id.in_(ids), Deadline.state == "pending").order_by(Deadline.due_at.desc()))}
    sectors_by_incident: dict[int, list[SectorOut]] = defaultdict(list)
    for sector in db.scalars(select(SearchSector).where(SearchSector.incident_id.in_(ids)).order_by(SearchSector.id)):
        sectors_by_incident[sector.incident_id].append(SectorOut.of(sector))
    units_by_assignment: dict[int, list[schemas.UnitAssignmentOut]] = defaultdict(list)
    for ua in units:
        units_by_assignment[ua.assignment_id].append(schemas.UnitAssignmentOut.model_validate(ua))
    assignments_by_incident: dict[int, list[schemas.AssignmentOut]] = defaultdict(list)
    for a in assignments:
        out = schemas.AssignmentOut.model_validate(a)
        out.units = units_by_assignment.get(a.id, [])
        if a.id in due:  # the earliest pending deadline (rows came latest first)
            out.due_at, out.due_step = due[a.id].due_at, due[a.id].step
        assignments_by_incident[a.incident_id].append(out)
    calls_by_incident: dict[int, list[int]] = defaultdict(list)
    for incident_id, call_id in calls:
        calls_by_incident[incident_id].append(call_id)
    result = []
    for inc in incidents:
        out = schemas.IncidentOut.model_validate(inc)
        out.assignments = assignments_by_incident.get(inc.id, [])
        out.call_ids = calls_by_incident.get(inc.id, [])
        out.sectors = sectors_by_incident.get(inc.id, [])
        result.append(out)
    return result


def incident_out(db: Session, incident: Incident) -> schemas.IncidentOut:
    return incidents_out(db, [incident])[0]


def agency_ids_of(db: Session, incident_id: int) -> list[int]:
    return list(db.scalars(select(Assignment.agency_id).where(Assignment.incident_id == incident_id)))


def _visible(stmt, who: Principal):  # type: ignore[no-untyped-def]
    if who.is_staff:
        return stmt
    return stmt.where(Incident.id.in_(
        select(Assignment.incident_id).where(Assignment.agency_id == who.agency_id)))


def visible_incidents(db: Session, who: Principal, *, open_only: bool = True, status: str | None = None,
                      category: str | None = None, kode_wilayah: str | None = None,
                      limit: int = 200, offset: int = 0) -> list[Incident]:
    stmt = _visible(select(Incident), who)
    if open_only and status is None:
        stmt = stmt.where(Incident.status.in_(INCIDENT_OPEN_STATUSES))
    if status:
        stmt = stmt.where(Incident.status == status)
    if category:
        stmt = stmt.where(Incident.category_code == category)
    if kode_wilayah:
        stmt = stmt.where(Incident.kode_wilayah.startswith(kode_wilayah))
    stmt = stmt.order_by(Incident.priority, Incident.created_at.desc(), Incident.id.desc())
    return list(db.scalars(stmt.limit(limit).offset(offset)))


def get_visible_incident(db: Session, who: Principal, incident_id: int, *, for_update: bool = False) -> Incident:
    stmt = _visible(select(Incident).where(Incident.id == incident_id), who)
    if for_update:
        stmt = stmt.with_for_update()
    incident = db.scalar(stmt)
    if incident is None:
        raise Problem(404, "not_found")
    return incident


def timeline(db: Session, incident_id: int) -> list[TimelineEntry]:
    return list(db.scalars(
        select(TimelineEntry).where(TimelineEntry.incident_id == incident_id).order_by(TimelineEntry.id)))


def top_level_category(db: Session, code: str) -> Category | None:
    """The top-level category `code` names: itself, or a subcategory's parent."""
    category = db.get(Category, code)
    if category is not None and category.parent_code is not None:
        category = db.get(Category, category.parent_code)
    return category


# --- Nearby open incidents (duplicate suggestions, "open incidents near the caller") -------------------

def nearby_incidents(db: Session, who: Principal, *, lat: float, lon: float, radius_m: float,
                     category: Category | None, since: datetime, limit: int) -> list[schemas.NearbyIncidentOut]:
    """Open incidents the user may see, created since `since`, within `radius_m` of the point: same
    top-level category first, then nearest. A bounding box narrows the query; haversine decides."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    south, north = lat - dlat, lat + dlat
    stmt = _visible(select(Incident), who).where(
        Incident.status.in_(INCIDENT_OPEN_STATUSES), Incident.created_at >= since,
        Incident.lat.is_not(None), Incident.lon.is_not(None), Incident.lat.between(south, north))
    widest = max(abs(south), abs(north))
    if widest < 89:  # near a pole, or across the antimeridian, only the latitude band narrows the query
        dlon = dlat / math.cos(math.radians(widest))
        if -180 <= lon - dlon and lon + dlon <= 180:
            stmt = stmt.where(Incident.lon.between(lon - dlon, lon + dlon))
    found = []
    for incident in db.scalars(stmt):
        assert incident.lat is not None and incident.lon is not None
        d = distance_m(lat, lon, incident.lat, incident.lon)
        if d <= radius_m:
            same = category is not None and incident.category_code == category.code
            found.append((not same, d, incident.id, incident, same))
    found.sort(key=lambda f: f[:3])
    found = found[:limit]
    shaped = incidents_out(db, [f[3] for f in found])
    return [schemas.NearbyIncidentOut(**out.model_dump(), distance_m=round(d, 1), same_category=same)
            for out, (_other, d, _id, _inc, same) in zip(shaped, found, strict=True)]


# --- Guided questions: checking answers, suggesting a priority --------------------------------------

YES_NO_WORDS = {True: "timeline.answer_yes", False: "timeline.answer_no", None: "timeline.answer_unknown"}


def check_category(db: Session, category_code: str | None, subcategory_code: str | None, *,
                   active_only: bool = True) -> Category | None:
    """The top-level category named (None when none is named) and, if a subcategory is named, that it is one
    of its own: the one check incidents and response rules make (422 naming the field otherwise)."""
    category = None
    if category_code is not None:
        category = db.get(Category, category_code)
        if category is None or category.parent_code is not None or (active_only and not category.active):
            raise invalid("body.category_code", f"unknown category: {category_code}", "unknown")
    if subcategory_code:
        if category is None:
            raise invalid("body.subcategory_code", "a subcategory needs its category", "missing")
        sub = db.get(Category, subcategory_code)
        if sub is None or sub.parent_code != category.code:
            raise invalid("body.subcategory_code", f"not a subcategory of {category.code}: {subcategory_code}",
                          "unknown")
    return category


def answer_error(question: schemas.Question, value: Any) -> tuple[str, str] | None:
    """What is wrong with this answer to this question (message, code), or None when it fits its kind:
    the one check for incidents' answers, response rules' answers and question edits."""
    if value is None:
        return None
    if question.kind == "yesno" and not isinstance(value, bool):
        return "answer true, false or null", "bool_type"
    if question.kind == "choice" and value not in [o.value for o in question.options]:
        return f"one of: {', '.join(o.value for o in question.options)}", "enum"
    if question.kind == "text" and not isinstance(value, str):
        return "answer with text", "string_type"
    return None


def check_answers(db: Session, category_code: str, answers: Mapping[str, Any]) -> dict[str, schemas.Question]:
    """Each answer names an active question of this category (incidents.questions, in the database) and
    fits its kind; every wrong one is reported, each with its field path (body.answers.<question id>)."""
    mine = {q.id: q for q in questions_for(db, category_code)}
    errors = []
    for qid, value in answers.items():
        question, field = mine.get(qid), f"body.answers.{qid}"
        if question is None:
            errors.append({"field": field, "message": f"not a question of category {category_code}",
                           "code": "unknown"})
        elif wrong := answer_error(question, value):
            errors.append({"field": field, "message": wrong[0], "code": wrong[1]})
    if errors:
        raise Problem(422, "validation_failed", errors=errors)
    return {qid: mine[qid] for qid in answers}


def suggest_priority(category_default: int, answers: Mapping[str, Any],
                     questions: Mapping[str, schemas.Question]) -> int:
    """The category's default priority, raised (1 = most urgent) by any answer that says so; answers
    never lower it. Unanswered (null) and unknown questions change nothing."""
    priority = category_default
    for qid, value in answers.items():
        question = questions.get(qid)
        if question is None or value is None:
            continue
        raised = None
        if question.kind == "yesno" and isinstance(value, bool) and value == (question.raises_on == "yes"):
            raised = question.raises_priority_to
        elif question.kind == "choice":
            raised = next((o.raises_priority_to for o in question.options if o.value == value), None)
        if raised is not None:
            priority = min(priority, raised)
    return priority


def answers_message(questions: Mapping[str, schemas.Question], answers: Mapping[str, Any],
                    key: str = "timeline.guided_answers") -> dict[str, Any]:
    """The answers as the agency reads them in the timeline, with each question and chosen option in both
    languages as they were asked at the time (an admin may reword them later): a message with parameters."""
    return message(key, answers=joined("\n", [answer_line(questions[qid], value) for qid, value in answers.items()]))


def answer_line(question: schemas.Question, value: Any) -> dict[str, Any]:
    """One answer as a message parameter: the question and the answer as asked, in both languages."""
    if question.kind == "yesno" or value is None:
        shown: Any = ref(YES_NO_WORDS[value if isinstance(value, bool) else None])
    elif question.kind == "choice":
        option = next((o for o in question.options if o.value == value), None)
        shown = both(option.text_id, option.text_en) if option else str(value)
    else:
        shown = str(value)
    line = "timeline.guided_answer_q" if question.text_id.endswith("?") else "timeline.guided_answer"
    return ref(line, question=both(question.text_id, question.text_en), answer=shown)
