"""The review sample's rule (domains/quality/sampling.py) as properties: the draw is a function of the call
id alone (two processes agree), the random share comes out within tolerance of the setting, and every
prank, ghost and long answer is always in, whatever the share."""

from __future__ import annotations

import math
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.domains.quality.sampling import SampleRule, in_random_share, sample_reasons

IDS = st.integers(min_value=1, max_value=2**53 - 1)
PERCENT = st.floats(min_value=0, max_value=100, allow_nan=False)
OUTCOMES = st.sampled_from(["emergency", "information", "prank", "ghost", "wrong_number", "test", None])
ANSWER = st.one_of(st.none(), st.floats(min_value=0, max_value=3600, allow_nan=False))


@given(IDS, OUTCOMES, ANSWER, PERCENT, st.floats(min_value=0, max_value=600, allow_nan=False))
def test_the_rule_is_a_function_of_the_call(call_id, outcome, answer_s, percent, long_s):
    rule = SampleRule(percent, long_s)
    assert sample_reasons(call_id, outcome, answer_s, rule) == sample_reasons(call_id, outcome, answer_s,
                                                                              SampleRule(percent, long_s))


def test_another_process_draws_the_same_sample():
    """Python's own hash() is salted per process; the draw must not be."""
    ids = list(range(1, 2001))
    here = [i for i in ids if in_random_share(i, 7.5)]
    code = ("from siaga.domains.quality.sampling import in_random_share;"
            "print(','.join(str(i) for i in range(1, 2001) if in_random_share(i, 7.5)))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": "", **_pythonpath()}).stdout.strip()
    assert there == ",".join(map(str, here))


def _pythonpath() -> dict[str, str]:
    import os
    return {"PYTHONPATH": os.environ.get("PYTHONPATH", "")} if os.environ.get("PYTHONPATH") else {}


@settings(max_examples=40)
@given(st.integers(min_value=1, max_value=2**40), st.floats(min_value=0, max_value=100, allow_nan=False))
def test_the_random_share_is_within_tolerance(start, percent):
    """Over 20,000 consecutive ids the share drawn is within 5 standard deviations of the setting (a binomial
    draw: a wrong rule — a share off by a tenth of itself, or a biased hash — falls outside)."""
    n = 20_000
    drawn = sum(in_random_share(i, percent) for i in range(start, start + n))
    p = round(percent * 100) / 10_000
    sd = math.sqrt(n * p * (1 - p))
    assert abs(drawn - n * p) <= 5 * sd + 1


@given(IDS, st.sampled_from(["prank", "ghost"]), ANSWER, PERCENT)
def test_every_prank_and_ghost_is_in(call_id, outcome, answer_s, percent):
    assert outcome in sample_reasons(call_id, outcome, answer_s, SampleRule(percent, 20.0))


@given(IDS, OUTCOMES, st.floats(min_value=0, max_value=600, allow_nan=False), st.floats(min_value=0, max_value=60),
       PERCENT)
def test_every_long_answer_is_in_and_only_those(call_id, outcome, long_s, over, percent):
    rule = SampleRule(percent, long_s)
    assert "long_answer" in sample_reasons(call_id, outcome, long_s + over + 0.001, rule)
    assert "long_answer" not in sample_reasons(call_id, outcome, long_s, rule)  # "over" the threshold


@given(IDS, OUTCOMES, ANSWER)
def test_no_share_draws_nothing_and_a_full_share_draws_all(call_id, outcome, answer_s):
    assert "random" not in sample_reasons(call_id, outcome, answer_s, SampleRule(0.0, 20.0))
    assert "random" in sample_reasons(call_id, outcome, answer_s, SampleRule(100.0, 20.0))


@given(IDS, PERCENT, PERCENT)
def test_a_larger_share_keeps_every_call_a_smaller_one_drew(call_id, a, b):
    """Raising the share only adds calls: a sample already under review is never taken back."""
    low, high = sorted((a, b))
    assert not in_random_share(call_id, low) or in_random_share(call_id, high)
