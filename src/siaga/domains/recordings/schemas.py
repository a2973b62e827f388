"""The one shape of a recording (API response and page row)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RecordingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: int | None
    state: str  # ready, unreadable, deleted — and, as read now: missing (the file is gone or altered)
    reason: str
    media_type: str
    size_bytes: int
    sha256: str
    duration_s: float
    started_at: datetime | None
    ended_at: datetime | None
    attached_at: datetime
    legal_hold: bool
    hold_reason: str
    hold_at: datetime | None
    deleted_at: datetime | None
    version: int
    recovered: bool = Field(default=False, description="finished by Siaga after rtpengine stopped mid-call: "
                            "playable, its last moments possibly missing")


class PeaksOut(BaseModel):
    duration_s: float
    caller: list[float]  # left channel
    operator: list[float]  # right channel


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hold: bool
    reason: str = Field(default="", max_length=500)
    version: int = Field(ge=1, le=2**31 - 1)

    @model_validator(mode="after")
    def _reason_for_hold(self) -> HoldIn:
        if self.hold and not self.reason.strip():
            raise ValueError("a legal hold needs its reason (e.g. the police request's number)")
        return self
