"""Telephony: the edge's health, operators' lines and presence, and the live queue."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from siaga.core.context import Ctx
from siaga.core.http import ctx_for
from siaga.core.ids import PathId
from siaga.domains.calls.privacy import mask_number
from siaga.domains.telephony import actions, agency_calls, schemas, service
from siaga.settings import Settings

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
    edge learns it within seconds; the phone then registers to SIAGA_TELEPHONY_DOMAIN. An agency operator's
    line (`queue: false`) is only called by a call-taker joining the agency: never rung for a 112 call."""
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


@router.put("/telephony/lines/{user_id}/device", response_model=schemas.LineOut)
def set_device(user_id: PathId, data: schemas.DeviceIn,
               ctx: Ctx = Depends(ctx_for("presence.set"))) -> schemas.LineOut:
    """Browser line or desk phone: a call-taker chooses for their own line, a supervisor for anyone's."""
    return actions.set_device(ctx, user_id, data)


@router.get("/telephony/line", response_model=schemas.LineOut | None)
def my_line(ctx: Ctx = Depends(ctx_for("line.use"))) -> schemas.LineOut | None:
    """My own line (null when I have none): what the console's browser line starts from. An agency operator's
    line has `queue: false` (never rung for a 112 call)."""
    return service.line_of(ctx.db, ctx.actor.user_id, ctx.now())


@router.post("/telephony/browser-credential", response_model=schemas.BrowserCredentialOut)
def browser_credential(request: Request, ctx: Ctx = Depends(ctx_for("line.use"))) -> schemas.BrowserCredentialOut:
    """My browser line's SIP password for this console session (made now, shown once, its digest pushed to the
    edge; the previous one stops working), and where to connect. Audited."""
    return actions.browser_credential(ctx, ws_url(ctx.settings, request.url.hostname or "127.0.0.1"))


def ws_url(settings: Settings, page_host: str) -> str:
    """The edge's WebSocket address for the console: wss when configured (by SIAGA_TELEPHONY_WSS_HOST, the name
    in its certificate, when set), else ws (one host only). A listener on every address (0.0.0.0) is reached by
    the host name the console was loaded from."""
    for scheme, listen in (("wss", settings.telephony_wss_listen), ("ws", settings.telephony_ws_listen)):
        if listen:
            host, _, port = listen.rpartition(":")
            if scheme == "wss" and settings.telephony_wss_host:
                host = settings.telephony_wss_host
            elif host == "0.0.0.0":  # noqa: S104 - a listener address, not a bind
                host = page_host
            return f"{scheme}://{host}:{port}"
    return ""
