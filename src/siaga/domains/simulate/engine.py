"""The call stream and the queue it meets. Pure: no database, no clock.

`generate` draws the calls a scenario offers (non-homogeneous Poisson: each hour's count is Poisson with
the hour's rate — or, for a scenario with a fixed total over its own period, the multinomial split of
that total, which is the same process conditioned on the total — at uniform times within the hour),
with what each caller wants, their handle time, patience, the desa they call from and, for emergencies,
a category. The stream does not depend on the roster, so one seed gives the same callers whatever
roster meets them.

`Queue` is the centre: one first-come-first-served queue, operators on duty by the roster (an operator
who is on a call at the end of their shift finishes it; nobody starts a call off duty). A free operator
answers after a short pickup delay (the phone rings: `ringing_at`; the caller may hang up during it, and the
operator is then free at once); a caller still unanswered when their patience runs out hangs up:
`abandoned` when someone was on duty at the time of the call, `missed_out_of_hours` when nobody was."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from siaga.core.clock import SiteZone
from siaga.domains.simulate.scenario import INTENTS, Roster, Scenario, _normalised

# Indonesian mobile prefixes (Telkomsel, Indosat, XL/Axis, Tri, Smartfren).
MOBILE_PREFIXES = ("0811", "0812", "0813", "0821", "0822", "0823", "0852", "0853", "0814", "0815", "0816",
                   "0855", "0856", "0857", "0858", "0817", "0818", "0819", "0859", "0877", "0878", "0831",
                   "0838", "0895", "0896", "0897", "0898", "0899", "0881", "0882", "0887")


@dataclass(frozen=True)
class Place:
    kode: str  # desa / kelurahan
    name: str
    kecamatan: str
    kecamatan_name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class CategoryRef:
    code: str
    parent: str | None
    priority: int


@dataclass(slots=True)
class SimCall:
    seq: int
    offered_at: datetime
    intent: str
    handle_s: float
    patience_s: float
    delay_s: float
    caller_number: str
    place: Place
    lat: float
    lon: float
    accuracy_m: float
    category: str | None = None
    subcategory: str | None = None
    # what the queue did
    ringing_at: datetime | None = None  # an operator's phone began to ring (delay_s before the answer)
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str = ""
    server: int | None = None
    staffed: bool = False

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def wait_s(self) -> float:
        end = self.answered_at or self.ended_at
        return (end - self.offered_at).total_seconds() if end else 0.0


def generate(scenario: Scenario, places: Sequence[Place], categories: Sequence[CategoryRef], seed: int,
             start: date | None = None, end: date | None = None, *, zone: SiteZone) -> Iterator[SimCall]:
    """The scenario's calls between `start` and `end` (inclusive days; default its own period), in time
    order, reproducible from `seed`. The scenario's hours and days are local hours of `zone`, the zone of the
    site whose history is written (the Bengkalis scenarios were measured in WIB)."""
    first, last = start or scenario.start, end or scenario.end
    days = scenario.days(first, last)
    rng = np.random.default_rng(seed)
    profile = np.array(_normalised(scenario.hourly_profile))
    day_w = np.array([scenario.day_weight(d) for d in days]) / np.mean(scenario.weekday_factor)
    weights = (day_w[:, None] * profile[None, :]).ravel()
    if scenario.offered_total is not None and (first, last) == (scenario.start, scenario.end):
        counts = rng.multinomial(scenario.offered_total, weights / weights.sum()) if weights.sum() > 0 \
            else np.zeros(len(weights), dtype=int)
    else:
        per_day = scenario.calls_per_day
        if per_day is None:  # a fixed total over the scenario's own period, another range asked: its rate
            assert scenario.offered_total is not None
            own = np.array([scenario.day_weight(d) for d in scenario.days()]) / np.mean(scenario.weekday_factor)
            per_day = scenario.offered_total / own.sum()
        counts = rng.poisson(per_day * weights)
    counts = counts.reshape(len(days), 24)
    by_kecamatan: dict[str, list[Place]] = {}
    for p in places:
        by_kecamatan.setdefault(p.kecamatan, []).append(p)
    kec_codes = [k for k in scenario.kecamatan_weights if by_kecamatan.get(k)]
    if not kec_codes:
        raise ValueError("none of the scenario's kecamatan has desa points in the gazetteer")
    kec_p = _normalised([scenario.kecamatan_weights[k] for k in kec_codes])
    top = {c.code for c in categories if c.parent is None}
    cat_codes = [c for c in scenario.categories if c in top]
    if not cat_codes:
        raise ValueError("none of the scenario's categories is a known top-level category")
    cat_p = _normalised([scenario.categories[c] for c in cat_codes])
    children = {c: sorted(x.code for x in categories if x.parent == c) for c in cat_codes}
    intent_p = np.array([scenario.intents[k] for k in INTENTS])
    pranksters = [_number(rng) for _ in range(max(1, scenario.prank_pool))]
    prank_w = np.array([1.0 / (k + 1) for k in range(len(pranksters))])
    prank_w /= prank_w.sum()
    seq = 0
    for di, day in enumerate(days):
        n_day = int(counts[di].sum())
        if n_day == 0:
            continue
        midnight = zone.day_start(day)
        hours = np.repeat(np.arange(24), counts[di])
        offsets = np.sort(hours * 3600.0 + rng.uniform(0, 3600.0, n_day))
        intents = rng.choice(len(INTENTS), size=n_day, p=intent_p)
        short = rng.random(n_day) < scenario.short_hangup_share
        patience = np.where(short, rng.exponential(scenario.short_hangup_mean_s, n_day),
                            rng.exponential(scenario.patience_mean_s, n_day))
        patience = np.minimum(patience, scenario.ring_timeout_s)
        delays = rng.uniform(scenario.answer_delay_s[0], scenario.answer_delay_s[1], n_day)
        normals = rng.standard_normal(n_day)
        kec = rng.choice(len(kec_codes), size=n_day, p=kec_p)
        pick = rng.random(n_day)
        jitter = rng.normal(0.0, 0.004, (n_day, 2))
        accuracy = rng.uniform(300, 3000, n_day)
        cats = rng.choice(len(cat_codes), size=n_day, p=cat_p)
        subpick = rng.random(n_day)
        withheld = rng.random(n_day) < scenario.withheld_share
        repeat = rng.random(n_day) < scenario.prank_repeat_share
        prankster = rng.choice(len(pranksters), size=n_day, p=prank_w)
        for i in range(n_day):
            intent = INTENTS[int(intents[i])]
            ln = scenario.handle[intent]
            handle = float(math.exp(ln.mu + ln.sigma * normals[i])) if ln.cv > 0 else ln.mean
            desas = by_kecamatan[kec_codes[int(kec[i])]]
            place = desas[min(len(desas) - 1, int(pick[i] * len(desas)))]
            if withheld[i]:
                number = "anonymous"
            elif intent == "prank" and repeat[i]:
                number = pranksters[int(prankster[i])]
            else:
                number = _number(rng)
            category = subcategory = None
            if intent == "emergency":
                category = cat_codes[int(cats[i])]
                kids = children[category]
                if kids and subpick[i] < scenario.subcategory_share:
                    subcategory = kids[min(len(kids) - 1, int(subpick[i] / scenario.subcategory_share * len(kids)))]
            yield SimCall(seq=seq, offered_at=midnight + timedelta(seconds=float(offsets[i])), intent=intent,
                          handle_s=max(3.0, handle), patience_s=float(patience[i]), delay_s=float(delays[i]),
                          caller_number=number, place=place, lat=round(place.lat + float(jitter[i, 0]), 5),
                          lon=round(place.lon + float(jitter[i, 1]), 5), accuracy_m=round(float(accuracy[i])),
                          category=category, subcategory=subcategory)
            seq += 1


def _number(rng: np.random.Generator) -> str:
    prefix = MOBILE_PREFIXES[int(rng.integers(len(MOBILE_PREFIXES)))]
    digits = int(rng.integers(7, 9))
    return prefix + "".join(str(int(d)) for d in rng.integers(0, 10, digits))


class Queue:
    """Operators on duty by a roster over [start, end] (days in `zone`), answering calls in arrival order."""

    def __init__(self, roster: Roster, start: date, end: date, zone: SiteZone, tail_days: int = 2) -> None:
        self.roster = roster
        self.t0 = zone.day_start(start)
        hours = ((end - start).days + 1 + tail_days) * 24
        self.servers = roster.max_operators
        starts: list[list[float]] = [[] for _ in range(self.servers)]
        ends: list[list[float]] = [[] for _ in range(self.servers)]
        self._on_duty = []
        for h in range(hours):
            n = roster.operators_at(self.t0 + timedelta(hours=h), zone)
            self._on_duty.append(n)
            for j in range(self.servers):
                if j < n:
                    if ends[j] and ends[j][-1] == h * 3600.0:
                        ends[j][-1] = (h + 1) * 3600.0
                    else:
                        starts[j].append(h * 3600.0)
                        ends[j].append((h + 1) * 3600.0)
        self._starts, self._ends = starts, ends
        self._free = [0.0] * self.servers

    def on_duty(self, seconds: float) -> int:
        h = int(seconds // 3600)
        return self._on_duty[h] if 0 <= h < len(self._on_duty) else 0

    def _next_on_duty(self, j: int, t: float) -> float:
        starts, ends = self._starts[j], self._ends[j]
        i = bisect.bisect_right(starts, t) - 1
        if i >= 0 and t < ends[i]:
            return t
        return starts[i + 1] if i + 1 < len(starts) else math.inf

    def serve(self, call: SimCall) -> SimCall:
        a = (call.offered_at - self.t0).total_seconds()
        call.staffed = self.on_duty(a) > 0
        best, server = math.inf, None
        for j in range(self.servers):
            t = self._next_on_duty(j, max(a, self._free[j]))
            if t < best:
                best, server = t, j
        answer = best + call.delay_s
        if server is not None and best - a <= call.patience_s:
            # A free operator's phone rings; the caller may still hang up before the pickup delay is over.
            call.ringing_at = call.offered_at + timedelta(seconds=best - a)
        if server is not None and answer - a <= call.patience_s:
            call.answered_at = call.offered_at + timedelta(seconds=answer - a)
            call.ended_at = call.answered_at + timedelta(seconds=call.handle_s)
            call.outcome = call.intent
            call.server = server
            self._free[server] = answer + call.handle_s
        else:
            call.ended_at = call.offered_at + timedelta(seconds=call.patience_s)
            call.outcome = "abandoned" if call.staffed else "missed_out_of_hours"
        return call


def run(calls: Iterable[SimCall], queue: Queue) -> Iterator[SimCall]:
    for call in calls:
        yield queue.serve(call)
