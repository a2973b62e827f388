"""The only writers of users, sessions and tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from siaga.core.authz import AGENCY_OPERATOR, ROLES, Principal
from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid
from siaga.core.security import (
    burn_password_check,
    digest,
    generate_password,
    hash_password,
    new_api_token,
    new_session_token,
    session_digest,
    verify_password,
)
from siaga.domains.agencies.models import Agency
from siaga.domains.users import schemas
from siaga.domains.users.models import ApiToken, LoginAttempt, User, UserSession
from siaga.domains.users.service import get_by_username


def create_user(ctx: Ctx, data: schemas.UserCreate) -> schemas.UserCreated:
    if data.role not in ROLES:
        raise invalid("body.role", f"one of {', '.join(ROLES)}")
    if data.role == AGENCY_OPERATOR and data.agency_id is None:
        raise invalid("body.agency_id", "an agency operator belongs to one agency", "missing")
    if data.role != AGENCY_OPERATOR and data.agency_id is not None:
        raise invalid("body.agency_id", "only agency operators are bound to an agency")
    if data.agency_id is not None and ctx.db.get(Agency, data.agency_id) is None:
        raise invalid("body.agency_id", "unknown agency", "unknown")
    if get_by_username(ctx.db, data.username) is not None:
        raise Problem(409, "duplicate", what="username", value=data.username)
    one_time = None if data.password else generate_password()
    user = User(username=data.username, full_name=data.full_name, role=data.role, agency_id=data.agency_id,
                password_hash=hash_password(data.password or one_time or ""), language=data.language,
                active=True, created_at=ctx.now())
    ctx.db.add(user)
    ctx.db.flush()
    ctx.audit("user.create", "user", user.id,
              {"username": user.username, "role": user.role, "agency_id": user.agency_id})
    out = schemas.UserCreated.model_validate(user, from_attributes=True)
    out.one_time_password = one_time
    return out


def set_password(ctx: Ctx, user: User, password: str, *, keep_tokens: bool = False) -> tuple[int, int]:
    """A new password ends every session of the user and, unless told to keep them, revokes their API tokens:
    whoever knew the old password may have made either. Returns (sessions ended, tokens revoked)."""
    user.password_hash = hash_password(password)
    ended = ctx.db.execute(delete(UserSession).where(UserSession.user_id == user.id)).rowcount or 0
    revoked = 0
    if not keep_tokens:
        revoked = ctx.db.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                 .values(revoked_at=ctx.now())).rowcount or 0
    ctx.audit("user.password_set", "user", user.id,
              {"sessions_ended": ended, "tokens_revoked": revoked, "tokens_kept": keep_tokens})
    return ended, revoked


def login(ctx: Ctx, data: schemas.LoginIn, ip: str) -> tuple[str, UserSession, User]:
    """Check the password, throttled so that an attack slows what it attacks and nobody else.

    Failures are counted across every app process (the database is the shared memory) three ways:
    - one username from one address: `login_max_failures` in the window, then that pair is refused;
    - one username from every address together: four times as many, then that username is refused;
    - unknown usernames from one address ("anonymous" failures): four times as many, then a wrong username or
      password from that address is answered 429 — yet a colleague behind the same NAT or proxy who types
      the right password still gets in.
    A username is kept only as a keyed digest: a password typed into the username field is never stored.
    Known and unknown usernames are treated alike before the password is checked, so the answers do not tell
    which usernames exist."""
    now = ctx.now()
    settings = ctx.settings
    window_start = now - timedelta(seconds=settings.login_window_seconds)
    db = ctx.db
    db.execute(delete(LoginAttempt).where(LoginAttempt.at < window_start))
    key = username_key(settings.resolved_secret_key(), data.username)
    ip = ip[:64]
    recent = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= window_start)
    limit = settings.login_max_failures
    by_pair = db.scalar(recent.where(LoginAttempt.username == key, LoginAttempt.ip == ip)) or 0
    by_name = db.scalar(recent.where(LoginAttempt.username == key)) or 0
    if by_pair >= limit or by_name >= limit * 4:
        raise _throttled(settings.login_window_seconds)
    anonymous = db.scalar(recent.where(LoginAttempt.ip == ip, LoginAttempt.known.is_(False))) or 0
    user = get_by_username(db, data.username)
    if user is None:
        burn_password_check(data.password)
        ok = False
    else:
        ok = user.active and verify_password(user.password_hash, data.password)
    if not ok:
        db.add(LoginAttempt(username=key, ip=ip, at=now, known=user is not None))
        # The username is recorded only when it is someone's: an unknown one may be a mistyped password.
        detail = {"username": user.username} if user else {"username_digest": key[:16]}
        ctx.audit("user.login_failed", "user", user.id if user else None, {**detail, "ip": ip})
        # The failed attempt must be stored even though the request fails: commit it, then refuse.
        raise LoginFailed(_throttled(settings.login_window_seconds) if anonymous >= limit * 4 else None)
    assert user is not None
    token = new_session_token()
    session_id = session_digest(settings.resolved_secret_key(), token)
    sess = UserSession(id=session_id, user_id=user.id, csrf_token=secrets.token_urlsafe(24),
                       created_at=now, expires_at=now + timedelta(hours=settings.session_hours), ip=ip)
    db.add(sess)
    ctx.audit("user.login", "user", user.id, {"ip": ip})
    return token, sess, user


def username_key(secret: str, username: str) -> str:
    """What a failed sign-in keeps of the username typed: a digest keyed with the site's secret, so the
    throttle can count it and nobody can read it back (it may be a password typed in the wrong field)."""
    return hmac.new(secret.encode(), ("login:" + username.strip().casefold()).encode(), hashlib.sha256).hexdigest()[:40]


def _throttled(seconds: int) -> Problem:
    return Problem(429, "too_many_logins", seconds=seconds, headers={"Retry-After": str(seconds)})


class LoginFailed(Exception):
    """Raised after the failed attempt is queued; the route commits, then answers 401 — or the 429 it carries
    when the address is throttled for failures on unknown usernames."""

    def __init__(self, throttled: Problem | None = None) -> None:
        super().__init__("login failed")
        self.throttled = throttled


def logout(ctx: Ctx, cookie: str) -> None:
    ctx.db.execute(delete(UserSession).where(
        UserSession.id == session_digest(ctx.settings.resolved_secret_key(), cookie)))
    ctx.audit("user.logout", "user", ctx.actor.user_id, {})


def create_api_token(ctx: Ctx, data: schemas.TokenCreate) -> schemas.TokenCreated:
    user = ctx.db.get(User, data.user_id)
    if user is None:
        raise invalid("body.user_id", "unknown user", "unknown")
    token = new_api_token()
    row = ApiToken(user_id=user.id, name=data.name, token_hash=digest(token), prefix=token[:12],
                   created_at=ctx.now())
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit("token.create", "api_token", row.id, {"user_id": user.id, "name": data.name})
    return schemas.TokenCreated(id=row.id, user_id=user.id, name=row.name, prefix=row.prefix, token=token)


def revoke_api_token(ctx: Ctx, token_id: int) -> None:
    row = ctx.db.get(ApiToken, token_id)
    if row is None:
        raise Problem(404, "not_found")
    if row.revoked_at is None:
        row.revoked_at = ctx.now()
        ctx.audit("token.revoke", "api_token", row.id, {})


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, full_name=user.full_name, role=user.role,
                     agency_id=user.agency_id, language=user.language)


def set_language(ctx: Ctx, language: str) -> None:
    """A user's own choice of interface language (id or en); the consoles follow it on every device."""
    if language not in ("id", "en"):
        raise invalid("body.language", "id or en", "enum")
    user = ctx.db.get(User, ctx.actor.user_id)
    assert user is not None
    if user.language != language:
        ctx.audit("user.language", "user", user.id, {"from": user.language, "to": language})
        user.language = language


def set_alert_settings(ctx: Ctx, volume: int, muted: bool) -> User:
    """A user's own alert volume and mute; stored with the user, so every console they sit at follows it."""
    if not 0 <= volume <= 100:
        raise invalid("body.volume", "0-100", "greater_than_equal" if volume < 0 else "less_than_equal")
    user = ctx.db.get(User, ctx.actor.user_id)
    if user is None:
        raise Problem(404, "not_found")
    if (user.alert_volume, user.alert_muted) != (volume, muted):
        ctx.audit("user.alerts", "user", user.id, {"from": {"volume": user.alert_volume, "muted": user.alert_muted},
                                                   "to": {"volume": volume, "muted": muted}})
        user.alert_volume, user.alert_muted = volume, muted
    return user
