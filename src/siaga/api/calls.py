"""Calls: the live queue, one call, hand-recorded calls, outcomes; and the generic call-event intake
for telephony systems (idempotent by event_id). Callers' numbers in responses follow the one rule of
domains/calls/privacy.py (masked for readers without `numbers.reveal`, unless it is their own call)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from siaga.core.context import Ctx
from siaga.core.http import ctx_for, idempotent
from siaga.core.ids import PathId, QueryId
from siaga.domains.callers import actions as caller_actions
from siaga.domains.callers import schemas as caller_schemas
from siaga.domains.callers import service as caller_service
from siaga.domains.calls import actions, privacy, schemas, service

router = APIRouter(tags=["calls"])


@router.get("/calls", response_model=list[schemas.CallOut])
def list_calls(live: bool = False, caller_number: str | None = Query(default=None, max_length=40),
               mine_unfinished: bool = Query(default=False, description="only my calls still without an outcome"),
               limit: int = Query(default=100, ge=1, le=1000), offset: int = Query(default=0, ge=0, le=1_000_000),
               ctx: Ctx = Depends(ctx_for("calls.read"))) -> list[schemas.CallOut]:
    calls = service.list_calls(ctx.db, live_only=live, caller_number=caller_number, limit=limit, offset=offset,
                               unfinished_by=ctx.actor.user_id if mine_unfinished else None)
    return privacy.calls_for(ctx.actor, service.calls_out(ctx.db, calls))


@router.get("/calls/{call_id}", response_model=schemas.CallOut)
def get_call(call_id: PathId, response: Response, ctx: Ctx = Depends(ctx_for("calls.read"))) -> schemas.CallOut:
    call = service.get_call(ctx.db, call_id)
    response.headers["ETag"] = f'"{call.version}"'
    return privacy.call_for(ctx.actor, service.call_out(ctx.db, call))


@router.post("/calls", status_code=201, response_model=schemas.CallOut)
def create_call(data: schemas.CallCreate, request: Request,
                ctx: Ctx = Depends(ctx_for("calls.write"))) -> Response:
    return idempotent(request, ctx, data, lambda: privacy.call_for(ctx.actor, actions.create_call(ctx, data)))


@router.patch("/calls/{call_id}", response_model=schemas.CallOut,
              responses={409: {"description": "someone changed the call since you loaded it"}})
def update_call(call_id: PathId, data: schemas.CallUpdate,
                ctx: Ctx = Depends(ctx_for("calls.write"))) -> schemas.CallOut:
    return privacy.call_for(ctx.actor, caller_actions.record_call(ctx, call_id, data))


@router.post("/calls/{call_id}/claim", response_model=schemas.CallOut,
             responses={409: {"description": "`call_taken` (another operator has it, `params.username`), "
                                             "`invalid_transition` (the call has ended) or `stale_version`"}})
def claim_call(call_id: PathId, data: schemas.CallClaim,
               ctx: Ctx = Depends(ctx_for("calls.write"))) -> schemas.CallOut:
    """Take a waiting (offered / ringing, or answered without an operator) call: it becomes answered
    by you. Taking a call you already have changes nothing."""
    return privacy.call_for(ctx.actor, actions.claim_call(ctx, call_id, data))


@router.get("/callers/{number}/history", response_model=caller_schemas.CallerHistoryOut)
def caller_history(number: str = Path(max_length=60, description="Any form: +62812…, 62812…, 0812…"),
                   exclude_call_id: QueryId = None,
                   ctx: Ctx = Depends(ctx_for("calls.read"))) -> caller_schemas.CallerHistoryOut:
    """The number's earlier calls (newest first, at most 20), outcome counts (all time and the last 30
    days) and the open incidents its calls are linked to. A withheld number ('anonymous', 'unknown')
    has an empty history. `exclude_call_id`: leave out the call being handled now."""
    return privacy.history_for(ctx.actor, caller_service.caller_history(ctx.db, number, ctx.now(), exclude_call_id))


@router.post("/call-events", response_model=schemas.CallEventResult,
             responses={200: {"description": "already ingested (duplicate: true); nothing changed"},
                        201: {"description": "ingested"}})
def ingest_call_event(data: schemas.CallEventIn, response: Response,
                      ctx: Ctx = Depends(ctx_for("call_events.ingest"))) -> schemas.CallEventResult:
    result = actions.ingest_call_event(ctx, data)
    response.status_code = 200 if result.duplicate else 201
    return result
