"""The only writers of users, sessions and tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from siaga.core import totp
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
from siaga.domains.users.models import ApiToken, LoginAttempt, RecoveryCode, User, UserSession, UserTotp
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


def login(ctx: Ctx, data: schemas.LoginIn, ip: str) -> tuple[str, UserSession, User] | SecondFactorNeeded:
    """Check the password, throttled so that an attack slows what it attacks and nobody else.

    Failures are counted across every app process (the database is the shared memory) three ways:
    - one username from one address: `login_max_failures` in the window, then that pair is refused;
    - one username from every address together: four times as many, then that username is refused;
    - unknown usernames from one address ("anonymous" failures): four times as many, then a wrong username or
      password from that address is answered 429 — yet a colleague behind the same NAT or proxy who types
      the right password still gets in.
    A username is kept only as a keyed digest: a password typed into the username field is never stored.
    Known and unknown usernames are treated alike before the password is checked, so the answers do not tell
    which usernames exist.

    A user with an authenticator enabled gets no session for the password alone: a short-lived signed ticket
    instead, which `login_second_factor` takes with a code."""
    now = ctx.now()
    settings = ctx.settings
    db = ctx.db
    key = username_key(settings.resolved_secret_key(), data.username)
    ip = ip[:64]
    anonymous = _throttle(ctx, key, ip)
    user = get_by_username(db, data.username)
    if user is None:
        burn_password_check(data.password)
        ok = False
    else:
        ok = user.active and verify_password(user.password_hash, data.password)
    if not ok:
        _count_failure(ctx, user, key, ip)
        # The failed attempt must be stored even though the request fails: commit it, then refuse.
        limit = settings.login_max_failures
        raise LoginFailed(_throttled(settings.login_window_seconds) if anonymous >= limit * 4 else None)
    assert user is not None
    if enabled_totp(db, user.id) is not None:
        return SecondFactorNeeded(ticket=totp.make_ticket(settings.resolved_secret_key(), user.id, now),
                                  expires_at=now + timedelta(seconds=totp.TICKET_SECONDS))
    return _open_session(ctx, user, ip, {})


def login_second_factor(ctx: Ctx, data: schemas.LoginCodeIn, ip: str) -> tuple[str, UserSession, User]:
    """The second step of signing in: the ticket of a correct password and a code from the authenticator app (or
    one of the recovery codes). A wrong code is a failed sign-in like a wrong password: counted by the same
    throttle (so codes cannot be guessed faster than passwords) and audited. A code is accepted once only."""
    secret_key = ctx.settings.resolved_secret_key()
    user_id = totp.read_ticket(secret_key, data.ticket, ctx.now())
    user = ctx.db.get(User, user_id) if user_id is not None else None
    row = enabled_totp(ctx.db, user.id) if user is not None and user.active else None
    if user is None or row is None:
        raise Problem(401, "login_ticket_expired")
    ip = ip[:64]
    key = username_key(secret_key, user.username)
    _throttle(ctx, key, ip)
    factor = _check_code(ctx, user, row, data.code)
    if factor is None:
        _count_failure(ctx, user, key, ip, {"factor": "totp"})
        raise LoginFailed(None)
    return _open_session(ctx, user, ip, factor)


@dataclass(frozen=True)
class SecondFactorNeeded:
    """The password was right; a code is needed before a session opens."""

    ticket: str
    expires_at: datetime


def _throttle(ctx: Ctx, key: str, ip: str) -> int:
    """Refuse (429) a username whose failures reached the limit, from this address or from all; else the count
    of failures on unknown usernames from this address."""
    settings = ctx.settings
    window_start = ctx.now() - timedelta(seconds=settings.login_window_seconds)
    db = ctx.db
    db.execute(delete(LoginAttempt).where(LoginAttempt.at < window_start))
    recent = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= window_start)
    limit = settings.login_max_failures
    by_pair = db.scalar(recent.where(LoginAttempt.username == key, LoginAttempt.ip == ip)) or 0
    by_name = db.scalar(recent.where(LoginAttempt.username == key)) or 0
    if by_pair >= limit or by_name >= limit * 4:
        raise _throttled(settings.login_window_seconds)
    return db.scalar(recent.where(LoginAttempt.ip == ip, LoginAttempt.known.is_(False))) or 0


def _count_failure(ctx: Ctx, user: User | None, key: str, ip: str, extra: dict[str, Any] | None = None) -> None:
    ctx.db.add(LoginAttempt(username=key, ip=ip, at=ctx.now(), known=user is not None))
    # The username is recorded only when it is someone's: an unknown one may be a mistyped password.
    detail = {"username": user.username} if user else {"username_digest": key[:16]}
    ctx.audit("user.login_failed", "user", user.id if user else None, {**detail, "ip": ip, **(extra or {})})


def _open_session(ctx: Ctx, user: User, ip: str, detail: dict[str, Any]) -> tuple[str, UserSession, User]:
    now = ctx.now()
    settings = ctx.settings
    token = new_session_token()
    session_id = session_digest(settings.resolved_secret_key(), token)
    sess = UserSession(id=session_id, user_id=user.id, csrf_token=secrets.token_urlsafe(24),
                       created_at=now, expires_at=now + timedelta(hours=settings.session_hours), ip=ip)
    ctx.db.add(sess)
    ctx.audit("user.login", "user", user.id, {"ip": ip, **detail})
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


# Two-factor sign-in (TOTP): enrolment by the user, disabling where the role allows it, reset by an admin.

def enabled_totp(db: Session, user_id: int) -> UserTotp | None:
    return db.scalar(select(UserTotp).where(UserTotp.user_id == user_id, UserTotp.enabled_at.is_not(None)))


def totp_status(ctx: Ctx) -> schemas.TotpStatus:
    row = ctx.db.get(UserTotp, ctx.actor.user_id)
    left = ctx.db.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == ctx.actor.user_id, RecoveryCode.used_at.is_(None))) or 0
    enabled = row is not None and row.enabled_at is not None
    return schemas.TotpStatus(enabled=enabled, enabled_at=row.enabled_at if row else None,
                              pending=row is not None and not enabled,
                              required=ctx.actor.role in ctx.settings.totp_roles(),
                              recovery_codes_left=left if enabled else 0)


def start_totp_enrolment(ctx: Ctx) -> schemas.TotpEnrolment:
    """A new secret for the signed-in user, pending until a code from it is confirmed. Starting again replaces a
    pending one; an enabled authenticator must be disabled (or reset by an admin) first."""
    user = _me(ctx)
    row = ctx.db.get(UserTotp, user.id)
    if row is not None and row.enabled_at is not None:
        raise Problem(409, "totp_already_enabled")
    secret = totp.new_secret()
    sealed = totp.seal(ctx.settings.resolved_secret_key(), user.id, secret)
    if row is None:
        ctx.db.add(UserTotp(user_id=user.id, secret_sealed=sealed, created_at=ctx.now(), last_step=0))
    else:
        row.secret_sealed, row.created_at, row.last_step = sealed, ctx.now(), 0
    ctx.audit("user.totp_enrolment_started", "user", user.id, {})
    return enrolment_view(ctx, user, secret)


def pending_enrolment(ctx: Ctx) -> schemas.TotpEnrolment | None:
    """The enrolment the signed-in user started and has not confirmed yet (the console shows its QR code again
    after a mistyped code), or None."""
    user = _me(ctx)
    row = ctx.db.get(UserTotp, user.id)
    if row is None or row.enabled_at is not None:
        return None
    secret = totp.unseal(ctx.settings.resolved_secret_key(), user.id, row.secret_sealed)
    return enrolment_view(ctx, user, secret) if secret else None


def enrolment_view(ctx: Ctx, user: User, secret: str) -> schemas.TotpEnrolment:
    uri = totp.provisioning_uri(secret, user.username)
    return schemas.TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


def confirm_totp(ctx: Ctx, code: str) -> list[str]:
    """Enable the pending authenticator with a code from it; returns the new recovery codes, shown this once
    (only their keyed digests are kept)."""
    user = _me(ctx)
    row = ctx.db.get(UserTotp, user.id)
    if row is None:
        raise Problem(409, "totp_not_started")
    if row.enabled_at is not None:
        raise Problem(409, "totp_already_enabled")
    secret = totp.unseal(ctx.settings.resolved_secret_key(), user.id, row.secret_sealed)
    step = totp.matching_step(secret, code, ctx.now(), row.last_step) if secret else None
    if step is None:
        raise Problem(422, "totp_code_wrong")
    row.enabled_at, row.last_step = ctx.now(), step
    codes = _new_recovery_codes(ctx, user)
    ctx.audit("user.totp_enabled", "user", user.id, {"recovery_codes": len(codes)})
    return codes


def disable_totp(ctx: Ctx, code: str, ip: str) -> bool:
    """Turn the signed-in user's own authenticator off, with a current code (or a recovery code), where their role
    does not require one. A wrong code counts as a failed sign-in (a stolen session cannot guess its way to
    turning the second factor off) and False is returned: the route commits that, then refuses."""
    user = _me(ctx)
    if user.role in ctx.settings.totp_roles():
        raise Problem(403, "totp_required_by_role")
    row = enabled_totp(ctx.db, user.id)
    if row is None:
        raise Problem(409, "totp_not_enabled")
    key = username_key(ctx.settings.resolved_secret_key(), user.username)
    _throttle(ctx, key, ip[:64])
    if _check_code(ctx, user, row, code) is None:
        _count_failure(ctx, user, key, ip[:64], {"factor": "totp", "to": "disable"})
        return False
    _remove_totp(ctx, user)
    ctx.audit("user.totp_disabled", "user", user.id, {})
    return True


def reset_totp(ctx: Ctx, user: User) -> int:
    """An administrator's reset of a user's second factor (a lost phone and no recovery code): the authenticator and
    recovery codes go, the user's sessions end, and it is audited. Returns the sessions ended. The user enrols again
    at their next sign-in where their role requires it."""
    had = ctx.db.get(UserTotp, user.id) is not None
    _remove_totp(ctx, user)
    ended = ctx.db.execute(delete(UserSession).where(UserSession.user_id == user.id)).rowcount or 0
    ctx.audit("user.totp_reset", "user", user.id, {"username": user.username, "had_totp": had,
                                                  "sessions_ended": ended})
    return ended


def _remove_totp(ctx: Ctx, user: User) -> None:
    ctx.db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    ctx.db.execute(delete(UserTotp).where(UserTotp.user_id == user.id))


def _new_recovery_codes(ctx: Ctx, user: User) -> list[str]:
    ctx.db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    secret_key = ctx.settings.resolved_secret_key()
    for code in codes:
        ctx.db.add(RecoveryCode(user_id=user.id, digest=totp.recovery_digest(secret_key, user.id, code),
                                created_at=ctx.now()))
    return codes


def _check_code(ctx: Ctx, user: User, row: UserTotp, code: str) -> dict[str, Any] | None:
    """Whether `code` is the user's current authenticator code or an unused recovery code; the one accepted is used
    up in the same statement that checks it (a compare-and-set), so two requests racing with one code cannot both
    win. Returns what the audit says of it, or None."""
    if totp.looks_like_recovery_code(code):
        digest_ = totp.recovery_digest(ctx.settings.resolved_secret_key(), user.id, code)
        used = ctx.db.execute(update(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.digest == digest_, RecoveryCode.used_at.is_(None))
            .values(used_at=ctx.now())).rowcount
        if not used:
            return None
        left = ctx.db.scalar(select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0
        return {"second_factor": "recovery_code", "recovery_codes_left": left}
    secret = totp.unseal(ctx.settings.resolved_secret_key(), user.id, row.secret_sealed)
    step = totp.matching_step(secret, code, ctx.now(), row.last_step) if secret else None
    if step is None:
        return None
    claimed = ctx.db.execute(update(UserTotp).where(UserTotp.user_id == user.id, UserTotp.last_step < step)
                             .values(last_step=step).execution_options(synchronize_session=False)).rowcount
    if not claimed:
        return None
    ctx.db.expire(row)
    return {"second_factor": "totp"}


def _me(ctx: Ctx) -> User:
    user = ctx.db.get(User, ctx.actor.user_id)
    if user is None:
        raise Problem(404, "not_found")
    return user
