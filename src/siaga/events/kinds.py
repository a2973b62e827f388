"""Every kind of event the outbox emits. Browser consoles subscribe to exactly these (SSE delivers a named
event only to a listener for that name), so a kind missing here would be silently lost in every console:
`tests/unit/test_event_kinds.py` fails when the code emits a kind this list does not name."""

from __future__ import annotations

EVENT_KINDS: tuple[str, ...] = (
    "incident.created", "incident.updated", "incident.status_changed", "incident.assignment_added",
    "incident.assignment_changed", "incident.unit_assigned", "incident.escalated",
    "unit.created", "unit.status_changed",
    "call.created", "call.updated",
    "timeline.added",
    "agency.created", "station.created", "category.created", "landmark.created", "reference.loaded",
    "roads.network_replaced", "regions.boundaries_imported", "regions.landmarks_imported",
    "telephony.line", "telephony.edge",
    "question.changed",
)
