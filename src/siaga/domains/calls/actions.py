"""The only writers of calls. Telephony events are idempotent by event id and never refused for their
data: an odd order or a bad location is recorded, and the call stays in the queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select

from siaga.core.audit import AuditEntry
from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.db.engine import dialect_insert
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


def announce_call(ctx: Ctx, call: Call, kind: EventKind, *,
                  all_locations: list[CallLocation] | None = None) -> schemas.CallOut:
    """`all_locations`: every location the call has, known to the caller (a call created in this
    transaction with these and no other): they are not read back."""
    ctx.db.flush()
    out = service.call_out(ctx.db, call, known_locations=all_locations)
    ctx.emit(kind, "call", call.id, out.model_dump(mode="json"))
    return out


def _add_location(ctx: Ctx, call: Call, loc: schemas.LocationIn) -> CallLocation:
    valid, reason = loc.valid, loc.invalid_reason
    kode = loc.kode_wilayah
    if kode and ctx.db.get(Region, kode) is None:
        # Keep the location; flag the unknown code instead of refusing the call's data.
        valid, reason, kode = False, f"unknown kode wilayah {kode}", None
    if (loc.lat is None) != (loc.lon is None):
        valid, reason = False, reason or "only one of lat/lon given"
    row = CallLocation(call_id=call.id, source=loc.source, lat=loc.lat, lon=loc.lon,
                       accuracy_m=loc.accuracy_m, kode_wilayah=kode, address_text=loc.address_text,
                       received_at=ctx.now(), valid=valid, invalid_reason=reason, shape=loc.shape,
                       detail=loc.detail, reference_uri=loc.reference_uri, located_at=loc.located_at)
    ctx.db.add(row)
    return row


UNMATCHED_FIX = "aml.unmatched"  # the audit action an AML fix with no call yet is kept under (location.actions)
WAITING_WINDOW = timedelta(minutes=30)  # an unmatched fix this much older than the call is not adopted


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def already_attached(ctx: Ctx, call: Call, loc: LocationIn) -> bool:
    return ctx.db.scalar(select(CallLocation.id).where(
        CallLocation.call_id == call.id, CallLocation.source == loc.source, _same(CallLocation.lat, loc.lat),
        _same(CallLocation.lon, loc.lon), _same(CallLocation.accuracy_m, loc.accuracy_m),
        _same(CallLocation.located_at, loc.located_at), CallLocation.valid == loc.valid).limit(1)) is not None


_WAITING_FIXES = (select(AuditEntry)
                  .where(AuditEntry.action == UNMATCHED_FIX, AuditEntry.entity_id == bindparam("number"),
                         AuditEntry.at >= bindparam("since"))
                  .order_by(AuditEntry.seq).limit(20))


def attach_waiting_fixes(ctx: Ctx, call: Call, within: timedelta = WAITING_WINDOW) -> int:
    """Adopt the AML fixes that arrived for this call's number before the call was recorded (kept as
    `aml.unmatched` audit entries, at most `within` before the call was offered). Returns how many were
    attached; each once, however often this is called. For the telephony intake to call on a new call."""
    normalised = normalise_msisdn(call.caller_number)
    if not normalised:
        return 0
    entries = ctx.db.scalars(_WAITING_FIXES, {"number": normalised, "since": call.offered_at - within})
    attached = 0
    for entry in entries:
        try:
            loc = LocationIn.model_validate(entry.data_dict.get("location") or {})
        except ValueError:
            continue
        if already_attached(ctx, call, loc):
            continue
        _add_location(ctx, call, loc)
        ctx.audit("aml.attach", "call", call.id, {"from_audit_seq": entry.seq, "via": "waiting"})
        attached += 1
    if attached:
        announce_call(ctx, call, EventKind.CALL_UPDATED)
    return attached


def move(call: Call, target: str) -> bool:
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
    the second sees the first's name (409 call_taken), not a generic conflict."""
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
    check_version(call.version, data.version)
    before = call.status
    move(call, "answered")  # a waiting call; already answered (taken over): it stays answered
    call.answered_at = call.answered_at or ctx.now()
    call.operator_id = me
    ctx.audit("call.claim", "call", call.id, {"from": before, "operator_id": me})
    return announce_call(ctx, call, EventKind.CALL_UPDATED)


