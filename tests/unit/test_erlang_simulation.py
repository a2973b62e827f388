"""Erlang B, C and A against a SimPy simulation of the same queue (Poisson arrivals, exponential handle
times and patience, n operators, first come first served).

Tolerances: each run offers 60,000 calls after a 2,000-call warm-up, with a fixed seed (so the test is
deterministic). A share estimated from N calls has a binomial standard error ≤ 0.5/√N ≈ 0.002; waits of
consecutive callers are correlated, which widens it several times, so shares are compared within
±0.015 absolute (roughly four to six standard errors of the correlated estimate) and mean waits within
±12% relative."""

from __future__ import annotations

import math
import random

import pytest
import simpy

from siaga.domains.staffing.erlang import erlang_a, erlang_b, erlang_c, erlang_c_asa, erlang_c_service_level

CALLS = 60_000
WARM_UP = 2_000


def simulate(servers: int, arrival_rate: float, handle_s: float, patience_s: float, within_s: float,
             seed: int, loss: bool = False) -> dict[str, float]:
    rng = random.Random(seed)
    env = simpy.Environment()
    operators = simpy.Resource(env, capacity=servers)
    stats = {"n": 0, "waited": 0, "abandoned": 0, "blocked": 0, "within": 0, "served_wait": 0.0, "served": 0}

    def caller(index: int):  # type: ignore[no-untyped-def]
        arrived = env.now
        counted = index >= WARM_UP
        if loss and operators.count >= servers:
            if counted:
                stats["n"] += 1
                stats["blocked"] += 1
            return
        busy = operators.count >= servers
        with operators.request() as request:
            patience = rng.expovariate(1 / patience_s) if math.isfinite(patience_s) else math.inf
            if math.isfinite(patience):
                result = yield request | env.timeout(patience)
                got = request in result
            else:
                yield request
                got = True
            waited = env.now - arrived
            if counted:
                stats["n"] += 1
                stats["waited"] += busy
                if got:
                    stats["served"] += 1
                    stats["served_wait"] += waited
                    stats["within"] += waited <= within_s
                else:
                    stats["abandoned"] += 1
            if got:
                yield env.timeout(rng.expovariate(1 / handle_s))

    def source():  # type: ignore[no-untyped-def]
        for i in range(CALLS + WARM_UP):
            yield env.timeout(rng.expovariate(arrival_rate))
            env.process(caller(i))

    env.process(source())
    env.run()
    n = stats["n"]
    return {"p_wait": stats["waited"] / n, "p_abandon": stats["abandoned"] / n, "p_blocked": stats["blocked"] / n,
            "p_answered_within": stats["within"] / n,
            "asa": stats["served_wait"] / stats["served"] if stats["served"] else 0.0}


@pytest.mark.parametrize("servers, arrivals_per_hour, handle_s, patience_s", [
    (5, 180, 80, 40),    # 4 E on 5 operators, impatient callers
    (2, 40, 150, 60),    # a small centre at night: 1.67 E on 2
    (3, 150, 90, 30),    # overloaded (3.75 E on 3): Erlang A still settles because callers leave
])
def test_erlang_a_matches_simulation(servers, arrivals_per_hour, handle_s, patience_s):
    lam = arrivals_per_hour / 3600
    model = erlang_a(servers, lam, handle_s, patience_s, 15)
    sim = simulate(servers, lam, handle_s, patience_s, 15, seed=servers * 1000 + arrivals_per_hour)
    assert sim["p_wait"] == pytest.approx(model.p_wait, abs=0.015)
    assert sim["p_abandon"] == pytest.approx(model.p_abandon, abs=0.015)
    assert sim["p_answered_within"] == pytest.approx(model.p_answered_within, abs=0.015)
    assert sim["asa"] == pytest.approx(model.asa_s, rel=0.12, abs=0.5)


def test_erlang_c_matches_simulation():
    servers, traffic, handle_s = 4, 3.0, 120.0
    sim = simulate(servers, traffic / handle_s, handle_s, math.inf, 20, seed=4)
    assert sim["p_abandon"] == 0
    assert sim["p_wait"] == pytest.approx(erlang_c(servers, traffic), abs=0.015)
    assert sim["p_answered_within"] == pytest.approx(erlang_c_service_level(servers, traffic, handle_s, 20), abs=0.015)
    # ASA over all callers (zero waits included) is Erlang C's ASA.
    all_wait = sim["asa"]  # every caller is served here
    assert all_wait == pytest.approx(erlang_c_asa(servers, traffic, handle_s), rel=0.12)


def test_erlang_b_matches_simulation():
    servers, traffic, handle_s = 6, 4.0, 100.0
    sim = simulate(servers, traffic / handle_s, handle_s, math.inf, 0, seed=6, loss=True)
    assert sim["p_blocked"] == pytest.approx(erlang_b(servers, traffic), abs=0.01)
