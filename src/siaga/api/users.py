"""Login, logout, who am I, users and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.core.context import Ctx
from siaga.core.errors import Problem, problem_response
from siaga.core.http import SESSION_COOKIE, DbSession, client_address, ctx_for, idempotent
from siaga.core.ids import PathId
from siaga.domains.users import actions, schemas
from siaga.domains.users.models import User

router = APIRouter(tags=["users"])

ANONYMOUS = Principal(user_id=0, username="anonymous", full_name="Anonim", role="anonymous", agency_id=None,
                      via="anonymous")


def do_login(request: Request, db: Session, data: schemas.LoginIn) -> tuple[str, schemas.LoginOut] | Problem:
    ctx = Ctx(db=db, actor=ANONYMOUS, clock=request.app.state.clock, settings=request.app.state.settings)
    try:
        token, sess, user = actions.login(ctx, data, client_address(request))
    except actions.LoginFailed as failed:
        return failed.throttled or Problem(401, "login_failed")
    out = schemas.LoginOut(user=schemas.UserOut.model_validate(user), csrf_token=sess.csrf_token,
                           expires_at=sess.expires_at)
    return token, out


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict",
                        secure=request.app.state.settings.cookie_secure, path="/")


@router.post("/auth/login", response_model=schemas.LoginOut,
             responses={401: {"description": "wrong credentials"}, 429: {"description": "throttled"}})
def login(data: schemas.LoginIn, request: Request, db: Session = DbSession) -> Response:
    """Start a browser session: sets an HttpOnly, SameSite=Strict cookie. Send the returned csrf_token
    as X-CSRF-Token on every request that changes something."""
    result = do_login(request, db, data)
    if isinstance(result, Problem):
        return problem_response(request, result)  # returned, not raised: the failed attempt is kept
    token, out = result
    response = JSONResponse(out.model_dump(mode="json"))
    set_session_cookie(request, response, token, request.app.state.settings.session_hours * 3600)
    return response


@router.post("/auth/logout", status_code=204)
def logout(request: Request, ctx: Ctx = Depends(ctx_for("self.read"))) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        actions.logout(ctx, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=schemas.MeOut)
def me(ctx: Ctx = Depends(ctx_for("self.read"))) -> schemas.MeOut:
    user = ctx.db.get(User, ctx.actor.user_id)
    out = schemas.MeOut.model_validate(user)
    out.csrf_token = ctx.actor.csrf_token or None
    return out


@router.get("/me/alerts", response_model=schemas.AlertSettings)
def my_alerts(ctx: Ctx = Depends(ctx_for("self.read"))) -> schemas.AlertSettings:
    """The signed-in user's console alerts (volume 0-100, muted); every console they open follows them."""
    user = ctx.db.get(User, ctx.actor.user_id)
    if user is None:
        raise Problem(404, "not_found")
    return schemas.AlertSettings(volume=user.alert_volume, muted=user.alert_muted)


@router.put("/me/alerts", response_model=schemas.AlertSettings)
def set_my_alerts(data: schemas.AlertSettings, ctx: Ctx = Depends(ctx_for("self.write"))) -> schemas.AlertSettings:
    """Set the signed-in user's alert volume and mute; stored with the user, not the browser."""
    user = actions.set_alert_settings(ctx, data.volume, data.muted)
    return schemas.AlertSettings(volume=user.alert_volume, muted=user.alert_muted)


@router.get("/users", response_model=list[schemas.UserOut])
def list_users(ctx: Ctx = Depends(ctx_for("users.read"))) -> list[schemas.UserOut]:
    return [schemas.UserOut.model_validate(u) for u in ctx.db.scalars(select(User).order_by(User.username))]


@router.post("/users", status_code=201, response_model=schemas.UserCreated)
def create_user(data: schemas.UserCreate, request: Request,
                ctx: Ctx = Depends(ctx_for("users.write"))) -> Response:
    return idempotent(request, ctx, data, lambda: actions.create_user(ctx, data))


@router.post("/tokens", status_code=201, response_model=schemas.TokenCreated)
def create_token(data: schemas.TokenCreate, ctx: Ctx = Depends(ctx_for("users.write"))) -> schemas.TokenCreated:
    return actions.create_api_token(ctx, data)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: PathId, ctx: Ctx = Depends(ctx_for("users.write"))) -> Response:
    actions.revoke_api_token(ctx, token_id)
    return Response(status_code=204)

