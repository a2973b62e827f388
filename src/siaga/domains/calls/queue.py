"""The call queue's order, one definition for the server and the consoles (static/js/calltaker.js
mirrors `rank_key`). Calls are answered oldest first, except that a number under a `lower_priority`
measure is ranked as if it had arrived `cap` seconds later — but only until it has waited `cap`
seconds; from then on it is ranked by its real arrival again. So no call that arrived after it is ever
ranked ahead of it once it has waited the cap: the measure adds at most the cap to its place in line.
Nothing here, or anywhere, drops or refuses a call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_CAP_S = 20


@dataclass(frozen=True)
class Waiting:
    call_id: int
    offered_at: datetime
    lowered: bool = False


def rank_key(call: Waiting, now: datetime, cap_s: int = DEFAULT_CAP_S) -> tuple[datetime, int]:
    if call.lowered and now - call.offered_at < timedelta(seconds=cap_s):
        return call.offered_at + timedelta(seconds=cap_s), call.call_id
    return call.offered_at, call.call_id


def ordered(calls: list[Waiting], now: datetime, cap_s: int = DEFAULT_CAP_S) -> list[Waiting]:
    return sorted(calls, key=lambda c: rank_key(c, now, cap_s))
