"""A console's starting state and how events change it. The consoles (and the tests that prove
snapshot + events == fresh snapshot, kind by kind: tests/integration/test_event_guard.py) apply events with
exactly these rules. Callers' numbers are in the snapshot as the reader may see them
(domains/calls/privacy.py), as they are in the stream.

Two kinds of state:
- the live store every console keeps (incidents, units, calls): GET /snapshot serves it and siaga.js
  applies events to it with the same rules as `apply_event`;
- what single pages keep and read again when its events arrive (`pages_at`): an open incident's timeline
  (the incident and field pages), the operators' lines and the SIP edge (the telephony bar). The served
  snapshot leaves these out — every console would load every open incident's timeline on each reconnect —
  but the rules are here so the guard proves their events too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.core.i18n import SOURCE_LANGUAGE
from siaga.domains.calls import service as calls_service
from siaga.domains.calls.models import CALL_LIVE_STATUSES
from siaga.domains.calls.privacy import calls_for, incident_payload_for, timeline_for
from siaga.domains.incidents import service as incidents_service
from siaga.domains.incidents.models import INCIDENT_OPEN_STATUSES, TimelineEntry
from siaga.domains.incidents.schemas import TimelineOut
from siaga.domains.telephony import service as telephony_service
from siaga.domains.units import schemas as unit_schemas
from siaga.domains.units.service import visible_units
from siaga.events.kinds import EventKind
from siaga.events.models import LedgerHead

REFERENCE_KINDS: frozenset[EventKind] = frozenset({
    EventKind.AGENCY_CREATED, EventKind.AGENCY_UPDATED, EventKind.STATION_CREATED, EventKind.CATEGORY_CREATED,
    EventKind.LANDMARK_CREATED,
    EventKind.REFERENCE_LOADED, EventKind.ROADS_NETWORK_REPLACED, EventKind.REGIONS_BOUNDARIES_IMPORTED,
    EventKind.REGIONS_LANDMARKS_IMPORTED, EventKind.QUESTION_CHANGED,
})
"""Reference data, not live state: a page carries agencies, stations, categories, landmarks and regions in
its REF when it loads, and the road network is read on the server. These events change nothing a console
keeps from the snapshot: an open console takes the new data at its next page load (only the call-taker
form acts on one, question.changed: it reloads the open category's questions). The guard runs each of them
all the same and proves it leaves every console's snapshot as a fresh one finds it."""

# A line's registration expiry and row version move with every REGISTER refresh a phone sends (every few
# minutes), which is not announced: it would wake every console for nothing. The edge's heartbeat
# (last_seen_at, detail) is written on every ping and announced only when the edge goes up or down. The
# telephony bar reads these from GET /telephony/status; they are not part of what events keep up to date.
LINE_UNANNOUNCED = ("registered_until", "version")
EDGE_UNANNOUNCED = ("last_seen_at", "detail")


def take_snapshot(db: Session, who: Principal, *, pages_at: datetime | None = None) -> dict[str, Any]:
    """Call inside one consistent read (open_session(snapshot=True)): the last event id and the state
    it describes come from the same view of the database. `pages_at`: include what pages keep (timeline,
    lines, edge), a phone's registration judged at that time."""
    last = db.scalar(select(LedgerHead.last_event_id).where(LedgerHead.id == 1)) or 0
    incidents = incidents_service.visible_incidents(db, who, open_only=True, limit=100_000)
    snapshot: dict[str, Any] = {
        "last_event_id": last,
        "incidents": {str(i.id): incident_payload_for(who, i.model_dump(mode="json"))
                      for i in incidents_service.incidents_out(db, incidents)},
        "units": {str(u.id): unit_schemas.UnitOut.model_validate(u).model_dump(mode="json")
                  for u in visible_units(db, who)},
        "calls": {},
    }
    if who.can("calls.read"):
        live = calls_service.list_calls(db, live_only=True, caller_number=None, limit=100_000, offset=0)
        snapshot["calls"] = {str(c.id): c.model_dump(mode="json")
                             for c in calls_for(who, calls_service.calls_out(db, live))}
    if pages_at is not None:
        snapshot["timeline"] = read_timeline(db, who, [i.id for i in incidents])
        snapshot["lines"], snapshot["edge"] = {}, None
        if who.can("telephony.read"):
            snapshot["lines"] = {str(line.user_id): _line(line.model_dump(mode="json"))
                                 for line in telephony_service.lines(db, pages_at)}
            snapshot["edge"] = _edge(telephony_service.edge(db).model_dump(mode="json"))
    return snapshot


def read_timeline(db: Session, who: Principal, incident_ids: list[int]) -> dict[str, Any]:
    """These incidents' timeline entries as the stream carries them (Bahasa Indonesia, masked for this
    reader), by entry id: what a page reads when it shows an incident (GET /incidents/{id}/timeline)."""
    if not incident_ids:
        return {}
    entries = db.scalars(select(TimelineEntry).where(TimelineEntry.incident_id.in_(incident_ids))
                         .order_by(TimelineEntry.id))
    return {str(e.id): timeline_for(who, TimelineOut.of(e, SOURCE_LANGUAGE).model_dump(mode="json"))
            for e in entries}


def _line(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in LINE_UNANNOUNCED}


def _edge(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in EDGE_UNANNOUNCED}


def _incident_kept(payload: dict[str, Any], who: Principal) -> bool:
    if payload["status"] not in INCIDENT_OPEN_STATUSES:
        return False
    return who.is_staff or any(a["agency_id"] == who.agency_id for a in payload["assignments"])


def apply_event(snapshot: dict[str, Any], event: dict[str, Any], who: Principal) -> int | None:
    """Events carry the whole entity as it stands after the change: replace, or drop when it leaves
    the console's view (incident closed, call ended, unit deactivated). A timeline entry is kept while its
    incident is in view and leaves with it.

    Returns the id of an incident that came into view with this event (created, reopened, or assigned to
    this console's agency): its earlier timeline was never sent to this console, so a page showing it reads
    it (`read_timeline`), as the incident page does. A kind with no rule here and not named in
    REFERENCE_KINDS is refused: a console would silently keep a stale copy of whatever it changed."""
    entity, payload, key = event["entity"], event["payload"], str(event["entity_id"])
    entered = None
    if entity == "incident":
        keep = _incident_kept(payload, who)
        if keep and key not in snapshot["incidents"]:
            entered = event["entity_id"]
        _put(snapshot["incidents"], key, payload, keep)
        if not keep and "timeline" in snapshot:
            snapshot["timeline"] = {k: e for k, e in snapshot["timeline"].items() if str(e["incident_id"]) != key}
    elif entity == "unit":
        keep = payload["active"] and (who.is_staff or payload["agency_id"] == who.agency_id)
        _put(snapshot["units"], key, payload, keep)
    elif entity == "call":
        keep = payload["status"] in CALL_LIVE_STATUSES and who.can("calls.read")
        _put(snapshot["calls"], key, payload, keep)
    elif entity == "timeline":
        if "timeline" in snapshot:
            _put(snapshot["timeline"], key, payload, str(payload["incident_id"]) in snapshot["incidents"])
    elif entity == "operator_line":
        if "lines" in snapshot:
            _put(snapshot["lines"], key, _line(payload), who.can("telephony.read"))
    elif entity == "telephony_edge":
        if "edge" in snapshot and who.can("telephony.read"):
            snapshot["edge"] = _edge(payload)
    elif event["kind"] not in REFERENCE_KINDS:
        raise ValueError(f"no rule for {event['kind']} events (entity {entity}): give the kind one in "
                         "live/snapshot.py and static/js/siaga.js, or name it in REFERENCE_KINDS")
    snapshot["last_event_id"] = event["id"]
    return entered


def _put(table: dict[str, Any], key: str, payload: dict[str, Any], keep: bool) -> None:
    if keep:
        table[key] = payload
    else:
        table.pop(key, None)
