"""The queue's promise to a caller under a `lower_priority` measure, whatever the sequence of calls:
once it has waited the cap, no call that arrived after it is ranked ahead of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from siaga.domains.calls.queue import DEFAULT_CAP_S, Waiting, ordered

START = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)

# Each step: a call arrives (lowered or not) after some seconds, or an operator takes the first in line.
STEP = st.one_of(
    st.tuples(st.just("arrive"), st.integers(min_value=0, max_value=40), st.booleans()),
    st.tuples(st.just("take"), st.integers(min_value=0, max_value=40), st.just(False)),
)


@given(steps=st.lists(STEP, min_size=1, max_size=60), cap=st.integers(min_value=1, max_value=60))
def test_a_lowered_caller_is_never_passed_by_a_later_call_after_the_cap(steps, cap):
    now, queue, next_id = START, [], 1
    for kind, seconds, lowered in steps:
        now += timedelta(seconds=seconds)
        if kind == "arrive":
            queue.append(Waiting(next_id, now, lowered))
            next_id += 1
            continue
        if not queue:
            continue
        line = ordered(queue, now, cap)
        taken = line[0]
        for waiting in queue:
            if waiting.lowered and waiting is not taken and taken.offered_at > waiting.offered_at:
                # A later call went first: only while the lowered caller is within its cap.
                assert now - waiting.offered_at < timedelta(seconds=cap)
        for earlier in queue:
            if not earlier.lowered and earlier is not taken and not taken.lowered:
                assert taken.offered_at <= earlier.offered_at  # among unlowered calls: oldest first
        queue.remove(taken)


def test_without_measures_the_queue_is_first_come_first_served():
    calls = [Waiting(i, START + timedelta(seconds=i)) for i in range(5)]
    assert [c.call_id for c in ordered(list(reversed(calls)), START + timedelta(seconds=10))] == [0, 1, 2, 3, 4]


def test_the_default_cap_is_twenty_seconds():
    lowered = Waiting(1, START, lowered=True)
    later = Waiting(2, START + timedelta(seconds=5))
    assert ordered([lowered, later], START + timedelta(seconds=19))[0] is later
    assert ordered([lowered, later], START + timedelta(seconds=DEFAULT_CAP_S))[0] is lowered
