"""Joining an agency to a caller (issue 17): the calls an operator's line places to an agency (its number
through the trunk gateway, or an agency operator's line) and the transfers the operator's phone asks of the
trunk (REFER), each linked to that operator's emergency call and written into its incident's timeline.

The edge reports what happened (route[OUTBOUND] and route[CONF_INDIALOG] in kamailio.cfg.j2, through the
bridge: `edge_event`); the console asks for a call (`request`: which number to dial, the intent recorded) and
says what the edge cannot see (`step`: the phone mixes the conference, the call-taker left). The edge lets a
line dial only the numbers of `dial_plan` (pushed like the lines) and the other lines.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid
from siaga.core.i18n import message
from siaga.domains.agencies.models import Agency
from siaga.domains.calls.models import CALL_LIVE_STATUSES, Call
from siaga.domains.incidents.actions import add_timeline
from siaga.domains.telephony import schemas, service
from siaga.domains.telephony.actions import emergency_call_for_ref
from siaga.domains.telephony.models import AgencyCall, OperatorLine
from siaga.domains.users.models import User

# A call the console asked for is matched with the line's next call to that number within this long.
REQUEST_VALID = timedelta(minutes=10)
EDGE_EVENTS = ("outbound", "outbound_answered", "outbound_failed", "outbound_bye", "outbound_refused",
               "refer", "refer_reply", "refer_notify", "refer_refused")


def dial_key(phone: str) -> str:
    """What a phone dials for an agency's number as stored ('(0766) 21-113' → '076621113'): its digits, 2 to
    20 of them; anything else is no number. Store agencies' numbers as the call-takers dial them."""
    digits = "".join(ch for ch in phone if ch.isascii() and ch.isdigit())
    return digits if 2 <= len(digits) <= 20 else ""


def dial_plan(ctx: Ctx) -> dict[str, str]:
    """{number: agency id} for every active agency with a number: the only numbers a line may dial through
    the trunk (the edge's htable `dial`). Two agencies with one number: the first (lowest id) answers to it."""
    plan: dict[str, str] = {}
    rows = ctx.db.execute(select(Agency.id, Agency.phone).where(Agency.active.is_(True), Agency.phone != "")
                          .order_by(Agency.id)).all()
    for agency_id, phone in rows:
        key = dial_key(phone)
        if key and key not in plan:
            plan[key] = str(agency_id)
    return plan


def _agency_for_number(ctx: Ctx, number: str) -> Agency | None:
    agency_id = dial_plan(ctx).get(number)
    return ctx.db.get(Agency, int(agency_id)) if agency_id else None


def _agency_lines(ctx: Ctx, agency_id: int) -> list[schemas.AgencyLineOut]:
    rows = ctx.db.execute(select(OperatorLine, User).join(User, User.id == OperatorLine.user_id)
                          .where(User.agency_id == agency_id, User.active.is_(True))
                          .order_by(OperatorLine.extension)).all()
    return [schemas.AgencyLineOut(extension=line.extension, full_name=user.full_name,
                                  registered=service.is_registered(line, ctx.now())) for line, user in rows]


def agency_call_out(ctx: Ctx, row: AgencyCall) -> schemas.AgencyCallOut:
    agency = ctx.db.get(Agency, row.agency_id) if row.agency_id else None
    return schemas.AgencyCallOut(
        id=row.id, call_id=row.call_id, incident_id=row.incident_id, agency_id=row.agency_id,
        agency_name=agency.short_name if agency else "", extension=row.extension, target=row.target,
        target_kind=row.target_kind, kind=row.kind, state=row.state, result=row.result,
        use_conference=row.kind != "conference" and row.state == "refused", requested_at=row.requested_at,
        answered_at=row.answered_at, ended_at=row.ended_at)


def _timeline(ctx: Ctx, row: AgencyCall, key: str, **params: Any) -> None:
    if row.incident_id is None and row.call_id is not None:  # the call may have been linked since
        call = ctx.db.get(Call, row.call_id)
        row.incident_id = call.incident_id if call else None
    if row.incident_id is None:
        return  # a call not (yet) linked to an incident: the agency call is on the call's list only
    agency = ctx.db.get(Agency, row.agency_id) if row.agency_id else None
    add_timeline(ctx, row.incident_id, "agency_call", data={"agency_call_id": row.id, "call_id": row.call_id},
                 message=message(key, agency=agency.short_name if agency else row.target, **params))


def _live_call(ctx: Ctx, call_id: int | None) -> Call | None:
    call = ctx.db.get(Call, call_id) if call_id else None
    return call if call is not None and call.status in CALL_LIVE_STATUSES else None


