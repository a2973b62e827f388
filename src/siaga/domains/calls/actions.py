"""The only writers of calls. Telephony events are idempotent by event id and never refused for their
data: an odd order or a bad location is recorded, and the call stays in the queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.orm.util import identity_key

from siaga.core.audit import AuditEntry
from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.db.engine import insert_ignoring
from siaga.domains.calls import schemas, service
from siaga.domains.calls.models import (
    CALL_EVENT_TARGET,
    CALL_LIVE_STATUSES,
    CALL_TRANSITIONS,
    Call,
    CallEventRecord,
    CallLocation,
    RingAttempt,
    status_after_end,
)
from siaga.domains.calls.numbers import normalise_msisdn
from siaga.domains.calls.schemas import LocationIn
from siaga.domains.regions.models import Region
from siaga.domains.users.models import User
from siaga.events.kinds import EventKind


def announce_call(ctx: Ctx, call: Any, kind: EventKind, *,
                  all_locations: list[Any] | None = None) -> schemas.CallOut:
    """`all_locations`: every location the call has, known to the caller (a call created in this
    transaction with these and no other): they are not read back."""
    ctx.db.flush()
    out = service.call_out(ctx.db, call, known_locations=all_locations)
    ctx.emit(kind, "call", call.id, out.model_dump(mode="json"))
    return out


def _add_location(ctx: Ctx, call: Any, loc: schemas.LocationIn) -> Row[Any]:
    """Keep a reported location beside the call, as it came: one the call cannot use is flagged, never
    dropped. A Core INSERT (the telephony hot path): the row comes back whole."""
    valid, reason = loc.valid, loc.invalid_reason
    kode = loc.kode_wilayah
    if kode and ctx.db.get(Region, kode) is None:
        # Keep the location; flag the unknown code instead of refusing the call's data.
        valid, reason, kode = False, f"unknown kode wilayah {kode}", None
    if (loc.lat is None) != (loc.lon is None):
        valid, reason = False, reason or "only one of lat/lon given"
    conn = _core(ctx)
    return conn.execute(_NEW_LOCATION, {
        "call_id": call.id, "source": loc.source, "lat": loc.lat, "lon": loc.lon, "accuracy_m": loc.accuracy_m,
        "kode_wilayah": kode, "address_text": loc.address_text, "received_at": ctx.now(), "valid": valid,
        "invalid_reason": reason, "shape": loc.shape, "detail": loc.detail, "reference_uri": loc.reference_uri,
        "located_at": loc.located_at}).one()


UNMATCHED_FIX = "aml.unmatched"  # the audit action an AML fix with no call yet is kept under (location.actions)
WAITING_WINDOW = timedelta(minutes=30)  # an unmatched fix this much older than the call is not adopted


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def already_attached(ctx: Ctx, call: Any, loc: LocationIn) -> bool:
    return ctx.db.scalar(select(CallLocation.id).where(
        CallLocation.call_id == call.id, CallLocation.source == loc.source, _same(CallLocation.lat, loc.lat),
        _same(CallLocation.lon, loc.lon), _same(CallLocation.accuracy_m, loc.accuracy_m),
        _same(CallLocation.located_at, loc.located_at), CallLocation.valid == loc.valid).limit(1)) is not None


_AUDIT = AuditEntry.__table__
_WAITING_FIXES = (select(_AUDIT.c.seq, _AUDIT.c.data)
                  .where(_AUDIT.c.action == UNMATCHED_FIX, _AUDIT.c.entity_id == bindparam("number"),
                         _AUDIT.c.at >= bindparam("since"))
                  .order_by(_AUDIT.c.seq).limit(20))


def attach_waiting_fixes(ctx: Ctx, call: Any, within: timedelta = WAITING_WINDOW) -> int:
    """Adopt the AML fixes that arrived for this call's number before the call was recorded (kept as
    `aml.unmatched` audit entries, at most `within` before the call was offered). Returns how many were
    attached; each once, however often this is called. For the telephony intake to call on a new call."""
    normalised = normalise_msisdn(call.caller_number)
    if not normalised:
        return 0
    conn = _core(ctx)
    entries = conn.execute(_WAITING_FIXES, {"number": normalised, "since": call.offered_at - within}).all()
    attached = 0
    for seq, data in entries:
        try:
            loc = LocationIn.model_validate(json.loads(data).get("location") or {})
        except ValueError:
            continue
        if already_attached(ctx, call, loc):
            continue
        _add_location(ctx, call, loc)
        ctx.audit("aml.attach", "call", call.id, {"from_audit_seq": seq, "via": "waiting"})
        attached += 1
    if attached:
        announce_call(ctx, call, EventKind.CALL_UPDATED)
    return attached


def move(call: Any, target: str) -> bool:
    """Move the call's status to `target` when CALL_TRANSITIONS allows it; False (nothing changed) when not."""
    if target not in CALL_TRANSITIONS[call.status]:
        return False
    call.status = target
    return True


