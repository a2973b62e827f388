"""Erlang B, C and A against published tables, closed forms and each other; properties by hypothesis.

Published values used here:
- Erlang B: the standard grade-of-service tables (e.g. ITU-T "Teletraffic Engineering Handbook", the
  Erlang B table in any traffic-engineering text): offered traffic in Erlangs for which N circuits block
  1% / 2% / 5% / 0.1% of calls — N=10: 4.46 / 5.08 / 6.22 / 3.09 E; N=20: 12.03 / 13.18 / 15.25 / 9.41 E;
  N=5: 1.36 E (1%); N=30: 20.34 E (1%); N=50: 37.90 E (1%); N=100: 84.06 E (1%). The tables print two
  decimals, so B at the printed traffic is the grade of service to within that rounding.
- Erlang C, worked example 1 ("The Erlang-C formula", Westbay Engineers, erlang.com; also reproduced in
  many call-centre texts): 360 calls per half hour, 240 s average duration (48 E), 55 agents, 15 s target:
  probability of waiting 23.87%, average speed of answer 8.2 s, service level 84.6%.
- Erlang C, worked example 2 (Call Centre Helper, "Erlang C formula – made simple"): 100 calls in 30
  minutes, 180 s handle time (10 E): probability of waiting with 11 / 12 / 13 / 14 agents 68.21% / 44.94% /
  28.53% / 17.41%; with 11 agents the average speed of answer is 122.8 s.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from siaga.domains.staffing.erlang import (
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
)


@pytest.mark.parametrize("servers, traffic, grade", [
    (5, 1.36, 0.01), (10, 4.46, 0.01), (20, 12.03, 0.01), (30, 20.34, 0.01), (50, 37.90, 0.01),
    (100, 84.06, 0.01), (10, 5.08, 0.02), (20, 13.18, 0.02), (10, 6.22, 0.05), (20, 15.25, 0.05),
    (10, 3.09, 0.001), (20, 9.41, 0.001),
])
def test_erlang_b_matches_the_published_grade_of_service_tables(servers, traffic, grade):
    # Two-decimal traffic in the table moves B by well under 1% of itself at these sizes.
    assert erlang_b(servers, traffic) == pytest.approx(grade, rel=0.01)


def test_erlang_b_equals_the_textbook_sum_exactly_for_small_cases():
    for n in range(0, 9):
        for a in (Fraction(1, 2), Fraction(1), Fraction(3), Fraction(17, 4)):
            terms = [a ** k / math.factorial(k) for k in range(n + 1)]
            exact = terms[-1] / sum(terms)
            assert erlang_b(n, float(a)) == pytest.approx(float(exact), rel=1e-12)
    assert erlang_b(1, 1.0) == 0.5
    assert erlang_b(0, 3.0) == 1.0


def test_erlang_c_westbay_worked_example():
    assert erlang_c(55, 48.0) == pytest.approx(0.2387, abs=5e-5)
    assert erlang_c_asa(55, 48.0, 240) == pytest.approx(8.2, abs=0.05)
    assert erlang_c_service_level(55, 48.0, 240, 15) == pytest.approx(0.846, abs=5e-4)


@pytest.mark.parametrize("agents, p_wait", [(11, 0.6821), (12, 0.4494), (13, 0.2853), (14, 0.1741)])
def test_erlang_c_call_centre_helper_example(agents, p_wait):
    assert erlang_c(agents, 10.0) == pytest.approx(p_wait, abs=5e-5)


def test_erlang_c_call_centre_helper_asa():
    assert erlang_c_asa(11, 10.0, 180) == pytest.approx(122.8, abs=0.05)


def test_mm1_closed_forms():
    for rho in (0.1, 0.5, 0.9, 0.99):
        assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)  # P(wait) = ρ
        assert erlang_c_asa(1, rho, 60) == pytest.approx(rho * 60 / (1 - rho), rel=1e-12)
        assert erlang_c_service_level(1, rho, 60, 30) == pytest.approx(1 - rho * math.exp(-(1 - rho) * 30 / 60))


def test_overload_and_empty_edges():
    assert erlang_c(5, 5.0) == 1.0 and erlang_c(5, 7.0) == 1.0
    assert erlang_c_service_level(5, 6.0, 60, 15) == 0.0
    assert erlang_c_asa(5, 6.0, 60) == math.inf
    assert erlang_c(5, 0.0) == 0.0
    a = erlang_a(3, 0.0, 60, 30, 15)
    assert a.p_wait == 0 and a.p_answered_within == 1
    stuck = erlang_a(2, 1.0, 60, math.inf, 15)  # 60 E on 2 operators, nobody gives up
    assert stuck.p_wait == 1 and stuck.p_answered_within == 0 and stuck.asa_s == math.inf


def test_large_centres_stay_finite_and_exact():
    # n = 10,000 is far beyond any 112 centre; the recursion has no factorials to overflow.
    b = erlang_b(10_000, 9_800.0)
    assert 0 < b < 0.01
    c = erlang_c(10_000, 9_800.0)
    assert b < c < 0.1
    big = erlang_a(2_000, 1_950 / 120, 120, 60, 15)
    assert 0 <= big.p_abandon < 0.05 and 0.5 < big.p_answered_within <= 1
    # The same load split 1:100 scales: many servers pool better.
    assert erlang_c(2, 1.6) > erlang_c(200, 160.0)


def test_erlang_a_with_patience_equal_to_handle_time_is_an_infinite_server_queue():
    """θ = μ: every caller in the centre leaves at rate μ whether waiting or served, so the number present
    is Poisson(a) (M/M/∞). Then P(wait) = P(N ≥ n) and P(abandon) = E[(N − n)+] / a exactly."""
    for n, a in ((1, 0.5), (5, 4.0), (12, 10.0), (30, 35.0)):
        r = erlang_a(n, a / 100, 100, 100, 10)
        assert r.p_wait == pytest.approx(poisson.sf(n - 1, a), rel=1e-9)
        tail = sum((k - n) * poisson.pmf(k, a) for k in range(n, int(a + 60 * math.sqrt(a) + 60)))
        assert r.p_abandon == pytest.approx(tail / a, rel=1e-9)


def test_erlang_a_abandonment_two_ways_agree():
    # Per caller (who gives up before reaching an operator) and by rate balance (θ·E[queue] = λ·P(ab)).
    for n, lam, h, p in ((3, 0.05, 60, 20), (7, 0.1, 60, 30), (20, 0.2, 120, 90), (4, 0.2, 60, 10)):
        r = erlang_a(n, lam, h, p, 15)
        assert r.p_abandon == pytest.approx(r.mean_queue / p / lam, rel=1e-9)


def test_erlang_a_tends_to_erlang_c_as_patience_grows():
    n, a, h, t = 12, 10.0, 180.0, 20.0
    c_wait, c_sl, c_asa = erlang_c(n, a), erlang_c_service_level(n, a, h, t), erlang_c_asa(n, a, h)
    gaps = []
    for patience in (1e3, 1e5, 1e7, 1e9):
        r = erlang_a(n, a / h, h, patience, t)
        gaps.append(abs(r.p_wait - c_wait) + abs(r.service_level_answered - c_sl))
    # The gap shrinks like 1/patience: ×100 patience, ÷100 gap.
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3] and gaps[3] < 1e-6
    assert gaps[1] / gaps[2] == pytest.approx(100, rel=0.05)
    r = erlang_a(n, a / h, h, math.inf, t)
    assert r.p_wait == pytest.approx(c_wait, rel=1e-9)
    assert r.p_wait_within == pytest.approx(c_sl, rel=1e-6)
    assert r.asa_s == pytest.approx(c_asa, rel=1e-6)
    assert r.p_abandon == 0


def test_erlang_a_figures_hang_together():
    r = erlang_a(7, 0.1, 60, 30, 15)
    assert r.p_answered_within <= r.p_answered
    assert r.service_level_answered == pytest.approx(r.p_answered_within / r.p_answered)
    assert r.p_answered_within <= r.p_wait_within  # hanging up within t also ends the wait within t
    assert r.occupancy == pytest.approx(0.1 * r.p_answered * 60 / 7)
    assert r.mean_wait_s == pytest.approx(r.mean_queue / 0.1)
    assert erlang_a(7, 0.1, 60, 30, 0).p_answered_within == pytest.approx(1 - r.p_wait)


@pytest.mark.parametrize("bad", [
    lambda: erlang_b(-1, 1.0), lambda: erlang_b(3, -1.0), lambda: erlang_b(3, math.nan),
    lambda: erlang_a(0, 0.1, 60, 30, 15), lambda: erlang_a(3, 0.1, 0, 30, 15), lambda: erlang_a(3, 0.1, 60, 0, 15),
    lambda: erlang_a(3, 0.1, 60, 30, -1), lambda: erlang_c_service_level(3, 1.0, 60, -1),
])
def test_bad_input_is_refused(bad):
    with pytest.raises(ValueError):
        bad()


servers = st.integers(min_value=1, max_value=60)
traffic = st.floats(min_value=0.01, max_value=80.0, allow_nan=False)
handle = st.floats(min_value=10.0, max_value=600.0)
patience = st.floats(min_value=2.0, max_value=600.0)
within = st.floats(min_value=0.0, max_value=120.0)


@settings(max_examples=200, deadline=None)
@given(servers, traffic)
def test_erlang_b_and_c_are_probabilities_falling_with_servers_and_c_above_b(n, a):
    b, c = erlang_b(n, a), erlang_c(n, a)
    assert 0 <= b <= 1 and 0 <= c <= 1
    assert c >= b - 1e-15
    assert erlang_b(n + 1, a) <= b
    assert erlang_c(n + 1, a) <= c + 1e-15
    assert erlang_b(n, a * 1.1) >= b


@settings(max_examples=200, deadline=None)
@given(servers, traffic, handle, within)
def test_erlang_c_service_level_rises_with_servers_and_time(n, a, h, t):
    assume(a < n)
    sl = erlang_c_service_level(n, a, h, t)
    assert 0 <= sl <= 1
    assert erlang_c_service_level(n + 1, a, h, t) >= sl - 1e-12
    assert erlang_c_service_level(n, a, h, t + 5) >= sl - 1e-12


@settings(max_examples=120, deadline=None)
@given(st.integers(min_value=1, max_value=40), traffic, handle, patience, within)
def test_erlang_a_shares_are_probabilities_and_improve_with_servers(n, a, h, p, t):
    r = erlang_a(n, a / h, h, p, t)
    more = erlang_a(n + 1, a / h, h, p, t)
    for x in (r.p_wait, r.p_abandon, r.p_answered_within, r.p_wait_within, r.service_level_answered, r.occupancy):
        assert -1e-12 <= x <= 1 + 1e-12
    assert more.p_abandon <= r.p_abandon + 1e-9
    assert more.p_wait <= r.p_wait + 1e-9
    assert more.p_answered_within >= r.p_answered_within - 1e-7
    assert r.p_answered_within <= 1 - r.p_abandon + 1e-9
    # With callers giving up, waiting is never more likely than in Erlang C (they thin the queue).
    assert r.p_wait <= erlang_c(n, a) + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=30), st.floats(min_value=0.05, max_value=0.95), handle, within)
def test_erlang_a_converges_to_erlang_c_when_nobody_gives_up(n, rho, h, t):
    a = rho * n
    r = erlang_a(n, a / h, h, 1e9, t)
    assert r.p_wait == pytest.approx(erlang_c(n, a), abs=1e-5)
    assert r.p_wait_within == pytest.approx(erlang_c_service_level(n, a, h, t), abs=1e-5)
