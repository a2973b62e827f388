"""API shapes for calls, their locations, and telephony call events."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from siaga.core.ids import Version

CallOutcome = Literal["emergency", "information", "prank", "ghost", "abandoned", "missed_out_of_hours",
                      "wrong_number", "test"]
LocationSource = Literal["pidf_lo", "aml", "network", "operator", "caller"]
CallEventType = Literal["offered", "ringing", "answered", "ended", "abandoned", "location"]


class CallLocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    kode_wilayah: str | None
    address_text: str
    received_at: datetime
    valid: bool
    invalid_reason: str


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_ref: str | None
    caller_number: str
    called_number: str
    status: str
    offered_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    operator_id: int | None
    outcome: str | None
    incident_id: int | None
    notes: str
    version: Version
    locations: list[CallLocationOut] = []


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: LocationSource = "network"
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=1_000_000)
    kode_wilayah: str | None = Field(default=None, max_length=13)
    address_text: str = Field(default="", max_length=1000)
    valid: bool = True
    invalid_reason: str = Field(default="", max_length=300)


class CallCreate(BaseModel):
    """A call an operator records by hand (e.g. one that reached the centre another way)."""

    model_config = ConfigDict(extra="forbid")

    caller_number: str = Field(default="", max_length=40)
    called_number: str = Field(default="112", max_length=40)
    answered: bool = True
    location: LocationIn | None = None


class CallUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Version
    outcome: CallOutcome | None = None
    notes: str | None = Field(default=None, max_length=5000)
    end: bool = Field(default=False, description="Hang up / finish the call now")


class CallEventIn(BaseModel):
    """One event from the telephony side. `event_id` makes it idempotent; `call_ref` ties events of one
    call together (e.g. the SIP Call-ID). Events are never refused for odd order or missing data."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200)
    call_ref: str = Field(min_length=1, max_length=200)
    type: CallEventType
    at: AwareDatetime
    caller_number: str = Field(default="", max_length=40)
    called_number: str = Field(default="112", max_length=40)
    operator_username: str | None = Field(default=None, max_length=60)
    location: LocationIn | None = None


class CallEventResult(BaseModel):
    duplicate: bool
    call: CallOut
