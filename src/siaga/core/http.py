"""Request plumbing shared by every route: one unit of work per request (committed before the
response is sent), authentication by session cookie or API token, CSRF, and Idempotency-Key."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from anyio import CancelScope
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from siaga.core.authz import Principal
from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid, unavailable
from siaga.core.idempotency import IdempotencyRecord, request_fingerprint
from siaga.core.security import constant_time_equals
from siaga.db.engine import database_unavailable, insert_ignoring, open_session

SESSION_COOKIE = "siaga_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _finish(session: Session, error: BaseException | None) -> None:
    """Commit (or, after an error, roll back) and close: in one trip to a worker thread."""
    try:
        if error is None:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _as_problem(exc: BaseException, database: str) -> BaseException:
    if isinstance(exc, StaleDataError):
        return Problem(409, "stale_version", current="?")
    if isinstance(exc, IntegrityError):
        return Problem(409, "conflict")
    if database_unavailable(exc):
        # A PBX and the consoles retry on 503 + Retry-After; nothing was stored (a commit cut off midway
        # is safe to retry too: call events are idempotent by event id, creations by Idempotency-Key).
        return unavailable(database)
    if isinstance(exc, PoolTimeout) or (isinstance(exc, OperationalError) and any(
            word in str(exc).lower() for word in ("locked", "could not serialize"))):
        return Problem(503, "database_busy", headers={"Retry-After": "1"})
    return exc


async def _db(request: Request) -> AsyncIterator[Session]:
    """Readers get a plain transaction; writers a writer's (BEGIN IMMEDIATE on SQLite). The commit
    happens here, before FastAPI sends the response, so a 2xx always means 'stored'. Opening a session
    touches no database (it connects on first use, in the endpoint's thread), so it happens on the event
    loop; the commit and close go to a worker thread in one trip."""
    write = request.method not in SAFE_METHODS
    session = open_session(request.app.state.engine, write=write)
    session.info["clock"] = request.app.state.clock
    try:
        yield session
    except BaseException as exc:
        with CancelScope(shield=True):  # a client gone away still gets its transaction rolled back
            try:
                await run_in_threadpool(_finish, session, exc)
            except DBAPIError as lost:  # the rollback failed too: the original error says more
                if not database_unavailable(lost):
                    raise
        problem = _as_problem(exc, request.app.state.engine.dialect.name)
        if problem is exc:
            raise
        raise problem from exc
    try:
        with CancelScope(shield=True):
            await run_in_threadpool(_finish, session, None)
    except (StaleDataError, DBAPIError, PoolTimeout) as exc:
        problem = _as_problem(exc, request.app.state.engine.dialect.name)
        if problem is exc:
            raise
        raise problem from exc


# scope="function": the exit code (commit) runs before the response is sent.
DbSession = Depends(_db, scope="function")


class Authenticator(Protocol):
    """Who a bearer token or a session cookie belongs to (the users domain answers; core knows no users)."""

    def principal_for_token(self, db: Session, token: str) -> Principal | None: ...

    def principal_for_session(self, db: Session, secret_key: str, cookie: str, now: datetime) -> Principal | None: ...


def client_address(request: Request) -> str:
    """The address a request came from. X-Forwarded-For is believed only hop by hop from the right, and only
    while the hop that wrote it is a configured trusted proxy (SIAGA_TRUSTED_PROXIES): a client cannot name its
    own address by sending the header, and a whole centre behind one proxy is not one address."""
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.settings.trusted_proxy_networks()
    if not trusted:
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    address = peer
    for hop in reversed(hops):
        if not _in(address, trusted):
            return address
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a trusted proxy passed on something that is no address: go no further
        address = hop
    return address


def _in(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def authenticate(request: Request, db: Session) -> Principal | None:
    """The request's principal, asked of the authenticator the app was built with (`app.state.auth`)."""
    users: Authenticator = request.app.state.auth
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return users.principal_for_token(db, auth[7:].strip())  # machine clients: no second factor
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = users.principal_for_session(db, request.app.state.secret_key, cookie,
                                                request.app.state.clock.now())
        if (principal is not None and not principal.second_factor
                and principal.role in request.app.state.settings.totp_roles()):
            # Decided on every request, not at sign-in: a role that comes to require a second factor holds its
            # open sessions to enrolment too.
            return replace(principal, enrolment_only=True)
        return principal
    return None


def current_principal(request: Request, db: Session = DbSession) -> Principal:
    principal = authenticate(request, db)
    if principal is None:
        raise Problem(401, "not_authenticated", headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal
    if principal.via == "session" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not constant_time_equals(sent, principal.csrf_token):
            raise Problem(403, "csrf_failed")
    return principal


def ctx_for(permission: str) -> Callable[..., Awaitable[Ctx]]:
    """Dependency: the request's Ctx, after checking that the caller holds `permission`."""

    # async: it only checks and assembles, so it runs on the event loop instead of taking a worker thread.
    async def dependency(request: Request, db: Session = DbSession,
                         principal: Principal = Depends(current_principal, scope="function")) -> Ctx:
        principal.require(permission)
        return Ctx(db=db, actor=principal, clock=request.app.state.clock, settings=request.app.state.settings)

    dependency.__name__ = f"ctx_for_{permission.replace('.', '_')}"
    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


_IDEMPOTENCY = IdempotencyRecord.__table__
# Every create with an Idempotency-Key claims it: pre-built Core statements on the session's connection.
_CLAIM_KEY = insert_ignoring(_IDEMPOTENCY, ["user_id", "key"], _IDEMPOTENCY.c.id)
_KEEP_RESPONSE = (_IDEMPOTENCY.update().where(_IDEMPOTENCY.c.id == bindparam("claimed"))
                  .values(status_code=bindparam("status_code"), response=bindparam("response")))


def idempotent(request: Request, ctx: Ctx, body: BaseModel | None,
               create: Callable[[], BaseModel], status_code: int = 201) -> JSONResponse:
    """Run `create` once per (user, Idempotency-Key). A retry with the same key and body gets the first
    response again (header Idempotent-Replayed: true); the same key with another body is refused."""
    payload = body.model_dump(mode="json") if body is not None else None
    key = request.headers.get("idempotency-key")
    if not key:
        return JSONResponse(create().model_dump(mode="json"), status_code=status_code)
    if len(key) > 200:
        raise invalid("header.Idempotency-Key", "at most 200 characters", "string_too_long")
    fingerprint = request_fingerprint(request.method, request.url.path, payload)
    db = ctx.db

    def replay(record: IdempotencyRecord) -> JSONResponse:
        if record.request_hash != fingerprint:
            raise Problem(422, "idempotency_mismatch")
        return JSONResponse(record.response, status_code=record.status_code,
                            headers={"Idempotent-Replayed": "true"})

    def lookup() -> IdempotencyRecord | None:
        return db.scalar(select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == ctx.actor.user_id, IdempotencyRecord.key == key))

    # Claim the key first, in one statement: a concurrent twin's INSERT waits on the unique index until
    # our transaction ends, then (we committed) finds the key taken and replays our response instead of
    # creating a second record; if we rolled back, the twin's claim succeeds and it creates.
    conn = db.connection()
    claimed = conn.execute(_CLAIM_KEY[conn.dialect.name], {
        "user_id": ctx.actor.user_id, "key": key, "method": request.method, "path": request.url.path,
        "request_hash": fingerprint, "status_code": 0, "response": None, "created_at": ctx.now()}).scalar()
    if claimed is None:
        existing = lookup()
        if existing is None or existing.status_code == 0:
            raise Problem(409, "conflict")
        return replay(existing)
    result: Any = create().model_dump(mode="json")
    conn.execute(_KEEP_RESPONSE, {"claimed": claimed, "status_code": status_code, "response": result})
    return JSONResponse(result, status_code=status_code)