# --- what the console asks ------------------------------------------------------------------------------

def request(ctx: Ctx, call_id: int, data: schemas.AgencyCallIn) -> schemas.AgencyCallOut:
    """The call-taker wants `data.agency_id` on their live call: the number their phone dials (or the
    agency operators' lines), recorded as asked (audited). The edge's report of the dialled call joins it."""
    call = ctx.db.get(Call, call_id)
    if call is None:
        raise Problem(404, "not_found", what="call", id=call_id)
    if call.status != "answered" or call.ended_at is not None:
        raise Problem(409, "invalid_transition", current=call.status, target="agency_call")
    if call.operator_id != ctx.actor.user_id and ctx.actor.role != "supervisor":
        raise Problem(403, "forbidden")
    agency = ctx.db.get(Agency, data.agency_id)
    if agency is None or not agency.active:
        raise invalid("body.agency_id", "unknown agency", "unknown")
    line = ctx.db.get(OperatorLine, ctx.actor.user_id)
    if line is None:
        raise invalid("body.agency_id", "you have no phone line to call from", "no_line")
    number = dial_key(agency.phone)
    lines = _agency_lines(ctx, agency.id)
    if not number and not lines:
        raise invalid("body.agency_id", "the agency has no phone number nor a line", "no_number")
    if number and not ctx.settings.telephony_trunk_gateway and not lines:
        raise invalid("body.agency_id", "agency numbers cannot be dialled: SIAGA_TELEPHONY_TRUNK_GATEWAY is not "
                      "set", "no_gateway")
    if data.target == "number" and not (number and ctx.settings.telephony_trunk_gateway):
        raise invalid("body.target", "the agency's number cannot be dialled (no number, or no trunk gateway)",
                      "no_number" if not number else "no_gateway")
    if data.target == "line" and not lines:
        raise invalid("body.target", "no operator of the agency has a line", "no_agency_line")
    if number and ctx.settings.telephony_trunk_gateway and data.target != "line":
        target, target_kind = number, "agency"
    else:  # an agency operator's own line: one whose phone (or browser) is registered, if any is
        target, target_kind = sorted(lines, key=lambda x: not x.registered)[0].extension, "line"
    row = AgencyCall(call_id=call.id, incident_id=call.incident_id, agency_id=agency.id, user_id=ctx.actor.user_id,
                     extension=line.extension, target=target, target_kind=target_kind, kind=data.kind,
                     state="requested", requested_at=ctx.now())
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit("telephony.agency_call.request", "call", call.id,
              {"agency_call_id": row.id, "agency_id": agency.id, "target": target, "kind": data.kind})
    out = agency_call_out(ctx, row)
    out.dial, out.dial_uri, out.lines = target, f"sip:{target}@{ctx.settings.telephony_domain}", lines
    return out


def list_for_call(ctx: Ctx, call_id: int) -> list[schemas.AgencyCallOut]:
    if ctx.db.get(Call, call_id) is None:
        raise Problem(404, "not_found", what="call", id=call_id)
    rows = ctx.db.scalars(select(AgencyCall).where(AgencyCall.call_id == call_id).order_by(AgencyCall.id))
    return [agency_call_out(ctx, row) for row in rows]


STEP_MESSAGES = {"conference_started": "timeline.agency_conference_started",
                 "operator_left": "timeline.agency_operator_left"}


def step(ctx: Ctx, agency_call_id: int, data: schemas.AgencyCallStepIn) -> schemas.AgencyCallOut:
    """What the edge cannot see: the phone (or the browser) now mixes the caller and the agency, or the
    call-taker left them talking. Only on an agency call that is connected, by its operator or a supervisor."""
    row = ctx.db.scalar(select(AgencyCall).where(AgencyCall.id == agency_call_id).with_for_update())
    if row is None:
        raise Problem(404, "not_found", what="agency_call", id=agency_call_id)
    if row.user_id != ctx.actor.user_id and ctx.actor.role != "supervisor":
        raise Problem(403, "forbidden")
    if row.state != "answered":
        raise Problem(409, "invalid_transition", current=row.state, target=data.step)
    _timeline(ctx, row, STEP_MESSAGES[data.step])
    ctx.audit(f"telephony.agency_call.{data.step}", "call", row.call_id or 0, {"agency_call_id": row.id})
    return agency_call_out(ctx, row)


# --- what the edge reports ---------------------------------------------------------------------------------

def _by_leg(ctx: Ctx, ref: str) -> AgencyCall | None:
    return ctx.db.scalar(select(AgencyCall).where(AgencyCall.sip_call_id == ref, AgencyCall.kind == "conference")
                         .order_by(AgencyCall.id.desc()).limit(1).with_for_update())


