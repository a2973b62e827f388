"""Every kind of event the outbox emits, as one typed enumeration. Browser consoles subscribe to exactly
these (SSE delivers a named event only to a listener for that name; web/ui.py hands EVENT_KINDS to
siaga.js as REF.event_kinds), so a kind missing here would be silently lost in every console: the outbox
refuses to emit anything that is not an EventKind, and live/snapshot.py gives every kind a rule (or names
it as reference data), which tests/integration/test_event_guard.py proves kind by kind."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    INCIDENT_CREATED = "incident.created"
    INCIDENT_UPDATED = "incident.updated"
    INCIDENT_STATUS_CHANGED = "incident.status_changed"
    INCIDENT_ASSIGNMENT_ADDED = "incident.assignment_added"
    INCIDENT_ASSIGNMENT_CHANGED = "incident.assignment_changed"
    INCIDENT_UNIT_ASSIGNED = "incident.unit_assigned"
    INCIDENT_ESCALATED = "incident.escalated"
    UNIT_CREATED = "unit.created"
    UNIT_STATUS_CHANGED = "unit.status_changed"
    CALL_CREATED = "call.created"
    CALL_UPDATED = "call.updated"
    TIMELINE_ADDED = "timeline.added"
    AGENCY_CREATED = "agency.created"
    AGENCY_UPDATED = "agency.updated"
    STATION_CREATED = "station.created"
    CATEGORY_CREATED = "category.created"
    LANDMARK_CREATED = "landmark.created"
    REFERENCE_LOADED = "reference.loaded"
    ROADS_NETWORK_REPLACED = "roads.network_replaced"
    REGIONS_BOUNDARIES_IMPORTED = "regions.boundaries_imported"
    REGIONS_LANDMARKS_IMPORTED = "regions.landmarks_imported"
    TELEPHONY_LINE = "telephony.line"
    TELEPHONY_EDGE = "telephony.edge"
    QUESTION_CHANGED = "question.changed"


# What the consoles subscribe to (the SSE event names), in the enumeration's order.
EVENT_KINDS: tuple[str, ...] = tuple(kind.value for kind in EventKind)
