"""Request plumbing shared by every route: one unit of work per request (committed before the
response is sent), authentication by session cookie or API token, CSRF, and Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from siaga.core.authz import Principal
from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid
from siaga.core.idempotency import IdempotencyRecord, request_fingerprint
from siaga.core.security import constant_time_equals
from siaga.db.engine import dialect_insert, open_session

SESSION_COOKIE = "siaga_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _db(request: Request) -> Iterator[Session]:
    """Readers get a plain transaction; writers a writer's (BEGIN IMMEDIATE on SQLite). The commit
    happens here, before FastAPI sends the response, so a 2xx always means 'stored'."""
    write = request.method not in SAFE_METHODS
    session = open_session(request.app.state.engine, write=write)
    session.info["clock"] = request.app.state.clock
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Problem(409, "stale_version", current="?") from exc
    except IntegrityError as exc:
        session.rollback()
        raise Problem(409, "conflict") from exc
    except OperationalError as exc:
        session.rollback()
        if "locked" in str(exc).lower() or "could not serialize" in str(exc).lower():
            raise Problem(503, "database_busy", headers={"Retry-After": "1"}) from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the exit code (commit) runs before the response is sent.
DbSession = Depends(_db, scope="function")


class Authenticator(Protocol):
    """Who a bearer token or a session cookie belongs to (the users domain answers; core knows no users)."""

    def principal_for_token(self, db: Session, token: str) -> Principal | None: ...

    def principal_for_session(self, db: Session, secret_key: str, cookie: str, now: datetime) -> Principal | None: ...


def authenticate(request: Request, db: Session) -> Principal | None:
    """The request's principal, asked of the authenticator the app was built with (`app.state.auth`)."""
    users: Authenticator = request.app.state.auth
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return users.principal_for_token(db, auth[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return users.principal_for_session(db, request.app.state.secret_key, cookie,
                                           request.app.state.clock.now())
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


def ctx_for(permission: str) -> Callable[..., Ctx]:
    """Dependency: the request's Ctx, after checking that the caller holds `permission`."""

    def dependency(request: Request, db: Session = DbSession,
                   principal: Principal = Depends(current_principal, scope="function")) -> Ctx:
        principal.require(permission)
        return Ctx(db=db, actor=principal, clock=request.app.state.clock, settings=request.app.state.settings)

    dependency.__name__ = f"ctx_for_{permission.replace('.', '_')}"
    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


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
    claimed = db.execute(
        dialect_insert(db, IdempotencyRecord).values(
            user_id=ctx.actor.user_id, key=key, method=request.method, path=request.url.path,
            request_hash=fingerprint, status_code=0, response=None, created_at=ctx.now())
        .on_conflict_do_nothing(index_elements=["user_id", "key"]).returning(IdempotencyRecord.id)
    ).scalar()
    if claimed is None:
        existing = lookup()
        if existing is None or existing.status_code == 0:
            raise Problem(409, "conflict")
        return replay(existing)
    result: Any = create().model_dump(mode="json")
    db.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == claimed)
               .values(status_code=status_code, response=result))
    return JSONResponse(result, status_code=status_code)