_CALL_BY_REF = select(Call).where(Call.external_ref == bindparam("ref")).with_for_update()


def _find_or_create_call(ctx: Ctx, ev: schemas.CallEventIn) -> tuple[Call, bool]:
    """The call this event belongs to, locked; created on its first event, whichever type that is.
    Two processes racing on a call's first events both end up with the one row (ON CONFLICT). An
    `offered` event is nearly always a call's first: it tries the INSERT first (the new row comes back
    whole, already locked as ours); any other event looks for the call first."""
    if ev.type != "offered":
        call = ctx.db.scalar(_CALL_BY_REF, {"ref": ev.call_ref})
        if call is not None:
            return call, False
    created = ctx.db.scalars(
        dialect_insert(ctx.db, Call).values(
            external_ref=ev.call_ref, caller_number=ev.caller_number, called_number=ev.called_number,
            status="offered", offered_at=ev.at, notes="", simulated=ev.simulated, version=1)
        .on_conflict_do_nothing(index_elements=["external_ref"]).returning(Call)
    ).first()
    if created is not None:
        return created, True
    call = ctx.db.scalar(_CALL_BY_REF, {"ref": ev.call_ref})
    assert call is not None
    return call, False


def _claim_event_id(ctx: Ctx, ev: schemas.CallEventIn, call_id: int) -> bool:
    """Record the event id; False when it was recorded before (a replay or a retry)."""
    return ctx.db.execute(
        dialect_insert(ctx.db, CallEventRecord).values(
            event_id=ev.event_id, call_id=call_id, type=ev.type, at=ev.at, received_at=ctx.now())
        .on_conflict_do_nothing(index_elements=["event_id"]).returning(CallEventRecord.event_id)
    ).first() is not None


def ingest_call_event(ctx: Ctx, ev: schemas.CallEventIn) -> schemas.CallEventResult:
    call, created = _find_or_create_call(ctx, ev)
    if not _claim_event_id(ctx, ev, call.id):
        seen = ctx.db.get(CallEventRecord, ev.event_id)
        if created or seen is None or seen.call_id != call.id:
            # The same event id for another call: refuse it, and the call just created with it.
            raise Problem(409, "duplicate", what="event_id", value=ev.event_id)
        return schemas.CallEventResult(duplicate=True, call=service.call_out(ctx.db, call))
    if not call.caller_number and ev.caller_number:
        call.caller_number = ev.caller_number
    if ev.type == "answered":
        call.answered_at = call.answered_at or ev.at
        if ev.operator_username and call.operator_id is None:
            call.operator_id = ctx.db.scalar(select(User.id).where(User.username == ev.operator_username))
    elif ev.type in ("ended", "abandoned", "missed"):
        call.ended_at = call.ended_at or ev.at
    target = CALL_EVENT_TARGET[ev.type]
    if target == "end":
        target = status_after_end(call.answered_at is not None, ev.type)
    if target is not None and move(call, target):
        if target == "abandoned":  # nobody took it: say why, unless someone already said
            call.outcome = call.outcome or ("missed_out_of_hours" if ev.type == "missed" and call.answered_at is None
                                            else "abandoned")
    given = ([ev.location] if ev.location is not None else []) + ev.locations
    added = [_add_location(ctx, call, loc) for loc in given]
    attached = 0
    if created and call.caller_number:
        # An AML fix may arrive (by SMS) before the call is recorded: it was kept, and joins the call now.
        ctx.db.flush()
        attached = attach_waiting_fixes(ctx, call)
    ctx.audit("call.event", "call", call.id, {"event_id": ev.event_id, "type": ev.type, "at": ev.at.isoformat(),
                                              **({"simulated": True} if created and call.simulated else {})})
    out = announce_call(ctx, call, EventKind.CALL_CREATED if created else EventKind.CALL_UPDATED,
                        all_locations=added if created and not attached else None)
    return schemas.CallEventResult(duplicate=False, call=out)
