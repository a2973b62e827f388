"""A console hears only the event kinds it subscribes to, so the outbox accepts nothing but an EventKind:
a kind outside the enumeration fails where it is emitted, before it could be committed and lost."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from siaga.core.authz import SYSTEM
from siaga.core.clock import FixedClock
from siaga.core.context import Ctx
from siaga.events.kinds import EVENT_KINDS, EventKind
from siaga.events.outbox import emit
from siaga.settings import Settings


def queued(session: Session) -> list[dict]:
    pending = session.info.get("siaga_ledger")
    return [] if pending is None else pending.events


@pytest.mark.parametrize("kind", ["incident.creatd", "incident.created", "", None, 1])
def test_emitting_anything_but_an_event_kind_is_refused(kind):
    """A misspelt kind, and even a listed one as a bare string: only the enumeration's members pass."""
    session = Session()
    with pytest.raises(TypeError, match="not an EventKind"):
        emit(session, kind, "incident", 1, {})  # type: ignore[arg-type]
    assert queued(session) == []


def test_an_action_context_refuses_an_unlisted_kind_too():
    ctx = Ctx(db=Session(), actor=SYSTEM, clock=FixedClock(datetime(2026, 11, 27, tzinfo=UTC)), settings=Settings())
    with pytest.raises(TypeError):
        ctx.emit("unit.teleported", "unit", 1, {})  # type: ignore[arg-type]
    ctx.emit(EventKind.UNIT_CREATED, "unit", 1, {"id": 1})
    assert [e["kind"] for e in queued(ctx.db)] == ["unit.created"]


def test_a_kind_is_queued_as_its_plain_name():
    """What the ledger writes and the stream names (`event: unit.created`) is the string, not the member."""
    session = Session()
    emit(session, EventKind.TIMELINE_ADDED, "timeline", 7, {"incident_id": 1})
    (event,) = queued(session)
    assert event["kind"] == "timeline.added" and type(event["kind"]) is str


def test_the_console_list_is_the_enumeration():
    assert EVENT_KINDS == tuple(kind.value for kind in EventKind)
    assert len(set(EVENT_KINDS)) == len(EVENT_KINDS)
    # SSE event names: one line, no spaces; the consoles' listeners are keyed by exactly these.
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", kind) for kind in EVENT_KINDS)
