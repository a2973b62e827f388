"""API shapes for AML intake."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from siaga.domains.calls.schemas import CallOut


class AmlSmsIn(BaseModel):
    """An AML SMS as an SMS gateway hands it over: who sent it, and the text or the data-SMS payload."""

    model_config = ConfigDict(extra="forbid")

    sender: str = Field(default="", max_length=40, description="the originating number (MSISDN) of the SMS; "
                        "the AML text itself carries no caller number")
    message: str = Field(min_length=1, max_length=3200, description='the SMS text (A"ML=1;…) or the data SMS '
                         "user data (GSM 7-bit packed) in hex or base64")
    encoding: Literal["auto", "text", "hex", "base64"] = Field(
        default="auto", description="how `message` is given; auto tells text from hex/base64 by its content")


class AmlFixOut(BaseModel):
    """The AML message as read (device identifiers are kept out of API answers and events)."""

    kind: str = Field(description="sms_v1, sms_v2 or https")
    version: str
    caller_number: str
    emergency_number: str
    lat: float | None
    lon: float | None
    radius_m: float | None
    located_at: datetime | None
    method: str = Field(description="gnss, wifi, cell, fused, unknown, none (pm=N) — '' when not sent")
    confidence: float | None
    length_ok: bool | None = Field(description="v1 SMS: the ml length field matches; null where there is none")
    authenticated: bool | None = Field(description="HTTPS: HMAC checked and good; null when no key is configured")
    no_location: bool
    valid: bool
    invalid_reason: str


class AmlIngestOut(BaseModel):
    attached: bool = Field(description="the fix is now a location of `call_id`")
    duplicate: bool = Field(default=False, description="the same fix was already attached to that call; "
                            "nothing changed")
    call_id: int | None = None
    call: CallOut | None = None
    fix: AmlFixOut
    note: str = Field(default="", description="why the fix was not attached (no call from that number yet: it "
                      "is kept in the audit log and attached when the call arrives)")
