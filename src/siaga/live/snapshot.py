"""A console's starting state and how events change it. The consoles (and the test that proves
snapshot + events == fresh snapshot) apply events with exactly these rules. Callers' numbers are in the
snapshot as the reader may see them (domains/calls/privacy.py), as they are in the stream."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.domains.calls import service as calls_service
from siaga.domains.calls.models import CALL_LIVE_STATUSES
from siaga.domains.calls.privacy import calls_for
from siaga.domains.incidents import service as incidents_service
from siaga.domains.incidents.models import INCIDENT_OPEN_STATUSES
from siaga.domains.units import schemas as unit_schemas
from siaga.domains.units.service import visible_units
from siaga.events.models import LedgerHead


def take_snapshot(db: Session, who: Principal) -> dict[str, Any]:
    """Call inside one consistent read (open_session(snapshot=True)): the last event id and the state
    it describes come from the same view of the database."""
    last = db.scalar(select(LedgerHead.last_event_id).where(LedgerHead.id == 1)) or 0
    incidents = incidents_service.visible_incidents(db, who, open_only=True, limit=100_000)
    snapshot: dict[str, Any] = {
        "last_event_id": last,
        "incidents": {str(i.id): i.model_dump(mode="json")
                      for i in incidents_service.incidents_out(db, incidents)},
        "units": {str(u.id): unit_schemas.UnitOut.model_validate(u).model_dump(mode="json")
                  for u in visible_units(db, who)},
        "calls": {},
    }
    if who.can("calls.read"):
        live = calls_service.list_calls(db, live_only=True, caller_number=None, limit=100_000, offset=0)
        snapshot["calls"] = {str(c.id): c.model_dump(mode="json")
                             for c in calls_for(who, calls_service.calls_out(db, live))}
    return snapshot


def _incident_kept(payload: dict[str, Any], who: Principal) -> bool:
    if payload["status"] not in INCIDENT_OPEN_STATUSES:
        return False
    return who.is_staff or any(a["agency_id"] == who.agency_id for a in payload["assignments"])


def apply_event(snapshot: dict[str, Any], event: dict[str, Any], who: Principal) -> None:
    """Events carry the whole entity as it stands after the change: replace, or drop when it leaves
    the console's view (incident closed, call ended, unit deactivated)."""
    entity, payload, key = event["entity"], event["payload"], str(event["entity_id"])
    if entity == "incident":
        keep = _incident_kept(payload, who)
        table = snapshot["incidents"]
    elif entity == "unit":
        keep = payload["active"] and (who.is_staff or payload["agency_id"] == who.agency_id)
        table = snapshot["units"]
    elif entity == "call":
        keep = payload["status"] in CALL_LIVE_STATUSES and who.can("calls.read")
        table = snapshot["calls"]
    else:
        snapshot["last_event_id"] = event["id"]
        return
    if keep:
        table[key] = payload
    else:
        table.pop(key, None)
    snapshot["last_event_id"] = event["id"]
