"""Reads: who is behind a session cookie or an API token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.core.security import digest, session_digest
from siaga.domains.users.models import ApiToken, User, UserSession

# Every request authenticates: one pre-built statement each (built and cache-keyed once), plain columns
# (no ORM objects to load), the validity checks in the WHERE clause.
_PRINCIPAL_COLUMNS = (User.id, User.username, User.full_name, User.role, User.agency_id, User.language)
_BY_SESSION = (select(*_PRINCIPAL_COLUMNS, UserSession.csrf_token).join(User, User.id == UserSession.user_id)
               .where(UserSession.id == bindparam("key"), UserSession.expires_at > bindparam("now"),
                      User.active.is_(True)))
_BY_TOKEN = (select(*_PRINCIPAL_COLUMNS).join(ApiToken, ApiToken.user_id == User.id)
             .where(ApiToken.token_hash == bindparam("key"), ApiToken.revoked_at.is_(None), User.active.is_(True)))


def _principal(row: Any, via: str, csrf: str = "") -> Principal:
    return Principal(user_id=row.id, username=row.username, full_name=row.full_name, role=row.role,
                     agency_id=row.agency_id, language=row.language, via=via, csrf_token=csrf)


def principal_for_session(db: Session, secret: str, cookie: str, now: datetime) -> Principal | None:
    """The user behind a browser session cookie, if the session is current and the user active."""
    row = db.execute(_BY_SESSION, {"key": session_digest(secret, cookie), "now": now}).first()
    return None if row is None else _principal(row, "session", row.csrf_token)


def principal_for_token(db: Session, token: str) -> Principal | None:
    """The user behind an API token, if the token is not revoked and the user active."""
    row = db.execute(_BY_TOKEN, {"key": digest(token)}).first()
    return None if row is None else _principal(row, "token")


def get_by_username(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username))
