"""Telephony: the edge's health, operators' lines and presence, and the live queue."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from siaga.core.context import Ctx
from siaga.core.http import ctx_for
from siaga.core.ids import PathId
from siaga.domains.calls.privacy import mask_number
from siaga.domains.telephony import actions, schemas, service
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
    edge learns it within seconds; the phone then registers to SIAGA_TELEPHONY_DOMAIN."""
    return actions.set_line(ctx, user_id, data)


@router.put("/telephony/lines/{user_id}/device", response_model=schemas.LineOut)
def set_device(user_id: PathId, data: schemas.DeviceIn,
               ctx: Ctx = Depends(ctx_for("presence.set"))) -> schemas.LineOut:
    """Browser line or desk phone: a call-taker chooses for their own line, a supervisor for anyone's."""
    return actions.set_device(ctx, user_id, data)


@router.post("/telephony/browser-credential", response_model=schemas.BrowserCredentialOut)
def browser_credential(request: Request, ctx: Ctx = Depends(ctx_for("presence.set"))) -> schemas.BrowserCredentialOut:
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
