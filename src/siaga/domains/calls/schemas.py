"""API shapes for calls, their locations, and telephony call events."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from siaga.core.ids import Version
from siaga.core.safejson import safe_json
from siaga.core.strict import JsonDateTime, StrictModel
from siaga.domains.calls.numbers import tidy_typed_number, typed_number_problem

# Before a silent call may be recorded as ghost: asked for a key press or a tap, listened for background
# sounds, tried (or queued) a callback, checked for a location. A silent caller may be a victim.
GHOST_CHECKLIST = ("asked_key_press", "listened_background", "callback_tried", "location_checked")

CallOutcome = Literal["emergency", "information", "prank", "ghost", "abandoned", "missed_out_of_hours",
                      "wrong_number", "test"]
LocationSource = Literal["pidf_lo", "aml", "network", "operator", "caller"]
# missed: the telephony side could offer the call to nobody (no operator on duty) — recorded as
# missed_out_of_hours, and the number goes on the callback list.
CallEventType = Literal["offered", "ringing", "answered", "ended", "abandoned", "missed", "location"]


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
    shape: str = ""
    detail: dict[str, Any] = {}
    reference_uri: str = ""
    located_at: datetime | None = None


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
    checklist: dict[str, bool] = {}
    keys_pressed: str = Field(default="", description="the keys the caller pressed (RFC 4733), in order")
    simulated: bool = Field(default=False, description="made by `siaga simulate` (a drill); not in the figures")
    version: Version
    locations: list[CallLocationOut] = []
    measures: list[str] = Field(default=[], description="kinds of measures in force on this number "
                                "(flag, lower_priority, restriction) — information only; never a block")
    queue_penalty_s: int = Field(default=0, description="a lower_priority number waits behind newer calls "
                                 "for at most this many seconds (see domains/calls/queue.py)")


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
    shape: Literal["", "point", "circle", "ellipse", "arc_band", "polygon", "civic", "reference"] = ""
    detail: dict[str, Any] = Field(default={}, description="the shape's parameters or civic fields, as sent")
    reference_uri: str = Field(default="", max_length=500, description="location by reference, for later "
                               "dereference")
    located_at: AwareDatetime | None = Field(default=None, description="when the fix was taken")


class ManualLocationIn(StrictModel, LocationIn):
    """A location an operator records with a call (POST /calls): JSON types exactly, as every request body."""

    located_at: JsonDateTime | None = Field(default=None, description="when the fix was taken")


class CallCreate(StrictModel):
    """A call an operator records by hand (e.g. one that reached the centre another way)."""

    caller_number: str = Field(default="", max_length=40)
    called_number: str = Field(default="112", max_length=40)
    answered: bool = True
    location: ManualLocationIn | None = None

    @field_validator("caller_number")
    @classmethod
    def _tidy(cls, value: str) -> str:
        tidy = tidy_typed_number(value)
        why = typed_number_problem(tidy)
        if why:
            raise PydanticCustomError("phone_number", why)
        return tidy


class CallUpdate(StrictModel):
    version: Version
    outcome: CallOutcome | None = None
    notes: str | None = Field(default=None, max_length=5000)
    end: bool = Field(default=False, description="Hang up / finish the call now")
    checklist: dict[str, bool] | None = Field(
        default=None, max_length=8,
        description="silent-caller protocol: " + ", ".join(GHOST_CHECKLIST) + " — all required to record ghost")


class CallClaim(StrictModel):
    """Take a waiting call: `version` is the one you saw in the queue (taken even if the call changed since,
    as long as it still waits and nobody else has it)."""

    version: Version


# A reported position's numbers and the range each must fall in to be used.
_POSITION_RANGES = (("lat", -90.0, 90.0), ("lon", -180.0, 180.0), ("accuracy_m", 0.0, 1_000_000.0))
UNUSABLE_KEY = "unusable_values"  # where in `detail` a location keeps the numbers it could not use, as sent


def _usable_number(value: Any, low: float, high: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return False
    return math.isfinite(number) and low <= number <= high


def keep_unusable_position(loc: dict[str, Any]) -> dict[str, Any]:
    """A reported location (as sent, before validation) whose lat, lon or accuracy is no usable number (NaN,
    Infinity, out of range, too big, not a number) is kept, flagged invalid with the reason: the numbers go
    into `detail[UNUSABLE_KEY]` as sent (safe_json makes NaN its marker text), the fields become null. A
    `detail` that is not an object is kept under `detail.value`."""
    detail = loc.get("detail", {})
    if not isinstance(detail, dict):
        detail = {"value": detail}
        loc = {**loc, "detail": detail}
    bad = [name for name, low, high in _POSITION_RANGES
           if loc.get(name) is not None and not _usable_number(loc[name], low, high)]
    if not bad:
        return loc
    if "lat" in bad or "lon" in bad:  # half a position is none: both are kept aside
        bad = [name for name, _, _ in _POSITION_RANGES
               if name in bad or (name != "accuracy_m" and loc.get(name) is not None)]
    sent = {name: loc[name] for name in bad}
    reason = "unusable " + ", ".join(f"{name} ({safe_json(value)!s:.40})" for name, value in sent.items())
    earlier = loc.get("invalid_reason") if isinstance(loc.get("invalid_reason"), str) else ""
    return {**loc, **dict.fromkeys(bad), "valid": False,
            "invalid_reason": (f"{earlier}; {reason}" if earlier else reason)[:300],
            "detail": {**detail, UNUSABLE_KEY: sent}}


class CallEventIn(BaseModel):
    """One event from the telephony side. `event_id` makes it idempotent; `call_ref` ties events of one
    call together (e.g. the SIP Call-ID). Events are never refused for odd order or missing data: a
    location whose numbers are unusable is kept flagged (keep_unusable_position), and every string and
    free-form value is made storable on both databases (core.safejson: NaN/Infinity as marker text, NUL
    and lone surrogates as U+FFFD)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _never_refused_for_its_data(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("location"), dict):
            data["location"] = keep_unusable_position(data["location"])
        if isinstance(data.get("locations"), list):
            data["locations"] = [keep_unusable_position(loc) if isinstance(loc, dict) else loc
                                 for loc in data["locations"]]
        return {key: value if isinstance(value, BaseModel | datetime) else safe_json(value)
                for key, value in data.items()}

    event_id: str = Field(min_length=1, max_length=200)
    call_ref: str = Field(min_length=1, max_length=200)
    type: CallEventType
    at: AwareDatetime
    caller_number: str = Field(default="", max_length=40)
    called_number: str = Field(default="112", max_length=40)
    operator_username: str | None = Field(default=None, max_length=60)
    location: LocationIn | None = None
    locations: list[LocationIn] = Field(default=[], max_length=20, description="several fixes at once (e.g. every "
                                        "shape of a PIDF-LO); invalid ones are kept, flagged")
    simulated: bool = Field(default=False, description="a call made by `siaga simulate --live` (a drill): handled "
                            "like any other, left out of reports and KPIs; read on the call's first event only")


class CallEventResult(BaseModel):
    duplicate: bool
    call: CallOut
