"""Operators needed per hour and the shift roster that covers them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.domains.staffing import plan
from siaga.domains.staffing.erlang import erlang_a, erlang_c_service_level


def test_operators_needed_is_the_first_level_that_meets_the_target():
    rate, handle, patience = 60.0, 120.0, 45.0  # 2 E
    n = plan.operators_needed(rate, handle, patience, 0.9, 15)
    assert erlang_a(n, rate / 3600, handle, patience, 15).p_answered_within >= 0.9
    assert erlang_a(n - 1, rate / 3600, handle, patience, 15).p_answered_within < 0.9


def test_erlang_c_fallback_starts_above_the_load():
    n = plan.operators_needed(100.0, 180.0, math.inf, 0.8, 20)  # 5 E
    assert n > 5
    assert erlang_c_service_level(n, 5.0, 180, 20) >= 0.8 > erlang_c_service_level(n - 1, 5.0, 180, 20)


def test_quiet_hours_get_the_minimum_cover():
    assert plan.operators_needed(0.0, 120, 45, 0.9, 15, min_operators=1) == 1
    assert plan.operators_needed(0.0, 120, 45, 0.9, 15, min_operators=0) == 0
    assert plan.operators_needed(0.5, 120, 45, 0.9, 15, min_operators=2) == 2


def test_target_must_be_a_share():
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError):
            plan.operators_needed(10, 120, 45, bad, 15)


def test_three_shifts_take_the_busiest_hour_of_each():
    required = [1] * plan.HOURS_PER_WEEK
    required[10] = 4  # Monday 10:00
    required[24 * 5 + 20] = 3  # Saturday 20:00
    shifts = plan.roster(required)
    by_start = {(s.weekday, s.start_hour): s.operators for s in shifts}
    assert by_start[(0, 8)] == 4 and by_start[(5, 16)] == 3
    assert by_start[(0, 0)] == 1 and by_start[(6, 16)] == 1
    assert len(shifts) == 21
    assert sum(s.operators * s.hours for s in shifts) == 8 * (19 * 1 + 4 + 3)


def test_overlapping_starts_cover_a_peak_with_fewer_operator_hours():
    required = [1] * plan.HOURS_PER_WEEK
    for d in range(7):
        for h in range(18, 22):
            required[d * 24 + h] = 2
    fixed = plan.roster(required)
    staggered = plan.roster(required, starts=(0, 8, 14, 16))
    assert all(have >= need for have, need in zip(plan.on_duty(staggered), required, strict=True))
    assert sum(s.operators * s.hours for s in staggered) <= sum(s.operators * s.hours for s in fixed)


def test_a_shift_that_crosses_midnight_wraps_into_the_next_day():
    shifts = plan.roster([1] * plan.HOURS_PER_WEEK, starts=(6, 14, 22))
    on_duty = plan.on_duty(shifts)
    assert on_duty == [1] * plan.HOURS_PER_WEEK  # Sunday 22:00 covers Monday 00:00–06:00


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=6), min_size=168, max_size=168),
       st.sampled_from([(0, 8, 16), (0, 6, 12, 18), (7, 15, 23), (0, 4, 8, 12, 16, 20)]))
def test_every_roster_covers_every_hour(required, starts):
    shifts = plan.roster(required, starts=starts)
    assert all(have >= need for have, need in zip(plan.on_duty(shifts), required, strict=True))
    if starts == (0, 8, 16):  # non-overlapping: exactly the busiest hour of each shift, which is optimal
        for s in shifts:
            hours = [required[(s.start_how + k) % 168] for k in range(8)]
            assert s.operators == max(hours)


# --- the pickup delay (issue #17) -------------------------------------------------------------------------

def test_without_a_pickup_the_prediction_is_plain_erlang_a():
    r = erlang_a(2, 30 / 3600, 120.0, 45.0, 15.0)
    assert plan.predict(2, 30.0, 120.0, 45.0, 15.0) == pytest.approx((r.p_answered_within, r.p_abandon, r.occupancy))


def test_the_pickup_shortens_the_budget_lengthens_the_work_and_loses_callers_while_ringing():
    d, p = 9.0, 30.0
    queue = erlang_a(1, 3 / 3600, 47.0 + d, p, 15.0 - d)
    within, abandon, occupancy = plan.predict(1, 3.0, 47.0, p, 15.0, plan.Pickup(d))
    assert within == pytest.approx(queue.p_answered_within * math.exp(-d / p))
    assert abandon == pytest.approx(1 - queue.p_answered * math.exp(-d / p))
    assert occupancy == pytest.approx(queue.occupancy)
    measured = plan.predict(1, 3.0, 47.0, p, 15.0, plan.Pickup(d, stay=0.6))[0]
    assert measured == pytest.approx(queue.p_answered_within * 0.6)  # a measured stay replaces the exponential
    assert plan.predict(1, 3.0, 47.0, p, 15.0, plan.Pickup(16.0))[0] == 0.0  # the ring alone outlasts the target
    assert plan.predict(1, 3.0, 47.0, math.inf, 15.0, plan.Pickup(d))[0] == pytest.approx(
        erlang_a(1, 3 / 3600, 47.0 + d, math.inf, 15.0 - d).p_answered_within)  # Erlang C: nobody hangs up


def test_staffing_with_a_pickup_needs_more_or_says_the_target_is_out_of_reach():
    plain = plan.operators_needed(60.0, 120.0, 45.0, 0.9, 15)
    slow = plan.operators_needed(60.0, 120.0, 45.0, 0.9, 15, pickup=plan.Pickup(3.0, stay=0.97))
    assert slow >= plain
    assert plan.predict(slow, 60.0, 120.0, 45.0, 15.0, plan.Pickup(3.0, stay=0.97))[0] >= 0.9
    assert plan.reach_needed(0.9, 0.95) == pytest.approx(0.9 / 0.95)
    assert plan.reach_needed(0.9, 0.6) == 0.9  # out of reach: the queue alone is held to the target
    assert plan.operators_needed(60.0, 120.0, 45.0, 0.9, 15, pickup=plan.Pickup(9.0, stay=0.6)) < plan.MAX_OPERATORS


@pytest.mark.parametrize("delay, stay", [(-1.0, None), (math.inf, None), (5.0, 0.0), (5.0, 1.5)])
def test_a_bad_pickup_is_refused(delay, stay):
    with pytest.raises(ValueError):
        plan.Pickup(delay, stay)
