"""Erlang B, C and A, written here and checked against published tables and a SimPy simulation
(tests/unit/test_erlang.py, tests/unit/test_erlang_simulation.py).

Notation: `servers` n operators; `traffic` a = λ·h Erlangs (arrival rate × mean handle time); times in
seconds. Every formula is the iterative / log-space form, so n in the thousands is as exact as n = 3.

- Erlang B (M/M/n/n, blocked calls lost): B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)).
- Erlang C (M/M/n, callers wait forever): C = n·B / (n − a·(1 − B)) when a < n, else 1;
  P(wait ≤ t) = 1 − C·e^(−(n − a)·t/h); average speed of answer ASA = C·h / (n − a).
- Erlang A (M/M/n+M, Palm's queue: callers wait an exponential patience with mean p, then hang up).
  The number of calls in the centre is a birth–death chain (birth λ, death min(k, n)/h + max(k − n, 0)/p);
  its stationary law is computed in log space and truncated where the tail is below 1e−17 of the peak.
  An arrival that finds k ≥ n calls waits behind i = k − n others; it moves up at rate n/h + i/p and
  gives up at rate 1/p, so P(served | i ahead) = (n/h) / (n/h + (i + 1)/p) and the served caller's
  expected wait is Σ_{j ≤ i} 1 / (n/h + (j + 1)/p). P(answered within t) comes from that pure-death
  chain's transient law, computed by uniformisation (Poisson weights in log space).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

MAX_SERVERS = 100_000
_TAIL = 40.0  # truncate the stationary law where terms fall below e^-40 (~4e-18) of the largest
_MAX_QUEUE = 2_000_000


def _check(servers: int, traffic: float) -> None:
    if not isinstance(servers, int | np.integer) or servers < 0 or servers > MAX_SERVERS:
        raise ValueError(f"servers must be an integer in 0..{MAX_SERVERS}, got {servers!r}")
    if not (traffic >= 0 and math.isfinite(traffic)):
        raise ValueError(f"traffic must be a finite number >= 0, got {traffic!r}")


def erlang_b(servers: int, traffic: float) -> float:
    """Blocking probability of n servers offered a Erlangs with no waiting room."""
    _check(servers, traffic)
    b = 1.0
    for k in range(1, servers + 1):
        b = traffic * b / (k + traffic * b)
    return b


def erlang_c(servers: int, traffic: float) -> float:
    """Probability that a caller has to wait (all n busy) in M/M/n; 1 when a ≥ n (no steady state)."""
    _check(servers, traffic)
    if traffic == 0:
        return 0.0
    if traffic >= servers:
        return 1.0
    b = erlang_b(servers, traffic)
    return servers * b / (servers - traffic * (1.0 - b))


def erlang_c_service_level(servers: int, traffic: float, handle_s: float, within_s: float) -> float:
    """P(wait ≤ t) in M/M/n: every caller is eventually answered."""
    _positive(handle_s, "handle_s")
    if within_s < 0:
        raise ValueError("within_s must be >= 0")
    c = erlang_c(servers, traffic)
    if traffic >= servers:
        return 0.0
    return 1.0 - c * math.exp(-(servers - traffic) * within_s / handle_s)


def erlang_c_asa(servers: int, traffic: float, handle_s: float) -> float:
    """Average speed of answer (mean wait over all callers, zero waits included) in M/M/n."""
    _positive(handle_s, "handle_s")
    if traffic >= servers:
        return math.inf
    return erlang_c(servers, traffic) * handle_s / (servers - traffic)


def _positive(value: float, name: str) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class ErlangA:
    """Steady-state figures of M/M/n+M for one staffing level. Shares are of offered calls unless named."""

    servers: int
    arrival_rate: float  # calls per second
    handle_s: float
    patience_s: float  # math.inf: nobody gives up (Erlang C)
    within_s: float
    p_wait: float  # P(all operators busy on arrival)
    p_abandon: float  # P(caller hangs up before an answer)
    p_answered_within: float  # P(answered, after a wait ≤ t): answered within t / offered
    p_wait_within: float  # P(wait ≤ t) where the wait ends by an answer or a hang-up
    service_level_answered: float  # P(wait ≤ t | answered): answered within t / answered
    asa_s: float  # mean wait of answered calls
    mean_wait_s: float  # mean wait of all callers, hang-ups included (Little: E[queue] / λ)
    mean_queue: float
    occupancy: float  # busy share of the operators

    @property
    def p_answered(self) -> float:
        return 1.0 - self.p_abandon


def _log_stationary(servers: int, lam: float, mu: float, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """log π_k up to a constant for k = 0..n-1 (no queue) and for the queue k = n, n+1, ... (truncated)."""
    a = lam / mu
    k = np.arange(servers, dtype=float)
    log_low = k * math.log(a) - gammaln(k + 1) if servers else np.zeros(0)
    log_pi_n = servers * math.log(a) - float(gammaln(servers + 1))
    # Queue part: log π_{n+j} = log π_n + Σ_{i=1..j} log(λ / (nμ + iθ)).
    chunks = [np.array([log_pi_n])]
    last = log_pi_n
    peak = max(float(log_low.max()) if servers else -math.inf, log_pi_n)
    j0 = 1
    size = 1024
    total = 1
    while True:
        j = np.arange(j0, j0 + size, dtype=float)
        steps = math.log(lam) - np.log(servers * mu + j * theta)
        logs = last + np.cumsum(steps)
        chunks.append(logs)
        total += size
        peak = max(peak, float(logs.max()))
        last = float(logs[-1])
        if steps[-1] < 0 and last < peak - _TAIL:
            break
        if total > _MAX_QUEUE:
            raise ValueError("the queue does not settle: the centre is overloaded and callers (almost) never "
                             "give up; give a finite patience or more operators")
        j0 += size
        size = min(size * 2, 1 << 17)
    queue = np.concatenate(chunks)
    # Drop the negligible end of the tail (kept terms are exact; dropped mass < e^-40 relative).
    kept = np.nonzero(queue >= peak - _TAIL)[0]
    keep = int(kept.max()) + 1 if len(kept) else 1  # π_n itself always stays (P(wait) may be ~0)
    return log_low, queue[:keep]


def _served_within(p0: np.ndarray, servers: int, mu: float, theta: float, t: float) -> tuple[float, float]:
    """Uniformisation of the tagged caller's pure-death chain. p0[i]: probability the arrival waits with i
    callers ahead. Returns (P(answered by t), P(still waiting at t))."""
    size = len(p0)
    if size == 0 or t <= 0:
        return 0.0, float(p0.sum())
    move = servers * mu + np.arange(size) * theta  # rate of moving up one place (or into service from 0)
    out = move + theta  # total rate of leaving the current place
    rate = float(out.max())
    lt = rate * t
    stay = 1.0 - out / rate
    up = move / rate
    steps = int(lt + 10.0 * math.sqrt(lt) + 20)
    p = p0.astype(float).copy()
    served = 0.0
    answered = 0.0
    waiting = 0.0
    log_lt = math.log(lt) if lt > 0 else -math.inf
    for k in range(steps + 1):
        log_w = -lt + (k * log_lt if k else 0.0) - math.lgamma(k + 1)
        w = math.exp(log_w) if log_w > -745 else 0.0
        if w:
            answered += w * served
            waiting += w * float(p.sum())
        # one uniformised step
        served += float(p[0] * up[0])
        shifted = np.empty_like(p)
        shifted[:-1] = p[1:] * up[1:]
        shifted[-1] = 0.0
        p = p * stay + shifted
    return answered, waiting


def erlang_a(servers: int, arrival_rate: float, handle_s: float, patience_s: float, within_s: float) -> ErlangA:
    """M/M/n+M (Erlang A). `patience_s` = math.inf gives Erlang C (and needs arrival_rate·handle_s < n)."""
    if not isinstance(servers, int | np.integer) or servers < 1 or servers > MAX_SERVERS:
        raise ValueError(f"servers must be an integer in 1..{MAX_SERVERS}, got {servers!r}")
    _positive(handle_s, "handle_s")
    if not (arrival_rate >= 0 and math.isfinite(arrival_rate)):
        raise ValueError("arrival_rate must be a finite number >= 0")
    if not patience_s > 0:
        raise ValueError("patience_s must be > 0 (math.inf: callers never give up)")
    if within_s < 0 or not math.isfinite(within_s):
        raise ValueError("within_s must be a finite number >= 0")
    lam, mu = arrival_rate, 1.0 / handle_s
    theta = 0.0 if math.isinf(patience_s) else 1.0 / patience_s
    args = dict(servers=servers, arrival_rate=arrival_rate, handle_s=handle_s, patience_s=patience_s,
                within_s=within_s)
    if lam == 0:
        return ErlangA(**args, p_wait=0.0, p_abandon=0.0, p_answered_within=1.0, p_wait_within=1.0,
                       service_level_answered=1.0, asa_s=0.0, mean_wait_s=0.0, mean_queue=0.0, occupancy=0.0)
    if theta == 0 and lam >= servers * mu:
        return ErlangA(**args, p_wait=1.0, p_abandon=0.0, p_answered_within=0.0, p_wait_within=0.0,
                       service_level_answered=0.0, asa_s=math.inf, mean_wait_s=math.inf, mean_queue=math.inf,
                       occupancy=1.0)
    log_low, log_queue = _log_stationary(servers, lam, mu, theta)
    top = max(float(log_low.max()) if len(log_low) else -math.inf, float(log_queue.max()))
    low = np.exp(log_low - top)
    queue = np.exp(log_queue - top)
    z = float(low.sum() + queue.sum())
    low /= z
    queue /= z
    p_wait = float(queue.sum())
    ahead = np.arange(len(queue), dtype=float)  # i callers ahead when arriving at k = n + i
    served_rate = servers * mu
    p_served_if = served_rate / (served_rate + (ahead + 1) * theta)
    p_abandon = float((queue * (1.0 - p_served_if)).sum())
    mean_queue = float((queue * ahead).sum())  # in state n + i, i callers wait
    # E[wait | served, i ahead] = Σ_{j≤i} 1/(nμ + (j+1)θ)
    wait_if_served = np.cumsum(1.0 / (served_rate + (ahead + 1) * theta))
    p_served = 1.0 - p_abandon
    asa = float((queue * p_served_if * wait_if_served).sum()) / p_served if p_served > 0 else math.inf
    answered_by_t, waiting_at_t = _served_within(queue, servers, mu, theta, within_s)
    p_answered_within = float(low.sum()) + answered_by_t
    return ErlangA(
        **args,
        p_wait=p_wait,
        p_abandon=p_abandon,
        p_answered_within=min(1.0, p_answered_within),
        p_wait_within=min(1.0, max(0.0, 1.0 - waiting_at_t)),
        service_level_answered=min(1.0, p_answered_within / p_served) if p_served > 0 else 0.0,
        asa_s=asa,
        mean_wait_s=mean_queue / lam,
        mean_queue=mean_queue,
        occupancy=min(1.0, lam * p_served * handle_s / servers),
    )


def erlang_a_from_traffic(servers: int, traffic: float, handle_s: float, patience_s: float,
                          within_s: float) -> ErlangA:
    return erlang_a(servers, traffic / handle_s, handle_s, patience_s, within_s)