def outbound(ctx: Ctx, ref: str, extension: str, target: str, target_kind: str, at: datetime) -> AgencyCall | None:
    """A line placed a call the edge let through (an agency's number or another line): joined to the
    console's request for it if there is one, else to the operator's current emergency call."""
    if _by_leg(ctx, ref) is not None:
        return None  # the same report again
    line = ctx.db.scalar(select(OperatorLine).where(OperatorLine.extension == extension))
    if line is None:
        ctx.audit("telephony.agency_call.unknown_line", "call_ref", ref, {"extension": extension, "target": target})
        return None
    if target_kind == "line":
        called = ctx.db.scalar(select(OperatorLine).where(OperatorLine.extension == target))
        user = ctx.db.get(User, called.user_id) if called else None
        agency_id = user.agency_id if user else None
    else:
        agency = _agency_for_number(ctx, target)
        agency_id = agency.id if agency else None
    row = ctx.db.scalar(select(AgencyCall).where(
        AgencyCall.user_id == line.user_id, AgencyCall.target == target, AgencyCall.state == "requested",
        AgencyCall.kind == "conference", AgencyCall.requested_at >= ctx.now() - REQUEST_VALID)
        .order_by(AgencyCall.id.desc()).limit(1).with_for_update())
    if row is None:
        call = _live_call(ctx, line.current_call_id)
        row = AgencyCall(call_id=call.id if call else None, incident_id=call.incident_id if call else None,
                         agency_id=agency_id, user_id=line.user_id, extension=extension, target=target[:40],
                         target_kind=target_kind, kind="conference", requested_at=at)
        ctx.db.add(row)
    elif row.call_id is not None:
        call = ctx.db.get(Call, row.call_id)
        row.incident_id = call.incident_id if call else row.incident_id  # linked since it was asked for
    row.state, row.sip_call_id = "dialling", ref
    ctx.db.flush()
    _timeline(ctx, row, "timeline.agency_call_dialled_line" if target_kind == "line"
              else "timeline.agency_call_dialled", number=target, extension=extension)
    ctx.audit("telephony.agency_call.dial", "call", row.call_id or 0,
              {"agency_call_id": row.id, "extension": extension, "target": target, "agency_id": agency_id})
    return row


def outbound_answered(ctx: Ctx, ref: str, at: datetime) -> None:
    row = _by_leg(ctx, ref)
    if row is None or row.state != "dialling":
        return
    row.state, row.answered_at = "answered", at
    _timeline(ctx, row, "timeline.agency_call_answered")


def outbound_ended(ctx: Ctx, ref: str, at: datetime, *, failed: str = "", by: str = "") -> None:
    row = _by_leg(ctx, ref)
    if row is None or row.state not in ("dialling", "answered"):
        return
    if row.state == "dialling" or failed:
        row.state, row.result, row.ended_at = "failed", (failed or "no answer")[:80], at
        _timeline(ctx, row, "timeline.agency_call_failed", result=row.result)
    else:
        row.state, row.result, row.ended_at = "ended", f"bye by {by}"[:80] if by else "", at
        _timeline(ctx, row, "timeline.agency_call_ended")


def _transfer_of(ctx: Ctx, ref: str, states: tuple[str, ...]) -> AgencyCall | None:
    return ctx.db.scalar(select(AgencyCall).where(AgencyCall.sip_call_id == ref, AgencyCall.kind != "conference",
                                                  AgencyCall.state.in_(states))
                         .order_by(AgencyCall.id.desc()).limit(1).with_for_update())


