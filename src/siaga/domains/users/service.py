"""Reads: who is behind a session cookie or an API token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.core.security import digest, session_digest
from siaga.domains.users.models import ApiToken, User, UserSession, UserTotp

# Every request authenticates: one pre-built Core statement each (built and cache-keyed once), run on the
# session's connection (no ORM compile or loading), plain columns, the validity checks in the WHERE clause.
_USER, _TOKEN, _SESSION, _TOTP = User.__table__, ApiToken.__table__, UserSession.__table__, UserTotp.__table__
_PRINCIPAL_COLUMNS = (_USER.c.id, _USER.c.username, _USER.c.full_name, _USER.c.role, _USER.c.agency_id,
                      _USER.c.language)
_BY_SESSION = (select(*_PRINCIPAL_COLUMNS, _SESSION.c.csrf_token, _TOTP.c.enabled_at)
               .join(_USER, _USER.c.id == _SESSION.c.user_id).outerjoin(_TOTP, _TOTP.c.user_id == _USER.c.id)
               .where(_SESSION.c.id == bindparam("key"), _SESSION.c.expires_at > bindparam("now"),
                      _USER.c.active.is_(True)))
_BY_TOKEN = (select(*_PRINCIPAL_COLUMNS).join(_TOKEN, _TOKEN.c.user_id == _USER.c.id)
             .where(_TOKEN.c.token_hash == bindparam("key"), _TOKEN.c.revoked_at.is_(None), _USER.c.active.is_(True)))


def _principal(row: Any, via: str, csrf: str = "", second_factor: bool = False) -> Principal:
    return Principal(user_id=row.id, username=row.username, full_name=row.full_name, role=row.role,
                     agency_id=row.agency_id, language=row.language, via=via, csrf_token=csrf,
                     second_factor=second_factor)


def principal_for_session(db: Session, secret: str, cookie: str, now: datetime) -> Principal | None:
    """The user behind a browser session cookie, if the session is current and the user active."""
    row = db.connection().execute(_BY_SESSION, {"key": session_digest(secret, cookie), "now": now}).first()
    return None if row is None else _principal(row, "session", row.csrf_token, row.enabled_at is not None)


def principal_for_token(db: Session, token: str) -> Principal | None:
    """The user behind an API token, if the token is not revoked and the user active."""
    row = db.connection().execute(_BY_TOKEN, {"key": digest(token)}).first()
    return None if row is None else _principal(row, "token")


def get_by_username(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username))
