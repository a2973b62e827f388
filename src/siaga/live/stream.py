"""Server-Sent Events for one console: the backlog after Last-Event-ID from the database, then live
batches from the hub, filtered to what the user may see. A client too far behind gets `reset`.
Callers' numbers reach a reader masked or in full by the one rule of domains/calls/privacy.py
(`event_for`; the masked text of an event is made once per process and shared)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import anyio
from starlette.requests import Request

from siaga.core.aio import within
from siaga.core.authz import Principal
from siaga.core.clock import Clock
from siaga.domains.calls.privacy import event_for
from siaga.events.hub import RESET, STOPPING, EventHub, last_event_id, read_events

log = logging.getLogger("siaga.events")


def visible(principal: Principal, event: dict[str, Any]) -> bool:
    audience = event["audience"]
    if principal.is_staff:
        return bool(audience.get("staff", True))
    return principal.agency_id is not None and principal.agency_id in audience.get("agencies", [])


def format_reset(last_id: int, reason: str) -> str:
    data = json.dumps({"reason": reason, "last_event_id": last_id})
    return f"event: reset\ndata: {data}\n\n"


class Heartbeat:
    """Tells the database a console is open: when its stream connects, then at most once per `every`
    (checked whenever the stream wakes, at least every keepalive). Each mark is a short write of its own
    in a worker thread, run beside the stream so a busy database never delays the console's events; a
    failed mark is logged and never ends the stream."""

    _running: set[asyncio.Task[None]] = set()  # strong references until done (asyncio keeps weak ones)

    def __init__(self, mark: Callable[[datetime], None], clock: Clock, every: timedelta) -> None:
        self.mark, self.clock, self.every = mark, clock, every
        self.last: datetime | None = None
        self.task: asyncio.Task[None] | None = None

    def beat(self) -> None:
        now = self.clock.now()
        if (self.task is not None and not self.task.done()) or (
                self.last is not None and now - self.last < self.every):
            return
        self.last = now
        self.task = asyncio.create_task(self._mark(now))
        self._running.add(self.task)
        self.task.add_done_callback(self._running.discard)

    async def _mark(self, now: datetime) -> None:
        try:
            await anyio.to_thread.run_sync(self.mark, now)
        except Exception:
            log.warning("could not mark the console as seen", exc_info=True)


async def event_stream(request: Request, hub: EventHub, principal: Principal, after: int,
                       backlog_limit: int, keepalive: float,
                       heartbeat: Heartbeat | None = None) -> AsyncIterator[str]:
    sub = hub.subscribe()  # subscribe before reading the backlog so nothing falls in between
    try:
        yield "retry: 2000\n\n"
        if heartbeat is not None:
            heartbeat.beat()
        last = after
        current = await anyio.to_thread.run_sync(last_event_id, hub.engine)
        if after > current:
            yield format_reset(current, "unknown_event_id")
            return
        backlog = await anyio.to_thread.run_sync(read_events, hub.engine, after, backlog_limit + 1)
        if len(backlog) > backlog_limit:
            yield format_reset(hub.last_id, "too_far_behind")
            return
        for event in backlog:
            last = event["id"]
            if visible(principal, event):
                yield event_for(principal, event)["sse"]
        while True:
            try:
                item = await within(sub.queue.get(), keepalive)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                if heartbeat is not None:
                    heartbeat.beat()
                yield ": keepalive\n\n"
                continue
            if item == RESET:
                yield format_reset(hub.last_id, "too_far_behind")
                return
            if item == STOPPING:
                yield format_reset(hub.last_id, "server_stopping")
                return
            assert isinstance(item, list)
            if heartbeat is not None:
                heartbeat.beat()
            for event in item:
                if event["id"] <= last:
                    continue
                last = event["id"]
                if visible(principal, event):
                    yield event_for(principal, event)["sse"]
    finally:
        hub.unsubscribe(sub)
