"""Telephony: the edge's health, operators' lines and presence, and the live queue."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from siaga.core.context import Ctx
from siaga.core.http import ctx_for
from siaga.core.ids import PathId
from siaga.domains.calls.privacy import mask_number
from siaga.domains.telephony import actions, agency_calls, schemas, service

router = APIRouter(tags=["telephony"])


@router.get("/telephony/status", response_model=schemas.TelephonyStatus)
def telephony_status(ctx: Ctx = Depends(ctx_for("telephony.read"))) -> schemas.TelephonyStatus:
    """The SIP edge (up/down, last heartbeat), every operator line (presence, busy, phone registered) and
    the calls waiting, in the order they will be answered, with their waits."""
    out = service.status(ctx.db, ctx.now())
    if not ctx.actor.can("numbers.reveal"):
        for waiting in out.queue:
            waiting.caller_number = mask_number(waiting.caller_number)
    return out


@router.put("/telephony/presence", response_model=schemas.LineOut)
def set_presence(data: schemas.PresenceIn, ctx: Ctx = Depends(ctx_for("presence.set"))) -> schemas.LineOut:
    """available: my phone may ring; break / offline: it does not. A supervisor may set anyone's."""
    return actions.set_presence(ctx, data)


@router.put("/telephony/lines/{user_id}", response_model=schemas.LineOut)
def set_line(user_id: PathId, data: schemas.LineIn, ctx: Ctx = Depends(ctx_for("telephony.manage"))) -> schemas.LineOut:
    """Give a call-taker (or supervisor) a phone extension and its SIP password (stored as a digest). The
    edge learns it within seconds; the phone then registers to SIAGA_TELEPHONY_DOMAIN."""
    return actions.set_line(ctx, user_id, data)


# --- joining an agency to a caller (issue 17) ------------------------------------------------------------

@router.post("/calls/{call_id}/agency-calls", status_code=201, response_model=schemas.AgencyCallOut,
             responses={409: {"description": "`invalid_transition`: the call is not connected"},
                        403: {"description": "not your call (a supervisor may)"},
                        422: {"description": "unknown agency, no number nor line for it (`no_number`), no trunk "
                                             "gateway (`no_gateway`), or you have no line (`no_line`)"}})
def request_agency_call(call_id: PathId, data: schemas.AgencyCallIn,
                        ctx: Ctx = Depends(ctx_for("calls.write"))) -> schemas.AgencyCallOut:
    """Bring an agency onto your live call: answers with what your phone dials (`dial`, or `dial_uri` for a
    browser line, and the agency operators' own `lines`), and records that you asked (audited). Each step
    after — dialled, answered, ended; a transfer accepted or refused — the edge reports into the incident's
    timeline. A conference is mixed by your phone (its conference key) or browser."""
    return agency_calls.request(ctx, call_id, data)


@router.get("/calls/{call_id}/agency-calls", response_model=list[schemas.AgencyCallOut])
def list_agency_calls(call_id: PathId, ctx: Ctx = Depends(ctx_for("calls.read"))) -> list[schemas.AgencyCallOut]:
    """The agencies joined (or being joined) to this call, oldest first; `use_conference`: the trunk refused a
    transfer, so conference the agency in instead."""
    return agency_calls.list_for_call(ctx, call_id)


@router.post("/agency-calls/{agency_call_id}/steps", response_model=schemas.AgencyCallOut,
             responses={409: {"description": "`invalid_transition`: the agency is not connected"},
                        403: {"description": "not your agency call (a supervisor may)"}})
def agency_call_step(agency_call_id: PathId, data: schemas.AgencyCallStepIn,
                     ctx: Ctx = Depends(ctx_for("calls.write"))) -> schemas.AgencyCallOut:
    """What the edge cannot see, into the timeline: `conference_started` (your phone or browser now mixes the
    caller and the agency) or `operator_left` (you left them talking)."""
    return agency_calls.step(ctx, agency_call_id, data)
