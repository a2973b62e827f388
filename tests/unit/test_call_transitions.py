"""The call status machine, as a property test: whatever order telephony events arrive in (late, repeated,
reordered by the network), a call's status only moves along CALL_TRANSITIONS, never leaves an end, is
`ended` only if someone answered, and its outcome says why when nobody did."""

from __future__ import annotations

from types import SimpleNamespace
from typing import get_args

from hypothesis import given
from hypothesis import strategies as st

from siaga.domains.calls.actions import move
from siaga.domains.calls.models import CALL_EVENT_TARGET, CALL_STATUSES, CALL_TRANSITIONS, status_after_end
from siaga.domains.calls.schemas import CallEventType

EVENTS = [e for e in CALL_EVENT_TARGET if e != "offered"]  # a call is created by its first event


def apply(call: SimpleNamespace, event: str) -> None:
    """What calls.actions.ingest_call_event does to the status and times, without a database."""
    if event == "answered":
        call.answered = True
    target = CALL_EVENT_TARGET[event]
    if target == "end":
        target = status_after_end(call.answered, event)
    if target is not None and move(call, target) and target == "abandoned":
        call.outcome = call.outcome or ("missed_out_of_hours" if event == "missed" and not call.answered
                                        else "abandoned")


def test_every_event_type_the_api_takes_has_a_target():
    assert set(CALL_EVENT_TARGET) == set(get_args(CallEventType))


def test_the_table_names_every_status_and_ends_are_final():
    assert set(CALL_TRANSITIONS) == set(CALL_STATUSES)
    assert all(targets <= set(CALL_STATUSES) for targets in CALL_TRANSITIONS.values())
    assert CALL_TRANSITIONS["ended"] == CALL_TRANSITIONS["abandoned"] == frozenset()


@given(st.lists(st.sampled_from(EVENTS), max_size=12))
def test_any_order_of_events_moves_only_along_the_table(events):
    call = SimpleNamespace(status="offered", answered=False, outcome=None)
    seen = ["offered"]
    for event in events:
        before = call.status
        apply(call, event)
        assert call.status == before or call.status in CALL_TRANSITIONS[before]
        seen.append(call.status)
    if call.status == "ended":
        assert call.answered
    if call.status == "abandoned":
        assert call.outcome in ("abandoned", "missed_out_of_hours")
    ended_at = next((i for i, s in enumerate(seen) if s in ("ended", "abandoned")), None)
    if ended_at is not None:  # nothing after the end moves it again
        assert len(set(seen[ended_at:])) == 1


def test_a_refused_move_changes_nothing():
    call = SimpleNamespace(status="ended")
    assert move(call, "answered") is False and call.status == "ended"
