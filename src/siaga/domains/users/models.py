"""Users and their credentials: browser sessions and API tokens are stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, UTCDateTime


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(30))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="id")
    # How loud the console's alerts are (0-100) and whether they are muted: kept here, not in the browser,
    # so an operator's choice follows them to another desk.
    alert_volume: Mapped[int] = mapped_column(Integer, default=70, server_default="70")
    alert_muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class UserSession(Base):
    __tablename__ = "user_session"

    # sha256 of the cookie value: a stolen database does not yield live sessions.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    # Moved by the browser's open event stream (at most every ~30 s): who is at a console now.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """Failed logins, counted across every app process (the database is the shared memory). The username is
    kept as a keyed digest (`actions.username_key`), never as typed."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Whether the username belonged to a user: failures on unknown ones are counted per address.
    known: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class UserTotp(Base):
    """A user's authenticator (TOTP). The secret is sealed (`core.totp.seal`, keyed from SIAGA_SECRET_KEY); until
    `enabled_at` is set the enrolment is pending and the secret signs nobody in."""

    __tablename__ = "user_totp"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    secret_sealed: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The time step of the last code accepted: that code, and any older one, is refused (no replay).
    last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class RecoveryCode(Base):
    """One recovery code, as a keyed digest (`core.totp.recovery_digest`); used once, then `used_at` is set."""

    __tablename__ = "user_recovery_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
