"""API shapes for users, login and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siaga.core.authz import ROLES
from siaga.core.ids import DbId, Version
from siaga.core.strict import StrictModel

Username = Field(min_length=2, max_length=60, pattern=r"^[a-z0-9][a-z0-9._-]*$")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: str
    agency_id: int | None
    language: str
    active: bool
    version: Version


class UserCreate(StrictModel):
    username: str = Username
    full_name: str = Field(min_length=1, max_length=120)
    role: str = Field(json_schema_extra={"enum": list(ROLES)})
    agency_id: DbId | None = None
    language: str = Field(default="id", pattern="^(id|en)$")
    password: str | None = Field(default=None, min_length=12, max_length=200,
                                 description="Leave empty to have a one-time password generated")


class UserCreated(UserOut):
    one_time_password: str | None = None


class AlertSettings(StrictModel):
    """A user's console alerts: the volume of the sounds (0-100) and whether they are muted."""

    model_config = ConfigDict(from_attributes=True)

    volume: int = Field(ge=0, le=100)
    muted: bool


class LoginIn(StrictModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str
    expires_at: datetime


class TokenCreate(StrictModel):
    user_id: DbId
    name: str = Field(min_length=1, max_length=80)


class TokenCreated(BaseModel):
    id: int
    user_id: DbId
    name: str
    prefix: str
    token: str = Field(description="Shown once; only its digest is stored")


class MeOut(UserOut):
    csrf_token: str | None = None


class LoginChallengeOut(BaseModel):
    """The password was right and the user signs in with a second factor: send the ticket with a code to
    /auth/login/totp before it expires."""

    second_factor: str = Field(default="totp", json_schema_extra={"enum": ["totp"]})
    ticket: str
    expires_at: datetime


class LoginCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=6, max_length=20, description="the 6 digits of the authenticator app, or one of "
                      "the recovery codes")


class TotpCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=6, max_length=20)


class TotpStatus(BaseModel):
    enabled: bool
    enabled_at: datetime | None
    pending: bool = Field(description="an enrolment was started and not confirmed yet")
    required: bool = Field(description="the user's role must sign in with a second factor")
    recovery_codes_left: int


class TotpEnrolment(BaseModel):
    secret: str = Field(description="base32, for typing into an app that cannot scan the QR code")
    otpauth_uri: str
    qr_svg: str = Field(description="the otpauth URI as a QR code, inline SVG")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once instead of a code")
