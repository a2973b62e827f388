"""The live event stream (SSE, resumable with Last-Event-ID), the snapshot it continues from, the
audit log and its verification, health, and the readiness probe (`GET /readyz`, outside /api/v1)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from siaga.core.audit import AuditEntry, verify_chain
from siaga.core.audit_anchor import load_key, verify_anchor
from siaga.core.authz import Principal
from siaga.core.context import Ctx
from siaga.core.errors import COMMON_RESPONSES, UNAVAILABLE_RETRY_AFTER_S, Problem, invalid, unavailable
from siaga.core.http import SESSION_COOKIE, authenticate, ctx_for
from siaga.core.security import session_digest
from siaga.db.engine import open_session
from siaga.domains.calls.privacy import mask_number, sees_full_numbers
from siaga.domains.users.models import UserSession
from siaga.events.hub import last_event_id as current_last_event_id
from siaga.live.snapshot import take_snapshot
from siaga.live.stream import Heartbeat, event_stream

router = APIRouter(tags=["events"])
# Probes for load balancers and orchestrators, at the root like their conventions (/readyz).
probes = APIRouter(tags=["health"])


def _authenticate_briefly(request: Request) -> Principal | None:
    with open_session(request.app.state.engine, write=False) as db:
        return authenticate(request, db)


async def _events_principal(request: Request) -> Principal:
    """Authenticate with a short session of its own: a console's stream may stay open for a whole shift
    and must not hold a database connection for it."""
    principal = await anyio.to_thread.run_sync(_authenticate_briefly, request)
    if principal is None:
        raise Problem(401, "not_authenticated", headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal
    principal.require("events.read")
    return principal


_events_principal.permission = "events.read"  # type: ignore[attr-defined]

SEEN_EVERY = timedelta(seconds=30)


def mark_session_seen(engine: Engine, session_id: str, now: datetime) -> None:
    """A browser console is open: presence for the wallboard's operators on duty. Its own short
    transaction, connection returned at once; not audited (it records no decision, only presence)."""
    with open_session(engine, write=True) as db, db.begin():
        db.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))


def _heartbeat(request: Request, principal: Principal) -> Heartbeat | None:
    """Browser sessions only: an API token (a bridge, a test client) is not an operator at a console."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal.via != "session" or not cookie:
        return None
    session_id = session_digest(request.app.state.secret_key, cookie)
    engine = request.app.state.engine
    return Heartbeat(lambda now: mark_session_seen(engine, session_id, now), request.app.state.clock, SEEN_EVERY)


@router.get("/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "SSE: `id`, `event` (kind), `data` (JSON with payload); "
                                            "`event: reset` means reload the snapshot"}})
async def events(request: Request, after: int | None = Query(default=None, ge=0),
                 last_event_id: str | None = Header(default=None, max_length=20),
                 principal: Principal = Depends(_events_principal)) -> StreamingResponse:
    """Events after `Last-Event-ID` (or `?after=`); without either, from now on."""
    hub = request.app.state.hub
    start: int
    if last_event_id is not None:
        if not last_event_id.isdigit():
            raise invalid("header.Last-Event-ID", "an event id (digits)")
        start = int(last_event_id)
    elif after is not None:
        start = after
    else:
        start = await anyio.to_thread.run_sync(current_last_event_id, hub.engine)
    settings = request.app.state.settings
    stream = event_stream(request, hub, principal, start, settings.event_backlog_limit,
                          settings.sse_keepalive_seconds, _heartbeat(request, principal))
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/snapshot")
def snapshot(request: Request, ctx: Ctx = Depends(ctx_for("events.read"))) -> dict[str, Any]:
    """Everything a console shows, with the id of the last event it includes: follow /events from it."""
    with open_session(request.app.state.engine, write=False, snapshot=True) as db, db.begin():
        return take_snapshot(db, ctx.actor)


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str | None
    data: dict[str, Any]
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    problems: list[str]
    anchored: bool = Field(description="whether signed checkpoints outside the database (SIAGA_AUDIT_KEY_FILE "
                           "and SIAGA_AUDIT_WITNESS) were checked; without them a cut tail or a rehash goes unseen")
    checkpoints: int = 0
    covered_seq: int = Field(default=0, description="the highest entry a valid checkpoint witnessed")
    first_covered: str | None = Field(default=None, description="when the first valid checkpoint was made")


