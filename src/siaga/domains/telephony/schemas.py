"""API shapes for operator lines, presence, the queue and the edge's health."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from siaga.core.ids import DbId
from siaga.core.strict import StrictModel

PresenceState = Literal["available", "break", "offline"]


class LineOut(BaseModel):
    user_id: int
    username: str
    full_name: str
    extension: str
    presence: str
    presence_since: datetime
    busy: bool = Field(description="a call is ringing or connected at this phone")
    current_call_id: int | None
    registered: bool
    registered_until: datetime | None
    idle_since: datetime | None
    version: int
    device: str = Field(default="phone", description="phone: a desk phone or softphone; browser: the console's "
                        "own line (SIP over WebSocket)")
    queue: bool = Field(default=True, description="a call-taker's or supervisor's line, rung for 112 calls; false: an "
                        "agency operator's line, only ever called by a call-taker joining the agency")


class LineIn(StrictModel):
    extension: str = Field(pattern=r"^[0-9]{2,8}$", description="the number the phone registers as, e.g. 1001")
    password: str = Field(min_length=8, max_length=128, description="the phone's SIP password; only its digest "
                          "(HA1) is stored")


LineDevice = Literal["phone", "browser"]


class DeviceIn(StrictModel):
    device: LineDevice = Field(description="phone: calls ring the desk phone; browser: the console answers them")


class BrowserCredentialOut(BaseModel):
    """A browser line's SIP account for this console session: the password is made now, shown once, and only
    its digest is kept (a later request replaces it)."""

    extension: str
    password: str
    domain: str
    ws_url: str = Field(description="where the console's SIP goes (wss://… or, on one host, ws://…)")
    expires_s: int = Field(description="how long the browser's registration lasts before it is renewed")


class PresenceIn(StrictModel):
    state: PresenceState
    user_id: int | None = Field(default=None, ge=1, le=2**53, description="someone else's (supervisors only); "
                                "default: mine")


class WaitingCallOut(BaseModel):
    call_id: int
    caller_number: str
    offered_at: datetime
    wait_s: float
    ringing_user_id: int | None
    queue_penalty_s: int


class EdgeOut(BaseModel):
    state: str = Field(description="up: the bridge is connected to the SIP edge; down; unknown: never seen")
    since: datetime | None
    last_seen_at: datetime | None
    detail: dict[str, object] = {}


class TelephonyStatus(BaseModel):
    edge: EdgeOut
    lines: list[LineOut]
    queue: list[WaitingCallOut]
    on_duty: int = Field(description="lines whose operator is available or on a call")


# --- joining an agency to a caller (issue 17) ------------------------------------------------------------
AgencyCallKind = Literal["conference", "blind_transfer", "attended_transfer"]
AgencyCallStep = Literal["conference_started", "operator_left"]


class AgencyCallIn(StrictModel):
    agency_id: DbId
    kind: AgencyCallKind = Field(default="conference", description="conference: your line calls the agency and "
                                 "your phone joins the three; blind_transfer / attended_transfer: your phone asks "
                                 "the trunk (REFER) to connect the caller to the agency")
    target: Literal["auto", "number", "line"] = Field(
        default="auto", description="what your line dials: number (the agency's desk number, through the trunk "
        "gateway), line (an agency operator's own line), auto (the number when it can be dialled, else a line)")


class AgencyCallStepIn(StrictModel):
    step: AgencyCallStep = Field(description="conference_started: the phone (or browser) now mixes the caller "
                                 "and the agency; operator_left: the call-taker left them talking")


class AgencyLineOut(BaseModel):
    extension: str
    full_name: str
    registered: bool


class AgencyCallOut(BaseModel):
    id: int
    call_id: int | None
    incident_id: int | None
    agency_id: int | None
    agency_name: str
    extension: str = Field(description="the operator's line")
    target: str = Field(description="the number or extension dialled")
    target_kind: str
    kind: str
    state: str
    result: str
    use_conference: bool = Field(description="the trunk refused the transfer (REFER): conference the agency in")
    requested_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    dial: str = Field(default="", description="what the operator's phone dials (the agency's number)")
    dial_uri: str = Field(default="", description="the same as a SIP URI at the edge (for a browser line)")
    lines: list[AgencyLineOut] = Field(default_factory=list, description="the agency operators' own lines")