def create_call(ctx: Ctx, data: schemas.CallCreate) -> schemas.CallOut:
    now = ctx.now()
    call = Call(caller_number=data.caller_number, called_number=data.called_number,
                status="answered" if data.answered else "offered", offered_at=now,
                answered_at=now if data.answered else None,
                operator_id=ctx.actor.user_id if data.answered else None, notes="")
    ctx.db.add(call)
    ctx.db.flush()
    if data.location is not None:
        _add_location(ctx, call, data.location)
    ctx.audit("call.create", "call", call.id, data.model_dump(mode="json"))
    return announce_call(ctx, call, EventKind.CALL_CREATED)


def update_call(ctx: Ctx, call_id: int, data: schemas.CallUpdate) -> schemas.CallOut:
    """Outcome, notes, the silent-caller checklist, hanging up. A call-taker's update goes through
    callers.actions.record_call, which also weighs the number against the nuisance policy."""
    call = service.get_call(ctx.db, call_id, for_update=True)
    check_version(call.version, data.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if data.checklist is not None:
        unknown = sorted(set(data.checklist) - set(schemas.GHOST_CHECKLIST))
        if unknown:
            raise invalid(f"body.checklist.{unknown[0]}", "not a step of the silent-caller protocol", "unknown")
        call.checklist = {**(call.checklist or {}), **data.checklist}
    key = ctx.settings.silent_caller_key
    if data.outcome == "ghost" and key in (call.keys_pressed or ""):
        # The caller answered the protocol's question: someone is there who cannot speak.
        raise invalid("body.outcome", f"the caller pressed {key}: probably unable to speak, so not a ghost "
                                      "call; treat it as a silent emergency", "caller_pressed_key")
    if data.outcome == "ghost" and not all((call.checklist or {}).get(k) for k in schemas.GHOST_CHECKLIST):
        missing = [k for k in schemas.GHOST_CHECKLIST if not (call.checklist or {}).get(k)]
        raise invalid("body.checklist", "a silent call is recorded as ghost only after the silent-caller "
                                        f"protocol: {', '.join(missing)}", "missing")
    if data.outcome is not None:
        call.outcome = data.outcome
    if data.notes is not None:
        call.notes = data.notes
    if data.end and call.status in CALL_LIVE_STATUSES:
        if call.outcome is None:
            raise invalid("body.outcome", "record the call's outcome before closing it", "missing")
        call.ended_at = ctx.now()
        move(call, status_after_end(call.answered_at is not None, "ended"))
    ctx.audit("call.update", "call", call.id, changes)
    return announce_call(ctx, call, EventKind.CALL_UPDATED)


def claim_call(ctx: Ctx, call_id: int, data: schemas.CallClaim) -> schemas.CallOut:
    """A call-taker takes a waiting call. The row lock queues two call-takers pressing 'take' at once:
    the second sees the first's name (409 call_taken), not a generic conflict. The version the console saw is
    not held against it: a waiting call changes under the queue (its location arrives, its history is read),
    and a caller must never wait while the call-taker is told to reload; what matters is that the call still
    waits and nobody else has it, which is checked here under the lock."""
    call = service.get_call(ctx.db, call_id, for_update=True)
    me = ctx.actor.user_id
    if call.status not in CALL_LIVE_STATUSES:
        raise Problem(409, "invalid_transition", current=call.status, target="answered")
    if call.operator_id == me and call.status == "answered":
        return service.call_out(ctx.db, call)  # already mine: a double click changes nothing
    if call.operator_id is not None and call.operator_id != me:
        holder = ctx.db.get(User, call.operator_id)
        raise Problem(409, "call_taken", username=holder.username if holder else "?",
                      operator_id=call.operator_id)
    ringing_at = ctx.db.scalar(select(RingAttempt.user_id).where(
        RingAttempt.call_id == call.id, RingAttempt.ended_at.is_(None), RingAttempt.user_id != me))
    if ringing_at is not None:
        # Already ringing at another operator's phone: whoever picks it up there has it.
        holder = ctx.db.get(User, ringing_at)
        raise Problem(409, "call_taken", username=holder.username if holder else "?", operator_id=ringing_at)
    before = call.status
    move(call, "answered")  # a waiting call; already answered (taken over): it stays answered
    call.answered_at = call.answered_at or ctx.now()
    call.operator_id = me
    ctx.audit("call.claim", "call", call.id, {"from": before, "operator_id": me})
    return announce_call(ctx, call, EventKind.CALL_UPDATED)


# --- the telephony hot path ----------------------------------------------------------------------------
# Every call's every event comes through here (the SIP intake, the call-event API, replays), so it speaks
# SQLAlchemy Core on the session's own connection and transaction: pre-built statements, plain rows, no
# ORM unit of work. The rules are the ones above (CALL_EVENT_TARGET, status_after_end, move) applied to
# a plain record of the row; what changed goes back in one UPDATE that bumps the version exactly as the
# ORM's version counter does, so an ORM writer holding the old version still gets its 409.

CALL = Call.__table__
CALL_LOCATION = CallLocation.__table__
CALL_EVENT = CallEventRecord.__table__
_WRITABLE = ("caller_number", "status", "ringing_at", "answered_at", "ended_at", "operator_id", "outcome")
_CALL_BY_REF = select(*CALL.c).where(CALL.c.external_ref == bindparam("ref")).with_for_update()
_OPERATOR_ID = select(User.__table__.c.id).where(User.__table__.c.username == bindparam("username"))
_UPDATE_CALL = (CALL.update().where(CALL.c.id == bindparam("call_id"))
                .values({**{name: bindparam(name) for name in _WRITABLE}, "version": CALL.c.version + 1}))
_NEW_CALL = insert_ignoring(CALL, ["external_ref"], *CALL.c)
_NEW_EVENT = insert_ignoring(CALL_EVENT, ["event_id"], CALL_EVENT.c.event_id)
_NEW_LOCATION = CALL_LOCATION.insert().returning(*CALL_LOCATION.c)


def _core(ctx: Ctx) -> Connection:
    """The session's connection (same transaction), after flushing what the session still holds, so a
    Core statement sees every earlier change of this unit of work."""
    ctx.db.flush()
    return ctx.db.connection()


def _find_or_create_call(ctx: Ctx, ev: schemas.CallEventIn) -> tuple[SimpleNamespace, bool]:
    """The call this event belongs to, locked, as a plain record; created on its first event, whichever
    type that is. Two processes racing on a call's first events both end up with the one row (ON CONFLICT).
    An `offered` event is nearly always a call's first: it tries the INSERT first (the new row comes back
    whole, already locked as ours); any other event looks for the call first."""
    conn = _core(ctx)
    if ev.type != "offered":
        row = conn.execute(_CALL_BY_REF, {"ref": ev.call_ref}).first()
        if row is not None:
            return SimpleNamespace(**row._mapping), False
    row = conn.execute(_NEW_CALL[conn.dialect.name], {
        "external_ref": ev.call_ref, "caller_number": ev.caller_number, "called_number": ev.called_number,
        "status": "offered", "offered_at": ev.at, "notes": "", "simulated": ev.simulated, "version": 1,
    }).first()
    if row is not None:
        return SimpleNamespace(**row._mapping), True
    row = conn.execute(_CALL_BY_REF, {"ref": ev.call_ref}).first()
    assert row is not None
    return SimpleNamespace(**row._mapping), False


def _claim_event_id(ctx: Ctx, ev: schemas.CallEventIn, call_id: int) -> bool:
    """Record the event id; False when it was recorded before (a replay or a retry)."""
    conn = ctx.db.connection()
    return conn.execute(_NEW_EVENT[conn.dialect.name], {
        "event_id": ev.event_id, "call_id": call_id, "type": ev.type, "at": ev.at, "received_at": ctx.now(),
    }).first() is not None


def apply_call_event(call: Any, ev: schemas.CallEventIn, operator_id: Callable[[str], int | None]) -> None:
    """What a telephony event does to a call (a row record or an ORM Call): times, the operator, the status
    (CALL_EVENT_TARGET, status_after_end, along CALL_TRANSITIONS) and why nobody took it."""
    if not call.caller_number and ev.caller_number:
        call.caller_number = ev.caller_number
    if ev.type == "ringing" and call.answered_at is None:
        call.ringing_at = call.ringing_at or ev.at  # the first ring: the pickup delay runs from here
    if ev.type == "answered":
        call.answered_at = call.answered_at or ev.at
        if ev.operator_username and call.operator_id is None:
            call.operator_id = operator_id(ev.operator_username)
    elif ev.type in ("ended", "abandoned", "missed"):
        call.ended_at = call.ended_at or ev.at
    target = CALL_EVENT_TARGET[ev.type]
    if target == "end":
        target = status_after_end(call.answered_at is not None, ev.type)
    if target is not None and move(call, target):
        if target == "abandoned":  # nobody took it: say why, unless someone already said
            call.outcome = call.outcome or ("missed_out_of_hours" if ev.type == "missed" and call.answered_at is None
                                            else "abandoned")


def _save(ctx: Ctx, call: SimpleNamespace, before: dict[str, Any]) -> None:
    """Write back what the event changed, bumping the version; an ORM copy of the call already in this
    session is expired so that it reads the row again."""
    if all(getattr(call, name) == before[name] for name in _WRITABLE):
        return
    conn = ctx.db.connection()
    conn.execute(_UPDATE_CALL, {"call_id": call.id, **{name: getattr(call, name) for name in _WRITABLE}})
    call.version += 1
    held = ctx.db.identity_map.get(identity_key(Call, call.id))
    if held is not None:
        ctx.db.expire(held)


def ingest_call_event(ctx: Ctx, ev: schemas.CallEventIn) -> schemas.CallEventResult:
    call, created = _find_or_create_call(ctx, ev)
    if not _claim_event_id(ctx, ev, call.id):
        seen = ctx.db.get(CallEventRecord, ev.event_id)
        if created or seen is None or seen.call_id != call.id:
            # The same event id for another call: refuse it, and the call just created with it.
            raise Problem(409, "duplicate", what="event_id", value=ev.event_id)
        return schemas.CallEventResult(duplicate=True, call=service.call_out(ctx.db, call))
    before = {name: getattr(call, name) for name in _WRITABLE}
    conn = ctx.db.connection()
    apply_call_event(call, ev, lambda username: conn.execute(_OPERATOR_ID, {"username": username}).scalar())
    _save(ctx, call, before)
    given = ([ev.location] if ev.location is not None else []) + ev.locations
    added = [_add_location(ctx, call, loc) for loc in given]
    attached = 0
    if created and call.caller_number:
        # An AML fix may arrive (by SMS) before the call is recorded: it was kept, and joins the call now.
        attached = attach_waiting_fixes(ctx, call)
    ctx.audit("call.event", "call", call.id, {"event_id": ev.event_id, "type": ev.type, "at": ev.at.isoformat(),
                                              **({"simulated": True} if created and call.simulated else {})})
    out = announce_call(ctx, call, EventKind.CALL_CREATED if created else EventKind.CALL_UPDATED,
                        all_locations=added if created and not attached else None)
    return schemas.CallEventResult(duplicate=False, call=out)
