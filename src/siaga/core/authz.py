"""Roles and what each may do, as data. Every API route names one permission; the role × endpoint
matrix test reads this table, so a new route cannot go untested."""

from __future__ import annotations

from dataclasses import dataclass

from siaga.core.errors import Problem

CALL_TAKER = "call_taker"
DISPATCHER = "dispatcher"
SUPERVISOR = "supervisor"
AGENCY_OPERATOR = "agency_operator"
ADMIN = "admin"
TELEPHONY = "telephony"  # a machine client: the SIP edge or a PBX bridge, with an API token

ROLES = (CALL_TAKER, DISPATCHER, SUPERVISOR, AGENCY_OPERATOR, ADMIN, TELEPHONY)
HUMAN_ROLES = (CALL_TAKER, DISPATCHER, SUPERVISOR, AGENCY_OPERATOR, ADMIN)
# Roles not bound to one agency: they see the whole centre.
STAFF_ROLES = frozenset({CALL_TAKER, DISPATCHER, SUPERVISOR, ADMIN})

ROLE_LABELS = {
    CALL_TAKER: ("Operator 112", "Call-taker"),
    DISPATCHER: ("Dispatcher", "Dispatcher"),
    SUPERVISOR: ("Supervisor", "Supervisor"),
    AGENCY_OPERATOR: ("Operator OPD", "Agency operator"),
    ADMIN: ("Admin Diskominfotik", "Administrator"),
    TELEPHONY: ("Jembatan telepon", "Telephony bridge"),
}

_ALL_HUMANS = frozenset(HUMAN_ROLES)
_OPERATIONS = frozenset({CALL_TAKER, DISPATCHER, SUPERVISOR})

PERMISSIONS: dict[str, frozenset[str]] = {
    "reference.read": _ALL_HUMANS | {TELEPHONY},
    "reference.write": frozenset({ADMIN}),
    "users.read": frozenset({ADMIN, SUPERVISOR}),
    "users.write": frozenset({ADMIN}),
    "units.read": _ALL_HUMANS,
    "units.write": frozenset({ADMIN}),
    "units.status": frozenset({DISPATCHER, SUPERVISOR, AGENCY_OPERATOR}),
    "calls.read": frozenset({CALL_TAKER, DISPATCHER, SUPERVISOR, ADMIN}),
    "calls.write": _OPERATIONS,
    "call_events.ingest": frozenset({TELEPHONY, SUPERVISOR}),
    "incidents.read": _ALL_HUMANS,
    "incidents.create": _OPERATIONS,
    "incidents.update": _OPERATIONS,
    "incidents.status": frozenset({DISPATCHER, SUPERVISOR}),
    "incidents.note": _OPERATIONS | {AGENCY_OPERATOR},
    "assignments.create": frozenset({DISPATCHER, SUPERVISOR}),
    "assignments.update": frozenset({DISPATCHER, SUPERVISOR, AGENCY_OPERATOR}),
    "audit.read": frozenset({ADMIN, SUPERVISOR}),
    "events.read": _ALL_HUMANS,
    "stats.read": frozenset({CALL_TAKER, DISPATCHER, SUPERVISOR, ADMIN}),
    "reports.read": frozenset({DISPATCHER, SUPERVISOR, ADMIN}),
    "self.read": _ALL_HUMANS | {TELEPHONY},
    "self.write": _ALL_HUMANS,  # one's own settings: the consoles' alert volume and mute
    "self.totp": _ALL_HUMANS,  # one's own second factor: enrol, confirm, disable
    "measures.manage": frozenset({SUPERVISOR}),  # measures on a caller's number: proposed, decided, lifted
    "staffing.read": frozenset({SUPERVISOR, ADMIN}),
    # Full phone numbers outside the call-taker's own screen: shown masked, revealed one at a time, audited.
    "numbers.reveal": frozenset({CALL_TAKER, SUPERVISOR}),
    "risk.read": frozenset({CALL_TAKER, DISPATCHER, SUPERVISOR, ADMIN}),
    "aml.ingest": frozenset({TELEPHONY, SUPERVISOR}),  # AML fixes (ETSI TS 103 625) from the network
    "presence.set": frozenset({CALL_TAKER, SUPERVISOR}),  # one's own presence; a supervisor anyone's
    "telephony.read": frozenset({CALL_TAKER, DISPATCHER, SUPERVISOR, ADMIN}),
    # One's own line: read it and take its browser password (an agency operator's line is never in the queue).
    "line.use": frozenset({CALL_TAKER, SUPERVISOR, AGENCY_OPERATOR}),
    "telephony.manage": frozenset({SUPERVISOR, ADMIN}),  # extensions, SIP credentials
    # Quality review: the checklist's words (read by those who review, are reviewed or keep it), kept by admins;
    # supervisors review calls; a call-taker reads the feedback on their own calls. Never an agency's business.
    "qa.read": frozenset({CALL_TAKER, SUPERVISOR, ADMIN}),
    "qa.checklist": frozenset({ADMIN}),
    "qa.review": frozenset({SUPERVISOR}),
    "qa.feedback": frozenset({CALL_TAKER}),
    # Call recordings: heard by the centre's staff (never an agency operator), each playback audited; a copy
    # taken away (download, evidence ZIP) and the legal hold only by a supervisor.
    "recordings.play": frozenset({CALL_TAKER, DISPATCHER, SUPERVISOR, ADMIN}),
    "recordings.download": frozenset({SUPERVISOR}),
    "recordings.hold": frozenset({SUPERVISOR}),
}

# What a session that must first enrol a second factor may do: see who it is, and enrol.
ENROLMENT_PERMISSIONS = frozenset({"self.read", "self.totp"})


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    full_name: str
    role: str
    agency_id: int | None
    language: str = "id"
    via: str = "session"  # or "token"
    csrf_token: str = ""
    second_factor: bool = False  # the user has an authenticator (TOTP) enabled
    # A browser session of a role that must have a second factor, before its user enrolled one: it may only
    # enrol (core.http.authenticate decides, from SIAGA_TOTP_REQUIRED_ROLES).
    enrolment_only: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def label(self) -> str:
        return f"{self.username} ({self.role})"

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Problem(403, "forbidden")
        if self.enrolment_only and permission not in ENROLMENT_PERMISSIONS:
            raise Problem(403, "totp_enrolment_required")

    def may_see_agencies(self, agency_ids: list[int] | tuple[int, ...] | set[int]) -> bool:
        return self.is_staff or (self.agency_id is not None and self.agency_id in agency_ids)

    def require_agency(self, agency_id: int) -> None:
        """Agency operators act only for their own agency."""
        if self.role == AGENCY_OPERATOR and self.agency_id != agency_id:
            raise Problem(403, "forbidden")


SYSTEM = Principal(user_id=0, username="system", full_name="Sistem", role=ADMIN, agency_id=None, via="system")