def refer(ctx: Ctx, ref: str, target: str, attended: bool, at: datetime) -> AgencyCall | None:
    """The operator's phone asked the trunk to connect the caller elsewhere (the edge let it through only to
    an agency's number or a line): a transfer of the emergency call `ref`."""
    call = emergency_call_for_ref(ctx, ref)
    line = ctx.db.scalar(select(OperatorLine).where(OperatorLine.extension == target))
    if line is not None:
        user = ctx.db.get(User, line.user_id)
        agency_id, target_kind = (user.agency_id if user else None), "line"
    else:
        agency = _agency_for_number(ctx, target)
        agency_id, target_kind = (agency.id if agency else None), "agency"
    kind = "attended_transfer" if attended else "blind_transfer"
    # The console's request for this transfer, if it asked (the row it answered with), else a new one.
    row = ctx.db.scalar(select(AgencyCall).where(
        AgencyCall.call_id == call.id, AgencyCall.kind == kind, AgencyCall.target == target,
        AgencyCall.state == "requested", AgencyCall.sip_call_id == "",
        AgencyCall.requested_at >= ctx.now() - REQUEST_VALID).order_by(AgencyCall.id.desc()).limit(1)
        .with_for_update()) if call is not None else None
    if row is None:
        operator = ctx.db.scalar(select(OperatorLine).where(OperatorLine.user_id == call.operator_id)) \
            if call is not None and call.operator_id else None
        row = AgencyCall(call_id=call.id if call else None, incident_id=call.incident_id if call else None,
                         agency_id=agency_id, user_id=call.operator_id if call else None,
                         extension=operator.extension if operator else "", target=target[:40],
                         target_kind=target_kind, kind=kind, state="requested", requested_at=at)
        ctx.db.add(row)
    row.sip_call_id = ref
    ctx.db.flush()
    _timeline(ctx, row, "timeline.agency_transfer_requested_attended" if attended
              else "timeline.agency_transfer_requested_blind", number=target)
    ctx.audit("telephony.agency_call.transfer", "call", row.call_id or 0,
              {"agency_call_id": row.id, "target": target, "attended": attended})
    return row


def refer_reply(ctx: Ctx, ref: str, code: int) -> None:
    """The trunk's answer to the REFER: 202 it will try; 405/501 (or any refusal) it does not transfer —
    the console shows `use_conference` and the timeline says to conference the agency in."""
    row = _transfer_of(ctx, ref, ("requested",))
    if row is None:
        return
    if 200 <= code < 300:
        row.state = "accepted"
        _timeline(ctx, row, "timeline.agency_transfer_accepted")
    else:
        row.state, row.result, row.ended_at = "refused", str(code), ctx.now()
        _timeline(ctx, row, "timeline.agency_transfer_refused", result=str(code))
        ctx.audit("telephony.agency_call.transfer_refused", "call", row.call_id or 0,
                  {"agency_call_id": row.id, "code": code})


def refer_notify(ctx: Ctx, ref: str, status_line: str, at: datetime) -> None:
    """The trunk's progress (a sipfrag, 'SIP/2.0 200 OK'): 2xx the caller is connected to the agency (and
    the call-taker's phone leaves); 3xx-6xx the transfer failed; 1xx is only progress."""
    parts = status_line.split()
    code = int(parts[1]) if len(parts) >= 2 and parts[0].upper().startswith("SIP/") and parts[1].isdigit() else 0
    if code < 200:
        return
    row = _transfer_of(ctx, ref, ("requested", "accepted"))
    if row is None:
        return
    if code < 300:
        row.state, row.answered_at, row.ended_at = "transferred", at, at
        _timeline(ctx, row, "timeline.agency_transfer_done")
    else:
        row.state, row.result, row.ended_at = "failed", str(code), at
        _timeline(ctx, row, "timeline.agency_transfer_failed", result=str(code))


def _text(value: Any, size: int = 40) -> str:
    return str(value or "")[:size]


def _b64(value: Any) -> str:
    try:
        return base64.b64decode(str(value or ""), validate=False).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def edge_event(ctx: Ctx, ev: dict[str, Any], ref: str, at: datetime) -> None:
    """One of EDGE_EVENTS from the bridge; `ref` is its Call-ID as the bridge keys calls."""
    kind = ev.get("ev")
    if kind == "outbound":
        outbound(ctx, ref, _text(ev.get("ext"), 20), _text(ev.get("target")),
                 "line" if ev.get("kind") == "line" else "agency", at)
    elif kind == "outbound_answered":
        outbound_answered(ctx, ref, at)
    elif kind == "outbound_failed":
        outbound_ended(ctx, ref, at, failed=_text(ev.get("code"), 20) or "failed")
    elif kind == "outbound_bye":
        outbound_ended(ctx, ref, at, by=_text(ev.get("by"), 20))
    elif kind in ("outbound_refused", "refer_refused"):
        # A line dialled (or tried to transfer to) a number that is no agency's: refused at the edge.
        ctx.audit(f"telephony.{kind}", "call_ref", ref, {"extension": _text(ev.get("ext"), 20),
                                                         "target": _text(ev.get("target"))})
    elif kind == "refer":
        refer(ctx, ref, _text(ev.get("target")), ev.get("replaces") == "1", at)
    elif kind == "refer_reply":
        code = _text(ev.get("code"), 3)
        refer_reply(ctx, ref, int(code) if code.isdigit() else 0)
    elif kind == "refer_notify":
        refer_notify(ctx, ref, _b64(ev.get("status")).splitlines()[0] if _b64(ev.get("status")) else "", at)
