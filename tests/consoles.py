"""A console as the event tests model it: the snapshot it loads, and what it does with each event the
stream sends it — filtered to its audience, masked, and decoded from the SSE text it actually receives.
Shared by the guard (test_event_guard.py) and the property test (test_snapshot_consistency.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from siaga.core.authz import Principal
from siaga.db.engine import open_session
from siaga.domains.calls.privacy import event_for
from siaga.events.kinds import EVENT_KINDS
from siaga.live.snapshot import apply_event, read_timeline, take_snapshot
from siaga.live.stream import visible


def snapshot_as(engine: Engine, who: Principal, at: datetime) -> dict[str, Any]:
    """A fresh snapshot, with what pages keep (timeline, lines, edge), as GET /snapshot reads it."""
    with open_session(engine, write=False, snapshot=True) as db, db.begin():
        return take_snapshot(db, who, pages_at=at)


def received(who: Principal, event: dict[str, Any]) -> dict[str, Any] | None:
    """The event as this console's EventSource hands it over, or None when the stream does not send it.
    The SSE event name must be one the console listens for (EVENT_KINDS), else the browser drops it."""
    if not visible(who, event):
        return None
    lines = event_for(who, event)["sse"].strip("\n").split("\n")
    fields = dict(line.split(": ", 1) for line in lines)
    assert fields["event"] in EVENT_KINDS, f"{fields['event']} would reach no console"
    data = json.loads(fields["data"])
    assert data["kind"] == fields["event"] and data["id"] == int(fields["id"])
    return data


def follow(engine: Engine, state: dict[str, Any], events: list[dict[str, Any]], who: Principal) -> dict[str, Any]:
    """Apply to `state` (in place) the events this console is sent, after the ones it has seen. An incident
    that comes into view brings the history the console was never sent: it reads it as it stood then (the
    entries up to that event's time), as the incident page reads it when it shows the incident."""
    for event in events:
        if event["id"] <= state["last_event_id"]:
            continue
        data = received(who, event)
        if data is None:
            continue
        entered = apply_event(state, data, who)
        if entered is not None and "timeline" in state:
            with open_session(engine, write=False) as db:
                history = read_timeline(db, who, [entered])
            then = datetime.fromisoformat(data["at"])
            state["timeline"].update({k: e for k, e in history.items() if datetime.fromisoformat(e["at"]) <= then})
    return state


def without_position(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The state itself, whatever event it was last brought up to."""
    return {k: v for k, v in snapshot.items() if k != "last_event_id"}
