"""Replay a simulated call stream live through the service's own API, as a telephony bridge would:
POST /api/v1/call-events with a telephony API token, at `speed` times real time (60: an hour in a
minute). Event times are the wall-clock moments the events are due, so waits and call lengths shrink by
the same factor; every event has a stable event_id, so a replay that is interrupted and started again
changes nothing twice.

- answer="sim": the simulation plays the centre too — calls are answered (by `operators`' usernames, if
  given) and ended, or abandoned, as the queue model decided. Outcomes of answered calls are not sent:
  the telephony side does not know them (operators record them).
- answer="humans": only the ringing reaches the centre; people answer in the call-taker console. When a
  caller's patience runs out the bridge asks for the call (a repeated `ringing` event answers with its
  state) and hangs up (`abandoned`) only if nobody has taken it; a taken call is ended by the caller after
  their handle time."""

from __future__ import annotations

import heapq
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from siaga.domains.calls.marks import SIM_PREFIX
from siaga.domains.simulate.engine import SimCall

EVENTS_PATH = "/api/v1/call-events"


@dataclass
class ReplayResult:
    calls: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    late_s: float = 0.0  # the most the sender fell behind schedule, in wall-clock seconds


def _event(ref: str, kind: str, at: datetime, call: SimCall, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": f"{ref}-{kind}", "call_ref": ref, "type": kind,
                            "at": at.isoformat(), "caller_number": call.caller_number, "simulated": True}
    if kind == "offered":
        body["location"] = {"source": "network", "lat": call.lat, "lon": call.lon, "accuracy_m": call.accuracy_m}
    body.update(extra or {})
    return body


def replay(client: httpx.Client, calls: Iterable[SimCall], *, speed: float = 60.0, answer: str = "sim",
           operators: list[str] | None = None, run: str = "live", limit: int | None = None,
           sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
           on_call: Callable[[int], None] | None = None) -> ReplayResult:
    if speed <= 0:
        raise ValueError("speed must be > 0")
    if answer not in ("sim", "humans"):
        raise ValueError("answer is 'sim' or 'humans'")
    result = ReplayResult()
    source = iter(calls if limit is None else itertools.islice(calls, limit))
    first = next(source, None)
    if first is None:
        return result
    sim0, wall0, utc0 = first.offered_at, monotonic(), datetime.now(UTC)
    order = itertools.count()
    heap: list[tuple[float, int, str, SimCall, dict[str, Any]]] = []

    def due(at: datetime) -> float:
        return (at - sim0).total_seconds() / speed

    def schedule(at_s: float, kind: str, call: SimCall, extra: dict[str, Any] | None = None) -> None:
        heapq.heappush(heap, (at_s, next(order), kind, call, extra or {}))

    def add(call: SimCall) -> None:
        result.calls += 1
        if on_call:
            on_call(result.calls)
        t = due(call.offered_at)
        schedule(t, "offered", call)
        # People answering: the call rings in the queue at once. The simulator answering: it rings when a
        # free operator's phone rings (the pickup delay before the answer, measured by the centre as a real
        # one would be); a caller who hangs up while still queued never rang.
        if answer == "humans":
            schedule(t, "ringing", call)
        elif call.ringing_at is not None:
            schedule(due(call.ringing_at), "ringing", call)
        if answer == "humans":
            schedule(t + call.patience_s / speed, "hangup?", call)
        elif call.answered_at is not None:
            user = operators[call.server % len(operators)] if operators and call.server is not None else None
            schedule(due(call.answered_at), "answered", call, {"operator_username": user} if user else {})
            schedule(due(call.ended_at or call.answered_at), "ended", call)
        else:
            schedule(due(call.ended_at or call.offered_at), "abandoned", call)

    add(first)
    upcoming = next(source, None)
    while heap or upcoming is not None:
        # Keep the next call's offer in the heap before sending anything due after it.
        while upcoming is not None and (not heap or due(upcoming.offered_at) <= heap[0][0]):
            add(upcoming)
            upcoming = next(source, None)
        at_s, _, kind, call, extra = heapq.heappop(heap)
        wait = at_s - (monotonic() - wall0)
        if wait > 0:
            sleep(wait)
        else:
            result.late_s = max(result.late_s, -wait)
        at = utc0 + timedelta(seconds=at_s)
        ref = f"{SIM_PREFIX}{run}-{call.seq:07d}"
        if kind == "hangup?":
            probe = _post(client, _event(ref, "ringing", at, call, {"event_id": f"{ref}-probe"}), result)
            state = (probe or {}).get("call", {})
            if probe is not None and state.get("status") in ("offered", "ringing"):
                _post(client, _event(ref, "abandoned", at, call), result, "abandoned")
            elif state.get("answered_at") and state.get("status") == "answered":
                answered = datetime.fromisoformat(state["answered_at"])
                end_s = max(at_s, (answered - utc0).total_seconds() + call.handle_s / speed)
                schedule(end_s, "ended", call)
            continue
        _post(client, _event(ref, kind, at, call, extra), result, kind)
    return result


def _post(client: httpx.Client, body: dict[str, Any], result: ReplayResult,
          kind: str | None = None) -> dict[str, Any] | None:
    try:
        r = client.post(EVENTS_PATH, json=body)
    except httpx.HTTPError as exc:
        result.errors.append(f"{body['event_id']}: {exc}")
        return None
    if r.status_code not in (200, 201):
        result.errors.append(f"{body['event_id']}: HTTP {r.status_code} {r.text[:200]}")
        return None
    data: dict[str, Any] = r.json()
    if data.get("duplicate"):
        result.duplicates += 1
    elif kind:
        result.sent[kind] += 1
    return data