@router.get("/audit", response_model=list[AuditEntryOut])
def list_audit(entity: str | None = Query(default=None, max_length=40),
               entity_id: str | None = Query(default=None, max_length=64),
               limit: int = Query(default=100, ge=1, le=1000),
               ctx: Ctx = Depends(ctx_for("audit.read"))) -> list[AuditEntryOut]:
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    full = sees_full_numbers(ctx.actor)
    return [AuditEntryOut(seq=e.seq, at=e.at.isoformat(), actor=e.actor, action=e.action, entity=e.entity,
                          entity_id=e.entity_id if full else _mask_if_number(e.entity_id),
                          data=e.data_dict if full else _mask_numbers(e.data_dict), hash=e.hash)
            for e in ctx.db.scalars(stmt)]


NUMBER_KEYS = frozenset({"caller_number", "number", "msisdn", "sender", "phone", "caller"})


def _mask_if_number(value: str | None) -> str | None:
    digits = (value or "").lstrip("+")
    return mask_number(value) if value and digits.isdigit() and len(digits) >= 7 else value


def _mask_numbers(data: Any) -> Any:
    """An admin reads the audit log without callers' numbers (the chain is verified on the server, over
    the entries as stored); call-takers and supervisors read them whole."""
    if isinstance(data, dict):
        return {k: (mask_number(v) if k in NUMBER_KEYS and isinstance(v, str) and v else _mask_numbers(v))
                for k, v in data.items()}
    if isinstance(data, list):
        return [_mask_numbers(v) for v in data]
    return data


@router.get("/audit/verify", response_model=VerifyOut)
def audit_verify(ctx: Ctx = Depends(ctx_for("audit.read"))) -> VerifyOut:
    """The hash chain, and — when the site anchors it — the chain against the signed checkpoints outside the
    database, as `siaga audit verify` checks them: a cut tail, a rehashed chain and a wiped log are found."""
    result = verify_chain(ctx.db)
    settings = ctx.settings
    if not (settings.audit_key_file and settings.audit_witness):
        return VerifyOut(ok=result.ok, entries=result.entries, problems=result.problems, anchored=False)
    try:
        key = load_key(settings.audit_key_file)
    except (OSError, ValueError) as exc:
        problems = [*result.problems, f"the anchoring key {settings.audit_key_file} cannot be read "
                    f"({type(exc).__name__}): checkpoints not checked"]
        return VerifyOut(ok=False, entries=result.entries, problems=problems, anchored=False)
    anchor = verify_anchor(ctx.db, key, settings.audit_witness)
    problems = result.problems + anchor.problems
    return VerifyOut(ok=not problems, entries=result.entries, problems=problems, anchored=True,
                     checkpoints=anchor.checkpoints, covered_seq=anchor.covered_seq,
                     first_covered=anchor.first_covered)


class HealthOut(BaseModel):
    ok: bool
    database: str
    event_stream_listening: bool
    last_event_id: int


@router.get("/health", response_model=HealthOut)
def health(request: Request) -> HealthOut:
    hub = request.app.state.hub
    try:
        with open_session(request.app.state.engine, write=False) as db:
            db.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # report, don't crash: this is what monitoring polls
        database = f"error: {type(exc).__name__}"
    return HealthOut(ok=database == "ok", database=database,
                     event_stream_listening=hub.listening or request.app.state.engine.dialect.name == "sqlite",
                     last_event_id=hub.last_id)


class ReadyOut(BaseModel):
    ready: bool
    database: str
    edge: str = Field(description="this process's link to the SIP edge: connected, disconnected, or "
                                  "not_bridged (the process does not run the bridge). Reported, never a reason to "
                                  "leave the rotation: consoles still need this process when the edge is down")


@probes.get("/readyz", response_model=ReadyOut, responses={503: COMMON_RESPONSES[503]})
def readyz(request: Request) -> ReadyOut:
    """Ready to take calls: the database answers and takes writes. When it does not, 503 problem+json
    `database_unavailable` naming the database (`params.database`: postgresql or sqlite) with Retry-After,
    as every route answers while the database is down; a PostgreSQL standby (read-only, as after a failover
    that left this process on the old primary's replica) is `database_read_only`, also 503. No
    authentication: a load balancer asks it."""
    engine: Engine = request.app.state.engine
    try:
        with open_session(engine, write=False) as db:
            db.execute(text("SELECT 1"))
            standby = engine.dialect.name == "postgresql" and db.scalar(text("SELECT pg_is_in_recovery()"))
    except (SQLAlchemyError, OSError) as exc:
        raise unavailable(engine.dialect.name) from exc
    if standby:
        raise Problem(503, "database_read_only", headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)},
                      database=engine.dialect.name)
    bridge = request.app.state.bridge
    edge = "not_bridged" if bridge is None else "connected" if bridge.connected.is_set() else "disconnected"
    return ReadyOut(ready=True, database=engine.dialect.name, edge=edge)
