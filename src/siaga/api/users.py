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
from siaga.domains.telephony import actions as telephony_actions
from siaga.domains.users import actions, schemas
from siaga.domains.users.models import User

router = APIRouter(tags=["users"])

ANONYMOUS = Principal(user_id=0, username="anonymous", full_name="Anonim", role="anonymous", agency_id=None,
                      via="anonymous")


LoginResult = tuple[str, schemas.LoginOut] | schemas.LoginChallengeOut | Problem


def do_login(request: Request, db: Session, data: schemas.LoginIn | schemas.LoginCodeIn) -> LoginResult:
    """Either step of signing in: the password (LoginIn), or the code after it (LoginCodeIn). A session (its
    cookie token and what the client is told), a challenge for the code, or the problem to answer with."""
    ctx = Ctx(db=db, actor=ANONYMOUS, clock=request.app.state.clock, settings=request.app.state.settings)
    try:
        if isinstance(data, schemas.LoginCodeIn):
            result = actions.login_second_factor(ctx, data, client_address(request))
        else:
            result = actions.login(ctx, data, client_address(request))
    except actions.LoginFailed as failed:
        return failed.throttled or Problem(401, "login_failed")
    if isinstance(result, actions.SecondFactorNeeded):
        return schemas.LoginChallengeOut(ticket=result.ticket, expires_at=result.expires_at)
    token, sess, user = result
    out = schemas.LoginOut(user=schemas.UserOut.model_validate(user), csrf_token=sess.csrf_token,
                           expires_at=sess.expires_at)
    return token, out


def _login_response(request: Request, result: LoginResult) -> Response:
    if isinstance(result, Problem):
        return problem_response(request, result)  # returned, not raised: the failed attempt is kept
    if isinstance(result, schemas.LoginChallengeOut):
        return JSONResponse(result.model_dump(mode="json"), status_code=202)
    token, out = result
    response = JSONResponse(out.model_dump(mode="json"))
    set_session_cookie(request, response, token, request.app.state.settings.session_hours * 3600)
    return response


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict",
                        secure=request.app.state.settings.cookie_secure, path="/")


@router.post("/auth/login", response_model=schemas.LoginOut,
             responses={202: {"model": schemas.LoginChallengeOut, "description": "password right; a code is needed"},
                        401: {"description": "wrong credentials"}, 429: {"description": "throttled"}})
def login(data: schemas.LoginIn, request: Request, db: Session = DbSession) -> Response:
    """Start a browser session: sets an HttpOnly, SameSite=Strict cookie. Send the returned csrf_token
    as X-CSRF-Token on every request that changes something. A user with an authenticator app enabled gets
    202 and a ticket instead: send it with a code to /auth/login/totp."""
    return _login_response(request, do_login(request, db, data))


@router.post("/auth/login/totp", response_model=schemas.LoginOut,
             responses={401: {"description": "wrong or used code, or the ticket expired"},
                        429: {"description": "throttled"}})
def login_totp(data: schemas.LoginCodeIn, request: Request, db: Session = DbSession) -> Response:
    """The second step of signing in: the ticket from /auth/login and the authenticator app's 6-digit code (or a
    recovery code). A wrong code counts as a failed sign-in; each code works once."""
    return _login_response(request, do_login(request, db, data))


@router.post("/auth/logout", status_code=204)
def logout(request: Request, ctx: Ctx = Depends(ctx_for("self.read"))) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        actions.logout(ctx, cookie)
    telephony_actions.revoke_browser_credential(ctx)
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


@router.get("/me/totp", response_model=schemas.TotpStatus)
def my_totp(ctx: Ctx = Depends(ctx_for("self.totp"))) -> schemas.TotpStatus:
    """Whether the signed-in user has an authenticator app enabled, and whether their role requires one."""
    return actions.totp_status(ctx)


@router.post("/me/totp", response_model=schemas.TotpEnrolment)
def start_my_totp(response: Response, ctx: Ctx = Depends(ctx_for("self.totp"))) -> schemas.TotpEnrolment:
    """Start enrolling an authenticator app: a new secret, its otpauth URI and QR code (SVG). Nothing changes at
    sign-in until a code from it is confirmed."""
    response.headers["Cache-Control"] = "no-store"
    return actions.start_totp_enrolment(ctx)


@router.post("/me/totp/confirm", response_model=schemas.RecoveryCodesOut)
def confirm_my_totp(data: schemas.TotpCodeIn, response: Response,
                    ctx: Ctx = Depends(ctx_for("self.totp"))) -> schemas.RecoveryCodesOut:
    """Enable the authenticator with a code from it. Answers the recovery codes, shown this once."""
    response.headers["Cache-Control"] = "no-store"
    return schemas.RecoveryCodesOut(recovery_codes=actions.confirm_totp(ctx, data.code))


@router.delete("/me/totp", status_code=204)
def disable_my_totp(data: schemas.TotpCodeIn, request: Request,
                    ctx: Ctx = Depends(ctx_for("self.totp"))) -> Response:
    """Turn one's own authenticator off with a current code, where the role does not require one. A wrong code
    counts as a failed sign-in."""
    if not actions.disable_totp(ctx, data.code, client_address(request)):
        return problem_response(request, Problem(422, "totp_code_wrong"))  # the failure is kept
    return Response(status_code=204)


@router.delete("/users/{user_id}/totp", status_code=204)
def reset_user_totp(user_id: PathId, ctx: Ctx = Depends(ctx_for("users.write"))) -> Response:
    """Reset a user's second factor (a lost phone): their authenticator and recovery codes are removed and their
    sessions end; audited. They enrol again at their next sign-in where their role requires it."""
    user = ctx.db.get(User, user_id)
    if user is None:
        raise Problem(404, "not_found")
    actions.reset_totp(ctx, user)
    return Response(status_code=204)


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

