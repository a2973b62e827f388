"""Reads: who is behind a session cookie or an API token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.core.security import digest, session_digest
from siaga.domains.users.models import ApiToken, User, UserSession


def _principal(user: User, via: str, csrf: str = "") -> Principal:
    return Principal(user_id=user.id, username=user.username, full_name=user.full_name, role=user.role,
                     agency_id=user.agency_id, language=user.language, via=via, csrf_token=csrf)


def principal_for_session(db: Session, secret: str, cookie: str, now: datetime) -> Principal | None:
    row = db.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.id == session_digest(secret, cookie))
    ).first()
    if row is None:
        return None
    sess, user = row
    if sess.expires_at <= now or not user.active:
        return None
    return _principal(user, "session", sess.csrf_token)


def principal_for_token(db: Session, token: str) -> Principal | None:
    row = db.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    tok, user = row
    if tok.revoked_at is not None or not user.active:
        return None
    return _principal(user, "token")


def get_by_username(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username))
