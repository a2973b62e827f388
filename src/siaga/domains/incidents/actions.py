"""The only writers of incidents and their timelines. Each action validates, changes, writes the
timeline, audits and emits — in the caller's transaction; the caller commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from siaga.core.clock import site_zone
from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.core.i18n import SOURCE_LANGUAGE, both, joined, message
from siaga.db.engine import dialect_insert
from siaga.domains.agencies.models import Agency
from siaga.domains.calls.actions import announce_call
from siaga.domains.calls.models import Call
from siaga.domains.calls.privacy import linked_call_message, sees_full_numbers, unmask_edited_text
from siaga.domains.incidents import schemas, service
from siaga.domains.incidents.models import (
    ASSIGNMENT_FINISHED,
    INCIDENT_TRANSITIONS,
    Assignment,
    Category,
    Deadline,
    Incident,
    IncidentCounter,
    TimelineEntry,
    UnitAssignment,
)
from siaga.domains.incidents.questions import asked
from siaga.domains.regions.models import Landmark, Region
from siaga.domains.regions.service import get_geocoder
from siaga.domains.units.actions import announce_unit
from siaga.domains.units.models import Unit
from siaga.events.kinds import EventKind
from siaga.events.outbox import Audience


def announce_incident(ctx: Ctx, incident: Incident, kind: EventKind, *,
                      created_with_calls: list[int] | None = None) -> schemas.IncidentOut:
    """Emit the incident as it now stands to staff and every agency assigned to it. `created_with_calls`:
    the incident was created in this transaction, with these calls and nothing else linked to it yet (no
    assignment, unit or search sector), so there is nothing to read back."""
    ctx.db.flush()
    if created_with_calls is not None:
        out = schemas.IncidentOut.model_validate(incident)
        out.call_ids = created_with_calls
    else:
        out = service.incident_out(ctx.db, incident)
    agencies = tuple(a.agency_id for a in out.assignments)
    ctx.emit(kind, "incident", incident.id, out.model_dump(mode="json"), Audience(agencies=agencies))
    return out


def add_timeline(ctx: Ctx, incident_id: int, kind: str, text: str = "", data: dict[str, Any] | None = None, *,
                 message: dict[str, Any] | None = None, agencies: tuple[int, ...] | None = None) -> TimelineEntry:
    """One timeline entry: `message` (core.i18n.message: a catalogue key and its parameters) for what the
    system says, `text` only for what a person typed. The event carries it rendered in Bahasa Indonesia."""
    entry = TimelineEntry(incident_id=incident_id, at=ctx.now(), actor_id=ctx.actor.user_id or None,
                          actor=ctx.actor.full_name, kind=kind, text=text, data=data or {},
                          code=message["code"] if message else None, params=message["params"] if message else None)
    ctx.db.add(entry)
    ctx.db.flush()
    payload = schemas.TimelineOut.of(entry, SOURCE_LANGUAGE).model_dump(mode="json")
    if agencies is None:  # the incident's agencies see its timeline (a caller that knows them says so)
        agencies = tuple(service.agency_ids_of(ctx.db, incident_id))
    ctx.emit(EventKind.TIMELINE_ADDED, "timeline", entry.id, payload, Audience(agencies=agencies))
    return entry


def _next_number(ctx: Ctx) -> str:
    """BKS-2026-000123, the year in the site's zone (a WITA centre starts 2027 an hour before a WIB one).
    On PostgreSQL the counter moves in a short transaction of its own, so concurrent
    creations don't queue behind each other's whole transaction; a creation that then fails leaves a gap
    in the numbers, never a duplicate. On SQLite the writer already holds the database lock."""
    year = site_zone(ctx.settings).local(ctx.now()).year
    bind = ctx.db.get_bind()
    if bind.dialect.name == "postgresql":
        with bind.connect() as conn:
            last = _bump_counter(conn, year)
            conn.commit()
    else:
        last = _bump_counter(ctx.db, year)
    return f"{ctx.settings.incident_prefix}-{year}-{last:06d}"


_COUNTER = IncidentCounter.__table__
_BUMP = (_COUNTER.update().where(_COUNTER.c.year == bindparam("y"))
         .values(last=_COUNTER.c.last + 1).returning(_COUNTER.c.last))


def _bump_counter(conn: Any, year: int) -> int:
    """The year's next number: one UPDATE, and on a year's first incident an INSERT (racing creators
    both end up bumping the one row)."""
    last = conn.execute(_BUMP, {"y": year}).scalar()
    if last is None:
        conn.execute(dialect_insert(conn, IncidentCounter).values(year=year, last=0)
                     .on_conflict_do_nothing(index_elements=["year"]))
        last = conn.execute(_BUMP, {"y": year}).scalar_one()
    return last


def create_category(ctx: Ctx, data: schemas.CategoryCreate) -> schemas.CategoryOut:
    if ctx.db.get(Category, data.code) is not None:
        raise Problem(409, "duplicate", what="category", value=data.code)
    if data.parent_code is not None:
        parent = ctx.db.get(Category, data.parent_code)
        if parent is None or parent.parent_code is not None:
            raise invalid("body.parent_code", "unknown top-level category", "unknown")
        if not data.code.startswith(parent.code + "."):
            raise invalid("body.code", f"a subcategory's code starts with {parent.code}.")
    elif "." in data.code:
        raise invalid("body.code", "a top-level category's code has no dot")
    category = Category(**data.model_dump(), active=True)
    ctx.db.add(category)
    ctx.db.flush()
    out = schemas.CategoryOut.model_validate(category)
    ctx.audit("category.create", "category", category.code, data.model_dump())
    ctx.emit(EventKind.CATEGORY_CREATED, "category", None, out.model_dump(mode="json"))
    return out


def _check_references(ctx: Ctx, data: schemas.IncidentCreate | schemas.IncidentUpdate,
                      category_code: str) -> Category:
    category = service.check_category(ctx.db, category_code, data.subcategory_code)
    assert category is not None
    if data.kode_wilayah and ctx.db.get(Region, data.kode_wilayah) is None:
        raise invalid("body.kode_wilayah", f"unknown kode wilayah: {data.kode_wilayah}", "unknown")
    if data.landmark_id is not None and ctx.db.get(Landmark, data.landmark_id) is None:
        raise invalid("body.landmark_id", "unknown landmark", "unknown")
    if (data.lat is None) != (data.lon is None):
        raise invalid("body.lat", "give both lat and lon, or neither")
    if data.lat is not None and data.lon is not None:
        why = outside_served_area(ctx.db, ctx.settings.region_code, data.lat, data.lon)
        if why:
            raise invalid("body.lat", f"outside the region served ({why}): check the coordinates", "outside_region")
    return category


def outside_served_area(db: Session, region_code: str, lat: float, lon: float) -> str | None:
    """Why a point is plainly outside the regency served — a slip of the finger, swapped or mistyped
    coordinates — or None. With desa boundaries loaded: farther than 12 nautical miles (NEAR_LIMIT_M) from
    every desa; the sea off the coast and the land just across a border stay acceptable (a boat, a
    neighbour's road). Without boundaries: outside the gazetteer's box widened by REGION_MARGIN_DEG."""
    geocoder = get_geocoder(db)
    if len(geocoder):
        place = geocoder.locate(lat, lon)
        if place.status != "outside":
            return None
        nearest = place.nearest_desa.name if place.nearest_desa else "?"
        return f"{region_code}: {(place.nearest_desa_m or 0) / 1000:.0f} km from the nearest desa, {nearest}"
    bounds = region_bounds(db, region_code)
    if bounds is not None and not (bounds[0] <= lat <= bounds[2] and bounds[1] <= lon <= bounds[3]):
        return f"{region_code}, with a {REGION_MARGIN_DEG}° margin"
    return None


REGION_MARGIN_DEG = 0.3  # ~33 km: incidents just across the border (Dumai, Siak) are still accepted


def region_bounds(db: Session, region_code: str) -> tuple[float, float, float, float] | None:
    """(min lat, min lon, max lat, max lon) of the served regency's gazetteer points and boundaries, widened
    by the margin; None when the gazetteer has no points (then nothing is refused)."""
    inside = Region.kode.startswith(region_code + ".")
    row = db.execute(select(func.min(Region.lat), func.min(Region.lon), func.max(Region.lat), func.max(Region.lon))
                     .where(inside, Region.lat.is_not(None))).one()
    if row[0] is None:
        return None
    box = db.execute(select(func.min(Region.min_lat), func.min(Region.min_lon), func.max(Region.max_lat),
                            func.max(Region.max_lon)).where(inside, Region.min_lat.is_not(None))).one()
    if box[0] is not None:  # an outline reaches farther than any label point inside it
        row = (min(row[0], box[0]), min(row[1], box[1]), max(row[2], box[2]), max(row[3], box[3]))
    m = REGION_MARGIN_DEG
    return row[0] - m, row[1] - m, row[2] + m, row[3] + m


def create_incident(ctx: Ctx, data: schemas.IncidentCreate) -> schemas.IncidentOut:
    category = _check_references(ctx, data, data.category_code)
    call = None
    if data.call_id is not None:
        call = ctx.db.get(Call, data.call_id)
        if call is None:
            raise invalid("body.call_id", "unknown call", "unknown")
        if call.incident_id is not None:
            raise Problem(409, "duplicate", what="call → incident", value=str(call.incident_id))
    answers = data.answers or {}
    questions = service.check_answers(ctx.db, category.code, answers)
    suggested = service.suggest_priority(category.default_priority, answers, questions)
    now = ctx.now()
    fields = data.model_dump(exclude={"call_id", "priority", "answers"})
    incident = Incident(**fields, number=_next_number(ctx), priority=data.priority or suggested, answers=answers,
                        status="new", created_at=now, created_by=ctx.actor.user_id or None, outcome_note="")
    ctx.db.add(incident)
    ctx.db.flush()
    # A new incident has no agency yet: its first entries are for staff (agencies read them when assigned).
    add_timeline(ctx, incident.id, "created", data.description,
                 {"category": incident.category_code, "priority": incident.priority}, agencies=())
    if answers:
        add_timeline(ctx, incident.id, "guided_answers",
                     data={"answers": answers, "suggested_priority": suggested, "asked": asked(ctx.db, answers)},
                     message=service.answers_message(questions, answers), agencies=())
    ctx.audit("incident.create", "incident", incident.id,
              {"number": incident.number, **fields, **({"answers": answers} if answers else {})})
    if call is not None:
        _attach_call(ctx, incident, call)
    return announce_incident(ctx, incident, EventKind.INCIDENT_CREATED, created_with_calls=[call.id] if call else [])


LOCATION_FIELDS = ("kode_wilayah", "address_text", "patokan", "landmark_id", "lat", "lon")


def update_incident(ctx: Ctx, incident_id: int, data: schemas.IncidentUpdate) -> schemas.IncidentOut:
    """Correct an incident after it was created: category, priority, location, description, guided answers.
    A stale version is a 409 naming who corrected what since (`changed_by`, `changed`). Each kind of change
    is a timeline entry of its own (`corrected`, a message with its parameters, rendered in the reader's
    language); a new category drops the answers to the old one's questions, and new answers raise the
    priority when they say so (never lower it) unless a priority is given."""
    incident = service.get_visible_incident(ctx.db, ctx.actor, incident_id, for_update=True)
    if incident.version != data.version:
        raise _changed_since(ctx, incident, data.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if changes.get("description") and not sees_full_numbers(ctx.actor):  # they were shown numbers masked
        changes["description"] = unmask_edited_text(changes["description"], incident.description)
    changes = {k: v for k, v in changes.items() if getattr(incident, k) != v}
    if not changes:
        return service.incident_out(ctx.db, incident)
    merged = schemas.IncidentUpdate(version=data.version, **{
        "subcategory_code": incident.subcategory_code, "kode_wilayah": incident.kode_wilayah,
        "landmark_id": incident.landmark_id, "lat": incident.lat, "lon": incident.lon, **changes})
    if "category_code" in changes and "subcategory_code" not in changes and incident.subcategory_code:
        merged.subcategory_code = None
        changes["subcategory_code"] = None
    category = _check_references(ctx, merged, changes.get("category_code") or incident.category_code)
    if "category_code" in changes and "answers" not in changes and incident.answers:
        changes["answers"] = {}  # the old category's questions are not this one's
    questions = service.check_answers(ctx.db, category.code, changes.get("answers") or {})
    if changes.get("answers") and "priority" not in changes:
        suggested = service.suggest_priority(category.default_priority, changes["answers"], questions)
        if suggested < incident.priority:
            changes["priority"] = suggested
    before = {k: getattr(incident, k) for k in changes}
    before_category = (incident.category_code, incident.subcategory_code)
    before_location = _location_words(ctx, incident)
    for key, value in changes.items():
        setattr(incident, key, value)
    ctx.db.flush()
    version = incident.version
    entries: list[tuple[str, str, dict[str, Any]]] = []
    if "category_code" in changes or "subcategory_code" in changes:
        after_category = _category_words(ctx, incident.category_code, incident.subcategory_code)
        entries.append(("category", "", message("timeline.corrected_category",
                                                before=_category_words(ctx, *before_category), after=after_category)))
    if "priority" in changes:
        entries.append(("priority", "", message("timeline.corrected_priority", before=before["priority"],
                                                after=incident.priority)))
    if any(k in changes for k in LOCATION_FIELDS):
        entries.append(("location", "", message("timeline.corrected_location", before=before_location,
                                                after=_location_words(ctx, incident))))
    if "description" in changes:
        entries.append(("description", incident.description, message("timeline.corrected_description")))
    for field, text, msg in entries:
        add_timeline(ctx, incident.id, "corrected", text,
                     {"field": field, "version": version, "before": {k: v for k, v in before.items() if k != "answers"},
                      "after": {k: v for k, v in changes.items() if k != "answers"}}, message=msg)
    if "answers" in changes:
        answers = changes["answers"]
        add_timeline(ctx, incident.id, "guided_answers",
                     data={"answers": answers, "field": "answers", "version": version, "corrected": True,
                           "asked": asked(ctx.db, answers)},
                     message=service.answers_message(questions, answers, "timeline.corrected_answers")
                     if answers else message("timeline.corrected_answers_cleared"))
    ctx.audit("incident.update", "incident", incident.id, {"before": before, "after": changes})
    return announce_incident(ctx, incident, EventKind.INCIDENT_UPDATED)


def _changed_since(ctx: Ctx, incident: Incident, seen: int) -> Problem:
    """409 stale_version, saying who corrected what since the version the client saw (`changed_by`: names,
    comma-separated; `changed`: category, priority, location, description, answers, comma-separated; both
    empty when the incident moved otherwise — a status, an agency), and the version now."""
    later = [e for e in service.timeline(ctx.db, incident.id) if e.kind in ("corrected", "guided_answers")
             and isinstance((e.data or {}).get("version"), int) and e.data["version"] > seen]
    fields = list(dict.fromkeys(e.data.get("field") for e in later if e.data.get("field")))
    by = list(dict.fromkeys(e.actor for e in later))
    return Problem(409, "stale_version", current=incident.version, changed_by=", ".join(by), changed=",".join(fields))


def _category_words(ctx: Ctx, code: str, subcode: str | None) -> dict[str, Any]:
    """The category (and subcategory) in both languages, as a message parameter."""
    names = [ctx.db.get(Category, c) for c in (code, subcode) if c]
    return both(" — ".join(c.name_id for c in names if c), " — ".join(c.name_en for c in names if c))


def _location_words(ctx: Ctx, incident: Incident) -> str:
    """Where the incident is, as written (address, patokan, desa, coordinates): data, not prose."""
    parts = [incident.address_text or "", incident.patokan or ""]
    if incident.kode_wilayah:
        region = ctx.db.get(Region, incident.kode_wilayah)
        parts.append(region.name if region else incident.kode_wilayah)
    if incident.lat is not None and incident.lon is not None:
        parts.append(f"{incident.lat:.5f}, {incident.lon:.5f}")
    return "; ".join(p for p in parts if p.strip()) or "—"


def change_incident_status(ctx: Ctx, incident_id: int, data: schemas.IncidentStatusIn) -> schemas.IncidentOut:
    incident = service.get_visible_incident(ctx.db, ctx.actor, incident_id, for_update=True)
    check_version(incident.version, data.version)
    set_incident_status(ctx, incident, data.status, data.note)
    return announce_incident(ctx, incident, EventKind.INCIDENT_STATUS_CHANGED)


def cancel_deadlines(ctx: Ctx, *, assignment_id: int | None = None, incident_id: int | None = None,
           steps: tuple[str, ...] | None = None) -> int:
    """Cancel pending deadlines of an assignment (some steps, or all) or of a whole incident: here, with the
    incident, because closing or cancelling an incident ends its clocks; dispatch.deadlines schedules them."""
    stmt = update(Deadline).where(Deadline.state == "pending").values(state="cancelled", fired_at=ctx.now())
    if assignment_id is not None:
        stmt = stmt.where(Deadline.assignment_id == assignment_id)
    if incident_id is not None:
        stmt = stmt.where(Deadline.incident_id == incident_id)
    if steps is not None:
        stmt = stmt.where(Deadline.step.in_(steps))
    return ctx.db.execute(stmt.execution_options(synchronize_session=False)).rowcount or 0


def set_incident_status(ctx: Ctx, incident: Incident, target: str, note: str = "") -> None:
    """Move the incident to `target`. The caller holds the incident's row lock (get_visible_incident
    for_update). Resolving or cancelling it stands down every open assignment and stops every pending
    deadline in this same transaction (`stand_down`), so no agency is paged for a finished incident."""
    current = incident.status
    if target == current:
        return
    if target not in INCIDENT_TRANSITIONS[current]:
        raise Problem(409, "invalid_transition", current=current, target=target)
    if (target in ("closed", "cancelled") or current == "closed") and not note.strip():
        raise invalid("body.note", "a note is required to close, cancel or reopen", "missing")
    if target == "closed":
        open_ones = [a for a in ctx.db.scalars(select(Assignment).where(Assignment.incident_id == incident.id))
                     if a.state not in ASSIGNMENT_FINISHED]
        if open_ones:
            raise Problem(409, "incident_not_clear", open=len(open_ones))
    now = ctx.now()
    incident.status = target
    if target == "resolved":
        incident.resolved_at = now
    if target in ("closed", "cancelled"):
        incident.closed_at = now
        incident.outcome_note = note
    if current == "closed":  # reopened: audited below with the reason
        incident.closed_at = None
    add_timeline(ctx, incident.id, "status", note, {"from": current, "to": target})
    ctx.audit("incident.status", "incident", incident.id, {"from": current, "to": target, "note": note})
    if target in ("resolved", "closed", "cancelled"):
        stand_down(ctx, incident)


def stand_down(ctx: Ctx, incident: Incident) -> list[Assignment]:
    """The incident is finished (resolved or cancelled): every open assignment is stood down (`stood_down`),
    its units released as a cleared assignment's are (on the road or on scene they return, others are free),
    and every pending deadline of the incident is cancelled — acknowledge, units, on-scene, the supervisor's and
    the backup's alike. One timeline entry names the agencies stood down; the agencies' consoles hear it through
    the incident event the caller emits (every agency assigned is in its audience, stood down or not).

    Locks: the caller holds the incident's row; the open assignments are locked here before the deadlines are
    touched, the order dispatch actions and the ticker keep too (incident, assignment, deadline), so a deadline
    the ticker claims concurrently waits for this transaction and then finds nothing pending (`escalation.
    fire_one` locks the incident first and re-reads its status)."""
    now = ctx.now()
    open_ones = list(ctx.db.scalars(
        select(Assignment).where(Assignment.incident_id == incident.id, Assignment.state.not_in(ASSIGNMENT_FINISHED))
        .order_by(Assignment.id).with_for_update()))
    cancel_deadlines(ctx, incident_id=incident.id)
    if not open_ones:
        return []
    names = _agency_names(ctx, [a.agency_id for a in open_ones])
    for assignment in open_ones:
        before = assignment.state
        assignment.state = "stood_down"
        assignment.stood_down_at = now
        release_units(ctx, assignment)
        ctx.audit("assignment.state", "assignment", assignment.id,
                  {"from": before, "to": "stood_down", "reason": f"incident {incident.status}"})
    add_timeline(ctx, incident.id, "stood_down",
                 data={"assignment_ids": [a.id for a in open_ones], "agency_ids": [a.agency_id for a in open_ones],
                       "to": "stood_down", "incident_status": incident.status},
                 message=message(f"timeline.stood_down_{incident.status}", agencies=joined(", ", names)))
    return open_ones


def _agency_names(ctx: Ctx, agency_ids: list[int]) -> list[str]:
    names = {agency_id: name for agency_id, name in
             ctx.db.execute(select(Agency.id, Agency.short_name).where(Agency.id.in_(agency_ids)))}
    return [names.get(i, f"#{i}") for i in agency_ids]


def release_units(ctx: Ctx, assignment: Assignment) -> None:
    """An assignment that ends frees its units: on the road or on scene they return, others are free."""
    now = ctx.now()
    for ua in ctx.db.scalars(select(UnitAssignment).where(UnitAssignment.assignment_id == assignment.id,
                                                          UnitAssignment.active.is_(True))):
        unit = ctx.db.get(Unit, ua.unit_id)
        assert unit is not None
        ua.active = False
        ua.cleared_at = now
        unit.status = "returning" if unit.status in ("en_route", "on_scene") else "available"
        unit.status_at = now
        announce_unit(ctx, unit, EventKind.UNIT_STATUS_CHANGED)


def add_note(ctx: Ctx, incident_id: int, data: schemas.NoteIn, lang: str = SOURCE_LANGUAGE) -> schemas.TimelineOut:
    incident = service.get_visible_incident(ctx.db, ctx.actor, incident_id)
    entry = add_timeline(ctx, incident.id, "note", data.text)
    ctx.audit("incident.note", "incident", incident.id, {"text": data.text})
    return schemas.TimelineOut.of(entry, lang)


def _attach_call(ctx: Ctx, incident: Incident, call: Call) -> None:

    call.incident_id = incident.id
    if call.outcome is None:
        call.outcome = "emergency"
    # The text names the call and its number masked, never the full number: the timeline is append-only and
    # goes into exports (a reader with numbers.reveal reveals the number from the call, audited).
    add_timeline(ctx, incident.id, "call_linked", data={"call_id": call.id},
                 message=linked_call_message(call.id, call.caller_number))
    ctx.audit("call.link", "call", call.id, {"incident_id": incident.id})
    announce_call(ctx, call, EventKind.CALL_UPDATED)


def link_call(ctx: Ctx, incident_id: int, data: schemas.LinkCallIn) -> schemas.IncidentOut:
    incident = service.get_visible_incident(ctx.db, ctx.actor, incident_id, for_update=True)
    call = ctx.db.get(Call, data.call_id)
    if call is None:
        raise invalid("body.call_id", "unknown call", "unknown")
    if call.incident_id == incident.id:
        return service.incident_out(ctx.db, incident)
    if call.incident_id is not None:
        raise Problem(409, "duplicate", what="call → incident", value=str(call.incident_id))
    _attach_call(ctx, incident, call)
    return announce_incident(ctx, incident, EventKind.INCIDENT_UPDATED)
