"""Telephony: the edge's health, operators' lines and presence, and the live queue."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from siaga.core.context import Ctx
from siaga.core.http import ctx_for
from siaga.core.ids import PathId
from siaga.domains.calls.privacy import mask_number
from siaga.domains.telephony import actions, schemas, service

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
