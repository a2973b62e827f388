"""The only writers of lines, presence and ring attempts, and the queue's decisions: who rings next.

The SIP edge (bridge.py) and any other telephony system report what happened; these actions turn it into
call events (through calls.actions.ingest_call_event, the same path as the generic call-event API) and
answer with commands: ring this operator's phone, or, when nobody is on duty, forward or end the call —
recorded as missed_out_of_hours and put on the callback list. Nothing here refuses a call for its data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.core.authz import AGENCY_OPERATOR
from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid
from siaga.domains.calls import schemas as call_schemas
from siaga.domains.calls.actions import announce_call, ingest_call_event
from siaga.domains.calls.models import CALL_LIVE_STATUSES, Call, RingAttempt
from siaga.domains.telephony import schemas, service
from siaga.domains.telephony.models import OperatorLine, TelephonyEdge
from siaga.domains.telephony.service import REUSED, sip_call_id
from siaga.domains.users.models import User
from siaga.events.kinds import EventKind
from siaga.events.outbox import Audience

DEFAULT_REGISTRATION_S = 3600


@dataclass(frozen=True)
class Ring:
    """Ring `extension` for the call the edge knows as `call_ref`; auto: the operator already took it on
    the console, so the phone answers by itself."""

    call_ref: str
    call_id: int
    extension: str
    user_id: int
    attempt_id: int
    auto: bool = False


@dataclass(frozen=True)
class Refuse:
    """Nobody on duty: forward to `uri` when configured, else end the call with `code`."""

    call_ref: str
    code: int = 480
    reason: str = "Tidak ada operator bertugas"
    uri: str = ""


def ha1(extension: str, realm: str, password: str) -> str:
    """RFC 2617 digest HA1 (what Kamailio's pv_auth_check compares with flag 1)."""
    return hashlib.md5(f"{extension}:{realm}:{password}".encode()).hexdigest()  # noqa: S324 - SIP digest


def _announce_line(ctx: Ctx, line: OperatorLine) -> None:
    ctx.db.flush()
    user = ctx.db.get(User, line.user_id)
    assert user is not None
    out = service.line_out(line, user, ctx.now())
    # An agency operator's line reaches that agency's consoles too: the operator's /agency page follows its own
    # line (registered, device) as a call-taker's console does.
    audience = Audience(agencies=(user.agency_id,)) if user.role == AGENCY_OPERATOR and user.agency_id else None
    ctx.emit(EventKind.TELEPHONY_LINE, "operator_line", line.user_id, out.model_dump(mode="json"), audience)


def _queue_lines():  # type: ignore[no-untyped-def]
    """Lines that take 112 calls: their user's role is a call-taker's or a supervisor's (service.QUEUE_ROLES).
    An agency operator's line (issue 17) is never rung for an emergency call nor counted as on duty."""
    return select(OperatorLine).join(User, User.id == OperatorLine.user_id).where(User.role.in_(service.QUEUE_ROLES))


def _in_queue(ctx: Ctx, user_id: int) -> bool:
    user = ctx.db.get(User, user_id)
    return user is not None and user.role in service.QUEUE_ROLES


def _line_for_update(ctx: Ctx, user_id: int) -> OperatorLine | None:
    return ctx.db.scalar(select(OperatorLine).where(OperatorLine.user_id == user_id).with_for_update())


# --- lines and presence (people) ---------------------------------------------------------------------

def set_line(ctx: Ctx, user_id: int, data: schemas.LineIn) -> schemas.LineOut:
    user = ctx.db.get(User, user_id)
    if user is None:
        raise Problem(404, "not_found", what="user", id=user_id)
    if user.role not in service.LINE_ROLES:
        raise invalid("path.user_id", "only call-takers, supervisors and agency operators have a phone line", "role")
    taken = ctx.db.scalar(select(OperatorLine.user_id).where(OperatorLine.extension == data.extension,
                                                              OperatorLine.user_id != user_id))
    if taken is not None:
        raise invalid("body.extension", f"extension {data.extension} belongs to someone else", "taken")
    line = _line_for_update(ctx, user_id)
    digest = ha1(data.extension, ctx.settings.telephony_domain, data.password)
    if line is None:
        line = OperatorLine(user_id=user_id, extension=data.extension, sip_ha1=digest, presence="offline",
                            presence_since=ctx.now(), contact="")
        ctx.db.add(line)
    else:
        if line.extension != data.extension:
            line.registered_until, line.contact = None, ""
        line.extension, line.sip_ha1 = data.extension, digest
    ctx.audit("telephony.line.set", "operator_line", user_id, {"extension": data.extension})
    _announce_line(ctx, line)
    return service.line_out(line, user, ctx.now())


def set_presence(ctx: Ctx, data: schemas.PresenceIn) -> schemas.LineOut:
    user_id = data.user_id or ctx.actor.user_id
    if user_id != ctx.actor.user_id and ctx.actor.role != "supervisor":
        raise Problem(403, "forbidden")
    line = _line_for_update(ctx, user_id)
    if line is None:
        raise Problem(404, "not_found", what="operator_line", id=user_id)
    if not _in_queue(ctx, user_id):
        raise invalid("body.state", "an agency operator's line is not in the 112 queue", "not_in_queue")
    if line.presence != data.state:
        before = line.presence
        line.presence, line.presence_since = data.state, ctx.now()
        if data.state == "available" and line.current_call_id is None:
            line.idle_since = ctx.now()
        ctx.audit("telephony.presence", "operator_line", user_id, {"from": before, "to": data.state})
        _announce_line(ctx, line)
    user = ctx.db.get(User, user_id)
    assert user is not None
    return service.line_out(line, user, ctx.now())


# --- what the edge reports -----------------------------------------------------------------------------

def _newest(ctx: Ctx, call_id: str, *, lock: bool = False) -> Call | None:
    q = (select(Call).where((Call.external_ref == call_id)
                            | Call.external_ref.startswith(call_id + REUSED, autoescape=True))
         .order_by(Call.id.desc()).limit(1))
    return ctx.db.scalar(q.with_for_update() if lock else q)


def ref_for_invite(ctx: Ctx, call_id: str) -> str:
    """The reference for a call the edge offers now: the Call-ID, unless a finished call holds it already."""
    call = _newest(ctx, call_id, lock=True)
    if call is None or not call.external_ref:
        return call_id
    if call.status in CALL_LIVE_STATUSES:
        return call.external_ref
    base, _, n = call.external_ref.partition(REUSED)
    return f"{base}{REUSED}{int(n) + 1 if n.isdigit() else 2}"


def _event(ctx: Ctx, call_ref: str, suffix: str, type_: str, at: datetime, **kw: object) -> call_schemas.CallOut:
    ev = call_schemas.CallEventIn(event_id=f"{call_ref}:{suffix}"[:200], call_ref=call_ref, type=type_,  # type: ignore[arg-type]
                                  at=at, **kw)  # type: ignore[arg-type]
    return ingest_call_event(ctx, ev).call


def on_duty(ctx: Ctx) -> bool:
    """Someone can take a call: an operator whose phone is registered and who is available or on a call.
    Operators on break count too — they are at the centre and the queue will wait for them."""
    now = ctx.now()
    for line in ctx.db.scalars(_queue_lines().where(OperatorLine.presence != "offline")):
        if service.is_registered(line, now) or line.current_call_id is not None:
            return True
    return False


def offered(ctx: Ctx, call_ref: str, at: datetime, caller_number: str, called_number: str,
            locations: list[call_schemas.LocationIn]) -> tuple[call_schemas.CallOut, Refuse | None]:
    """A new call at the edge: recorded at once (with every location, valid or not); when nobody is on
    duty it is recorded as missed_out_of_hours and the edge is told where it goes. A Call-ID a finished call
    holds already is a new call all the same (`ref_for_invite`)."""
    call_ref = ref_for_invite(ctx, call_ref)
    call = _event(ctx, call_ref, "offered", "offered", at, caller_number=caller_number[:40],
                  called_number=called_number[:40] or "112", locations=locations[:20])
    if call.status in CALL_LIVE_STATUSES and call.answered_at is None and not on_duty(ctx):
        call = _event(ctx, call_ref, "missed", "missed", at)
        s = ctx.settings
        return call, Refuse(call_ref, uri=s.telephony_fallback_uri)
    return call, None


def _close_attempts(ctx: Ctx, call_id: int, result: str, *, user_id: int | None = None) -> list[RingAttempt]:
    q = select(RingAttempt).where(RingAttempt.call_id == call_id, RingAttempt.ended_at.is_(None))
    if user_id is not None:
        q = q.where(RingAttempt.user_id == user_id)
    closed = list(ctx.db.scalars(q.with_for_update()))
    for attempt in closed:
        attempt.ended_at, attempt.result = ctx.now(), result
    return closed


def _free_line(ctx: Ctx, user_id: int, call_id: int, *, missed: bool = False) -> None:
    line = _line_for_update(ctx, user_id)
    if line is None or line.current_call_id != call_id:
        return
    line.current_call_id = None
    line.idle_since = ctx.now()
    if missed and line.presence == "available" and _in_queue(ctx, user_id):
        # A phone that rang out unanswered: its operator is probably away. Put them on break so the next
        # calls do not wait on the same phone; they come back with one click.
        line.presence, line.presence_since = "break", ctx.now()
        ctx.audit("telephony.presence", "operator_line", user_id, {"from": "available", "to": "break",
                                                                    "reason": "missed_ring", "call_id": call_id})
    _announce_line(ctx, line)


def _call(ctx: Ctx, call_ref: str, *, lock: bool = False) -> Call | None:
    """The call an edge event names: the newest recorded for its Call-ID."""
    return _newest(ctx, sip_call_id(call_ref), lock=lock)


DTMF_KEYS = "0123456789*#ABCD"  # RFC 4733 events 0-15


def key_pressed(ctx: Ctx, call_ref: str, event: int, at: datetime) -> call_schemas.CallOut | None:
    """The caller pressed a key (an RFC 4733 event rtpengine saw): kept on the call, shown live. A caller who
    cannot speak is asked to press SIAGA_SILENT_CALLER_KEY; such a call cannot be recorded as ghost."""
    if not 0 <= event < len(DTMF_KEYS):
        return None
    call = _call(ctx, call_ref, lock=True)
    if call is None:
        # Kept: a call the edge handled while the service was away is reported later (degraded_call), and
        # takes its keys from here then.
        ctx.audit("telephony.key_unmatched", "call_ref", service.audit_ref(call_ref),
                  {"key": DTMF_KEYS[event], "at": at.isoformat(), "call_ref": call_ref})
        return None
    key = DTMF_KEYS[event]
    call.keys_pressed = ((call.keys_pressed or "") + key)[-40:]
    ctx.audit("call.key_pressed", "call", call.id, {"key": key, "at": at.isoformat()})
    return announce_call(ctx, call, EventKind.CALL_UPDATED)


def ring_failed(ctx: Ctx, call_ref: str, extension: str, reason: str) -> None:
    call = _call(ctx, call_ref)
    line = ctx.db.scalar(select(OperatorLine).where(OperatorLine.extension == extension))
    if call is None or line is None:
        return
    result = "timeout" if reason == "timeout" else "failed" if reason == "not_registered" else "rejected"
    for attempt in _close_attempts(ctx, call.id, result, user_id=line.user_id):
        ctx.audit("telephony.ring_failed", "call", call.id, {"extension": extension, "reason": reason,
                                                             "attempt_id": attempt.id})
    if reason == "not_registered":
        locked = _line_for_update(ctx, line.user_id)
        if locked is not None:
            locked.registered_until = None
    # Rang out or refused (Do Not Disturb, busy): either way nobody is at that phone for now.
    # A call taken on the console whose phone did not pick up stays that operator's: the next plan rings
    # their phone again once it is registered.
    _free_line(ctx, line.user_id, call.id, missed=result in ("timeout", "rejected"))


def contact_address(uri: str) -> str:
    """'<sip:1001@10.0.0.5:5060;transport=udp>' → '10.0.0.5:5060' (the phone's address, lower case)."""
    value = uri.strip().strip("<>").split(";", 1)[0]
    value = value.split(":", 1)[1] if ":" in value else value
    host = value.rsplit("@", 1)[-1].split(">", 1)[0].lower()
    return host if ":" in host else host + ":5060"


def answering_line(ctx: Ctx, extension: str, contact: str = "") -> OperatorLine | None:
    """The line whose phone answered: by extension, else by the phone's address (a phone's Contact does
    not always carry its extension)."""
    line = ctx.db.scalar(select(OperatorLine).where(OperatorLine.extension == extension)) if extension else None
    if line is None and contact:
        address = contact_address(contact)
        line = next((x for x in ctx.db.scalars(select(OperatorLine).where(OperatorLine.contact != ""))
                     if contact_address(x.contact) == address), None)
    return line


def answered(ctx: Ctx, call_ref: str, extension: str, at: datetime,
             contact: str = "") -> call_schemas.CallOut | None:
    """The operator's phone picked up: the same act as claiming the call on the console, recorded once."""
    call = _call(ctx, call_ref)
    if call is None:
        return None
    call_ref = call.external_ref or call_ref
    line = answering_line(ctx, extension, contact)
    username = None
    if line is not None:
        _close_attempts(ctx, call.id, "answered", user_id=line.user_id)
        _close_attempts(ctx, call.id, "cancelled")
        user = ctx.db.get(User, line.user_id)
        username = user.username if user else None
        locked = _line_for_update(ctx, line.user_id)
        if locked is not None and locked.current_call_id != call.id:
            locked.current_call_id = call.id
            _announce_line(ctx, locked)
    return _event(ctx, call_ref, "answered", "answered", at, operator_username=username)


def ended(ctx: Ctx, call_ref: str, at: datetime, *, cancelled: bool) -> call_schemas.CallOut | None:
    """The caller hung up (CANCEL before an answer: abandoned, with their wait) or either side ended the
    call (BYE). Every phone the call was ringing or connected to is free again."""
    call = _call(ctx, call_ref, lock=True)
    if call is None:
        return None
    call_ref = call.external_ref or call_ref
    if cancelled and call.answered_at is not None:
        cancelled = False  # the caller's CANCEL crossed the operator's 200 OK: the call was connected
    rung = bool(_close_attempts(ctx, call.id, "cancelled"))
    if rung or call.answered_at is not None:  # a call that never rang anywhere holds no phone
        for line in ctx.db.scalars(select(OperatorLine).where(OperatorLine.current_call_id == call.id)):
            _free_line(ctx, line.user_id, call.id)
    return _event(ctx, call_ref, "cancel" if cancelled else "ended", "abandoned" if cancelled else "ended", at)


DEGRADED_NOTE = ("Ditangani tepi SIP saat layanan Siaga tidak tersambung (semua telepon berdering). / "
                 "Handled by the SIP edge while the Siaga service was away (every phone rang).")


def degraded_call(ctx: Ctx, call_ref: str, at: datetime, caller_number: str, called_number: str, *,
                  answered_ext: str = "", answered_contact: str = "", answered_at: datetime | None = None,
                  ended_at: datetime | None = None, cancelled_at: datetime | None = None) -> call_schemas.CallOut:
    """A call the edge handled on its own while the service was away (degraded mode), reported when the
    service is back: recorded like any other (idempotently), with who answered and how it ended as far as
    the edge saw, and a note saying so."""
    reported_ref = call_ref
    call_ref = ref_for_invite(ctx, call_ref)
    call = _event(ctx, call_ref, "offered", "offered", at, caller_number=caller_number[:40],
                  called_number=called_number[:40] or "112")
    row = ctx.db.get(Call, call.id)
    if row is not None and not row.notes:
        row.notes = DEGRADED_NOTE
    ctx.audit("telephony.degraded_call", "call", call.id, {"answered_ext": answered_ext,
                                                          "ended": bool(ended_at or cancelled_at)})
    if row is not None:
        _keys_pressed_before(ctx, row, reported_ref)
    out: call_schemas.CallOut | None = call
    if answered_at is not None:
        out = answered(ctx, call_ref, answered_ext, answered_at, answered_contact) or out
    if ended_at is not None:
        out = ended(ctx, call_ref, ended_at, cancelled=False) or out
    elif cancelled_at is not None:
        out = ended(ctx, call_ref, cancelled_at, cancelled=True) or out
    assert out is not None
    return out


def _keys_pressed_before(ctx: Ctx, call: Call, call_ref: str) -> None:
    """Keys the caller pressed before the service knew of the call (it was handled in degraded mode): they were
    audited as unmatched; now they are the call's, in the order pressed, each once."""
    rows = ctx.db.scalars(select(AuditEntry).where(AuditEntry.action == "telephony.key_unmatched",
                                                   AuditEntry.entity == "call_ref",
                                                   AuditEntry.entity_id == service.audit_ref(call_ref))
                          .order_by(AuditEntry.seq))
    taken = {str(e.data_dict.get("unmatched_id")) for e in ctx.db.scalars(
        select(AuditEntry).where(AuditEntry.action == "call.key_pressed", AuditEntry.entity == "call",
                                 AuditEntry.entity_id == str(call.id)))}
    for entry in rows:
        data = entry.data_dict
        key = str(data.get("key", ""))
        if data.get("call_ref") != call_ref or len(key) != 1 or key not in DTMF_KEYS or str(entry.seq) in taken:
            continue
        call.keys_pressed = ((call.keys_pressed or "") + key)[-40:]
        ctx.audit("call.key_pressed", "call", call.id, {"key": key, "at": data.get("at"), "unmatched_id": entry.seq})


def registered(ctx: Ctx, extension: str, contact: str, expires: str) -> None:
    line = ctx.db.scalar(select(OperatorLine).where(OperatorLine.extension == extension).with_for_update())
    if line is None:
        return
    seconds = DEFAULT_REGISTRATION_S
    for part in [expires] + contact.split(";"):
        part = part.strip()
        if part.lower().startswith("expires="):
            part = part.split("=", 1)[1]
        if part.isdigit():
            seconds = int(part)
            break
    was = service.is_registered(line, ctx.now())
    line.registered_until = ctx.now() + timedelta(seconds=seconds) if seconds > 0 else None
    line.contact = contact[:300]
    if was != service.is_registered(line, ctx.now()):
        ctx.audit("telephony.registered" if seconds > 0 else "telephony.unregistered", "operator_line",
                  line.user_id, {"extension": extension})
        _announce_line(ctx, line)


def edge_seen(ctx: Ctx, state: str, detail: dict[str, object] | None = None) -> None:
    row = ctx.db.get(TelephonyEdge, service.EDGE_NAME, with_for_update=True)
    now = ctx.now()
    if row is None:
        row = TelephonyEdge(name=service.EDGE_NAME, state=state, since=now, last_seen_at=now, detail=detail or {})
        ctx.db.add(row)
        changed = True
    else:
        changed = row.state != state
        if changed:
            row.state, row.since = state, now
        if state == "up":
            row.last_seen_at = now
        if detail is not None:
            row.detail = detail
    if changed:
        ctx.audit("telephony.edge", "telephony_edge", 0, {"state": state})
        ctx.db.flush()
        ctx.emit(EventKind.TELEPHONY_EDGE, "telephony_edge", None, service.edge(ctx.db).model_dump(mode="json"))


# --- the queue's decisions ---------------------------------------------------------------------------------

def plan_rings(ctx: Ctx, held: set[str]) -> list[Ring]:
    """Pair the calls the edge holds with free phones: calls in queue order (rank_key, so a
    lower_priority number waits at most the cap), operators longest idle first. A call already taken on
    the console rings its operator's phone, which answers by itself. Each pairing is recorded as a ring
    attempt and the operator is busy until the phone answers, rings out, or the caller hangs up."""
    if not held:
        return []
    now = ctx.now()
    free = [line for line in ctx.db.scalars(
        _queue_lines().where(OperatorLine.current_call_id.is_(None)).with_for_update(of=OperatorLine))
        if service.is_registered(line, now)]
    rings: list[Ring] = []
    claimed = ctx.db.scalars(select(Call).where(Call.external_ref.in_(held), Call.status == "answered",
                                                Call.operator_id.is_not(None)))
    for call in claimed:
        line = next((x for x in free if x.user_id == call.operator_id), None)
        if line is not None:
            free.remove(line)
            rings.append(_ring(ctx, call, line, auto=True))
    free = [x for x in free if x.presence == "available"]
    if not free:
        return rings  # nobody to ring: the queue is not even read (a flood must not cost O(n) per event)
    free.sort(key=lambda x: (x.idle_since or datetime.min.replace(tzinfo=now.tzinfo), x.user_id))
    ringing = set(ctx.db.scalars(select(RingAttempt.call_id).where(RingAttempt.ended_at.is_(None))))
    for call, _penalty in service.waiting_calls(ctx.db, now, held):
        if not free:
            break
        if call.id in ringing:
            continue
        # Lock the call and look again: a console claim or the caller's hang-up in another process
        # wins or waits, never crosses a ring (claim_call and ended lock the same row).
        locked = ctx.db.scalar(select(Call).where(Call.id == call.id).with_for_update()
                               .execution_options(populate_existing=True))
        if locked is None or locked.status not in ("offered", "ringing") or locked.operator_id is not None:
            continue
        if ctx.db.scalar(select(RingAttempt.id).where(RingAttempt.call_id == call.id,
                                                      RingAttempt.ended_at.is_(None))) is not None:
            continue
        rings.append(_ring(ctx, locked, free.pop(0)))
    return rings


def refuse_if_nobody(ctx: Ctx, held: set[str]) -> list[Refuse]:
    """Calls that wait while the last operator went off duty (or their phones stopped registering) are not
    left ringing: they go where an out-of-hours call goes, recorded as missed."""
    if not held or on_duty(ctx):
        return []
    refused = []
    for call, _penalty in service.waiting_calls(ctx.db, ctx.now(), held):
        if call.operator_id is None and call.external_ref:
            _event(ctx, call.external_ref, "missed", "missed", ctx.now())
            refused.append(Refuse(call.external_ref, uri=ctx.settings.telephony_fallback_uri))
    return refused


def tidy(ctx: Ctx) -> int:
    """The safety net for what a lost edge event would leave behind: a ring attempt still open well after
    the ring timeout is closed as failed and its phone freed; a line held by a call that is over is freed.
    Returns how many things it put right (each audited)."""
    fixed = 0
    stale = ctx.now() - timedelta(seconds=ctx.settings.telephony_ring_timeout_s + 20)
    for attempt in ctx.db.scalars(select(RingAttempt).where(RingAttempt.ended_at.is_(None),
                                                            RingAttempt.started_at < stale).with_for_update()):
        attempt.ended_at, attempt.result = ctx.now(), "failed"
        call = ctx.db.get(Call, attempt.call_id)
        if call is None or call.operator_id != attempt.user_id or call.status not in CALL_LIVE_STATUSES:
            _free_line(ctx, attempt.user_id, attempt.call_id)
        ctx.audit("telephony.tidy", "call", attempt.call_id, {"ring_attempt": attempt.id, "user_id": attempt.user_id})
        fixed += 1
    busy = ctx.db.execute(select(OperatorLine.user_id, OperatorLine.current_call_id, Call.status)
                          .join(Call, Call.id == OperatorLine.current_call_id)).all()
    for user_id, call_id, status in busy:
        if status not in CALL_LIVE_STATUSES:
            _free_line(ctx, user_id, call_id)
            ctx.audit("telephony.tidy", "call", call_id, {"freed_line_of": user_id})
            fixed += 1
    return fixed


def _ring(ctx: Ctx, call: Call, line: OperatorLine, *, auto: bool = False) -> Ring:
    attempt = RingAttempt(call_id=call.id, user_id=line.user_id, started_at=ctx.now())
    ctx.db.add(attempt)
    ctx.db.flush()
    line.current_call_id = call.id
    _announce_line(ctx, line)
    assert call.external_ref is not None
    if call.status == "offered":
        _event(ctx, call.external_ref, f"ringing:{attempt.id}", "ringing", ctx.now())
    return Ring(call.external_ref, call.id, line.extension, line.user_id, attempt.id, auto)


def give_up(ctx: Ctx, call_ref: str) -> None:
    """The edge no longer holds this call (it waited longer than the edge keeps a call, or the edge
    restarted): if it was never answered, the caller's wait ends here — recorded as abandoned."""
    call = _call(ctx, call_ref)
    if call is not None and call.status in ("offered", "ringing"):
        ended(ctx, call_ref, ctx.now(), cancelled=True)


def line_credentials(ctx: Ctx) -> dict[str, str]:
    """Each extension's HA1 as the edge checks it: the browser's for a browser line, the desk phone's else."""
    rows = ctx.db.execute(select(OperatorLine.extension, OperatorLine.device, OperatorLine.sip_ha1,
                                 OperatorLine.browser_ha1)).all()
    return {ext: (browser if device == "browser" else phone) for ext, device, phone, browser in rows}


def agency_extensions(ctx: Ctx) -> set[str]:
    """The extensions of lines that are not in the 112 queue (agency operators'): the edge leaves them out of
    the group every phone of which rings in degraded mode (the `line` command's "agency" flag)."""
    return set(ctx.db.scalars(select(OperatorLine.extension).join(User, User.id == OperatorLine.user_id)
                              .where(User.role.not_in(service.QUEUE_ROLES))))


def announce_health(ctx: Ctx, ok: bool, problem: str) -> None:
    """How the waiting prompt last went (bridge.py records each change): kept with the edge's state, so
    `siaga telephony status` shows a missing prompt file or an rtpengine that would not play it."""
    row = ctx.db.get(TelephonyEdge, service.EDGE_NAME, with_for_update=True)
    if row is None:
        row = TelephonyEdge(name=service.EDGE_NAME, state="unknown", since=ctx.now(), last_seen_at=None, detail={})
        ctx.db.add(row)
    row.detail = {**(row.detail or {}), "announce": {"ok": ok, "problem": problem[:500],
                                                      "at": ctx.now().isoformat(timespec="seconds")}}
    ctx.audit("telephony.announce", "telephony_edge", 0, {"ok": ok, "problem": problem[:500]})


def emergency_call_for_ref(ctx: Ctx, call_ref: str) -> Call | None:
    """The emergency call an in-dialog report names (a transfer's REFER): the newest for its Call-ID."""
    return _call(ctx, call_ref)


# --- the browser line ------------------------------------------------------------------------------------------

BROWSER_REGISTRATION_S = 300


def set_device(ctx: Ctx, user_id: int, data: schemas.DeviceIn) -> schemas.LineOut:
    """Browser line or desk phone: one's own (a call-taker) or anyone's (a supervisor). The other device's
    registration no longer counts; a browser line gets its password from the console."""
    if user_id != ctx.actor.user_id and ctx.actor.role not in ("supervisor", "admin"):
        raise Problem(403, "forbidden")
    line = _line_for_update(ctx, user_id)
    if line is None:
        raise Problem(404, "not_found", what="operator_line", id=user_id)
    if line.device != data.device:
        before, line.device, line.browser_ha1 = line.device, data.device, ""
        line.registered_until, line.contact = None, ""
        ctx.audit("telephony.line.device", "operator_line", user_id, {"from": before, "to": data.device})
        _announce_line(ctx, line)
    user = ctx.db.get(User, user_id)
    assert user is not None
    return service.line_out(line, user, ctx.now())


def browser_credential(ctx: Ctx, ws_url: str) -> schemas.BrowserCredentialOut:
    """A fresh SIP password for my browser line, for this console session: returned once, its HA1 kept and
    pushed to the edge (within half a second); the one before stops working (one console per line)."""
    import secrets

    line = _line_for_update(ctx, ctx.actor.user_id)
    if line is None:
        raise Problem(404, "not_found", what="operator_line", id=ctx.actor.user_id)
    if line.device != "browser":
        raise invalid("body.device", "this line is a desk phone: choose the browser line first", "not_browser")
    if not ws_url:
        raise Problem(409, "browser_lines_off")
    password = secrets.token_urlsafe(24)
    line.browser_ha1 = ha1(line.extension, ctx.settings.telephony_domain, password)
    ctx.audit("telephony.line.browser_credential", "operator_line", line.user_id, {"extension": line.extension})
    return schemas.BrowserCredentialOut(extension=line.extension, password=password,
                                        domain=ctx.settings.telephony_domain, ws_url=ws_url,
                                        expires_s=BROWSER_REGISTRATION_S)


def revoke_browser_credential(ctx: Ctx) -> None:
    """Logging out ends the browser line's session password: the edge forgets it within half a second."""
    line = _line_for_update(ctx, ctx.actor.user_id)
    if line is not None and line.browser_ha1:
        line.browser_ha1 = ""
        ctx.audit("telephony.line.browser_credential_revoked", "operator_line", line.user_id,
                  {"extension": line.extension})
