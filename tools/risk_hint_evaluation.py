"""The nuisance-risk hint on synthetic call histories with realistic base rates: genuine emergencies 1%, 3%,
5% and 10% of offered calls. Trains on January–August and evaluates on the LATER September–December, with
the same code as `siaga callers risk-train` (domains/callers/risk.py: features, scikit-learn fit, threshold,
pure-Python scoring, evaluation) — only the calls come from the simulator instead of a database.

Two histories per base rate:
  plain  the simulator as it is (`bengkalis-24x7`, its emergency share set to the base rate, the other
         intents scaled to fill the rest): 60% of pranks come from a pool of 300 repeat pranksters, every
         other caller a fresh number;
  hard   the same calls plus what makes the hint hard and the harm real: 10% of genuine emergencies come
         from a phone a prankster used (the household's only phone), and 20% of genuine callers call again
         1–10 minutes later (a dropped line, a worsening situation).

Usage: .venv/bin/python tools/risk_hint_evaluation.py [--rates 0.01,0.03,0.05,0.1] [--seed 112] [--json]"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import date, timedelta

import numpy as np

from siaga.core.clock import SiteZone
from siaga.domains.callers import risk
from siaga.domains.calls.numbers import normalise_msisdn
from siaga.domains.simulate import engine, reference, scenario

WIB = SiteZone.named("Asia/Jakarta")  # the Bengkalis scenario's zone

TRAIN = (date(2026, 1, 1), date(2026, 9, 1))
TEST = (date(2026, 9, 1), date(2027, 1, 1))
HOUSEHOLD_SHARE = 0.10
REDIAL_SHARE = 0.20


def with_base_rate(sc: scenario.Scenario, rate: float) -> scenario.Scenario:
    others = {k: v for k, v in sc.intents.items() if k != "emergency"}
    scale = (1 - rate) / sum(others.values())
    return dataclasses.replace(sc, intents={"emergency": rate, **{k: v * scale for k, v in others.items()}})


def simulate(rate: float, seed: int) -> list[engine.SimCall]:
    sc = with_base_rate(scenario.load("bengkalis-24x7"), rate)
    places, categories = reference.places_from_csv(), reference.categories_from_csv()
    start, end = TRAIN[0] - timedelta(days=90), TEST[1] - timedelta(days=1)
    calls = engine.generate(sc, places, categories, seed, start, end, zone=WIB)
    return list(engine.run(calls, engine.Queue(sc.roster, start, end, WIB)))


def harden(calls: list[engine.SimCall], seed: int) -> list[engine.SimCall]:
    rng = np.random.default_rng(seed + 1)
    prank_counts: dict[str, int] = {}
    for c in calls:
        if c.outcome == "prank" and c.caller_number != "anonymous":
            prank_counts[c.caller_number] = prank_counts.get(c.caller_number, 0) + 1
    repeaters = [n for n, k in prank_counts.items() if k >= 2]
    weights = np.array([prank_counts[n] for n in repeaters], dtype=float)
    weights /= weights.sum()
    out = []
    seq = max(c.seq for c in calls) + 1
    for c in calls:
        if c.intent == "emergency" and repeaters and rng.random() < HOUSEHOLD_SHARE:
            c = dataclasses.replace(c, caller_number=repeaters[int(rng.choice(len(repeaters), p=weights))])
        out.append(c)
        if c.outcome == "emergency" and c.caller_number != "anonymous" and rng.random() < REDIAL_SHARE:
            again = c.offered_at + timedelta(seconds=float(rng.uniform(60, 600)))
            answered = again + timedelta(seconds=float(rng.uniform(2, 8)))
            out.append(dataclasses.replace(c, seq=seq, offered_at=again, answered_at=answered,
                                           ended_at=answered + timedelta(seconds=float(rng.uniform(30, 120)))))
            seq += 1
    return out


def rows_of(calls: list[engine.SimCall]) -> list[risk.Row]:
    rows = [risk.Row(c.seq, normalise_msisdn(c.caller_number), c.offered_at, c.answered_at, c.ended_at, c.outcome)
            for c in calls]
    return sorted(rows, key=lambda r: (r.offered_at, r.id))


def evaluate(rate: float, seed: int, hard: bool) -> dict:
    calls = simulate(rate, seed)
    if hard:
        calls = harden(calls, seed)
    trained = risk.train_and_evaluate(rows_of(calls), (WIB.day_start(TRAIN[0]), WIB.day_start(TRAIN[1])),
                                      (WIB.day_start(TEST[0]), WIB.day_start(TEST[1])), WIB)
    return {"base_rate": rate, "history": "hard" if hard else "plain", "threshold": trained.params["threshold"],
            "test": trained.metrics["test"], "train": trained.metrics["train"],
            "coefficients": trained.metrics["coefficients"]}


def pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="0.01,0.03,0.05,0.1")
    parser.add_argument("--seed", type=int, default=112)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [evaluate(float(r), args.seed, hard) for r in args.rates.split(",") for hard in (False, True)]
    if args.json:
        print(json.dumps(results, indent=1, default=str))
        return 0
    print(f"Train {TRAIN[0]} – {TRAIN[1]}, evaluated on the later {TEST[0]} – {TEST[1]} ([from, to), WIB); "
          "positive = prank; scored = calls an operator labelled.")
    head = (f"{'base rate':>9} {'history':>7} {'emerg/offered':>13} {'scored':>7} {'pranks':>7} {'flagged':>7} "
            f"{'precision':>9} {'recall':>7} {'genuine wrongly flagged':>24} {'threshold':>9}")
    print(head)
    for r in results:
        t = r["test"]
        genuine = f"{t['genuine_flagged']}/{t['emergencies']} ({pct(t['genuine_flagged_share'])})"
        print(f"{pct(r['base_rate']):>9} {r['history']:>7} {pct(t['emergency_share_of_offered']):>13} "
              f"{t['calls']:>7} {t['pranks']:>7} {t['flagged']:>7} {pct(t['precision']):>9} {pct(t['recall']):>7} "
              f"{genuine:>24} {r['threshold']:>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
