"""This process's fan-out of committed events to its connected consoles. It wakes on a local commit,
on a PostgreSQL NOTIFY from another process, or on a slow poll (the safety net), reads the new events
once from the database, and hands each subscriber the batch.

A process with no console connected (an API-only worker, a telephony bridge) reads no events: it only
keeps `last_id` current, from the id a commit or a NOTIFY names (ids are committed in order: the
ledger hands them out under a lock held until COMMIT, so the id named means every id before it is
committed too), or on a poll from the ledger head. A console that connects then reads its own backlog
(events/stream.py) up to at least that id, and the hub's next batches carry everything after it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import anyio
from sqlalchemy import Engine, select

from siaga.core.aio import within
from siaga.db.engine import database_unavailable, open_session
from siaga.events.models import Event, LedgerHead
from siaga.events.outbox import NOTIFY_CHANNEL, add_after_commit_hook, remove_after_commit_hook

log = logging.getLogger("siaga.events")

RESET = "reset"  # sent to a subscriber that fell too far behind: reload the snapshot
STOPPING = "stopping"  # sent to every subscriber when this process is asked to stop: reconnect elsewhere


def _first_line(exc: BaseException) -> str:
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]


class Subscription:
    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[list[dict[str, Any]] | str] = asyncio.Queue(maxsize)


def read_events(engine: Engine, after: int, limit: int) -> list[dict[str, Any]]:
    """Events after `after`, each with its SSE text formatted once for every console that gets it."""
    with open_session(engine, write=False) as db:
        rows = db.scalars(select(Event).where(Event.id > after).order_by(Event.id).limit(limit)).all()
        events = []
        for r in rows:
            event = r.as_dict()
            data = json.dumps(event, separators=(",", ":"))
            event["audience"] = r.audience
            event["sse"] = f"id: {r.id}\nevent: {r.kind}\ndata: {data}\n\n"
            events.append(event)
        return events


def last_event_id(engine: Engine) -> int:
    with open_session(engine, write=False) as db:
        return db.scalar(select(LedgerHead.last_event_id).where(LedgerHead.id == 1)) or 0


class EventHub:
    def __init__(self, engine: Engine, *, poll_seconds: float = 1.0, batch: int = 1000,
                 queue_size: int = 200) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.queue_size = queue_size
        self.last_id = 0
        self.known_id = 0  # the highest event id a commit or a NOTIFY told us is committed
        self.subscribers: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = False
        self.stopping = False
        self.at_head = False  # last_id has been read from the ledger head once

    async def start(self) -> None:
        """Never fails for a database that is not there yet: after a power cut both servers boot, and Siaga may
        well start before Patroni has chosen a primary. It then starts anyway (answering 503 meanwhile) and
        reads the ledger head when the database answers (it used to exit, and systemd gave up restarting it)."""
        self._loop = asyncio.get_running_loop()
        try:
            await self._read_head()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("the database is not reachable yet (%s); the event hub starts without it", _first_line(exc))
        add_after_commit_hook(self._on_local_commit)
        self._tasks.append(asyncio.create_task(self._run(), name="siaga-event-hub"))
        if self.engine.dialect.name == "postgresql":
            self._tasks.append(asyncio.create_task(self._listen(), name="siaga-pg-listen"))

    async def stop(self) -> None:
        remove_after_commit_hook(self._on_local_commit)
        for task in self._tasks:
            task.cancel()
        # gather, not `await task` under suppress(CancelledError): a cancellation of the caller itself
        # must not be swallowed with the tasks' own.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _on_local_commit(self, event_id: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._committed, event_id)

    def _committed(self, event_id: int) -> None:
        self.known_id = max(self.known_id, event_id)
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def subscribe(self) -> Subscription:
        sub = Subscription(self.queue_size)
        self.subscribers.add(sub)
        if self.stopping:
            sub.queue.put_nowait(STOPPING)
        return sub

    def close_streams(self) -> None:
        """This process is stopping: every console's stream ends now (told to reconnect, which reaches
        another process), instead of holding the server open until its graceful timeout while the console
        still shows itself live and every save fails. Call on the event loop."""
        self.stopping = True
        for sub in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    sub.queue.get_nowait()
            sub.queue.put_nowait(STOPPING)

    def close_streams_soon(self) -> None:
        """close_streams from anywhere (a signal handler, another thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.close_streams)

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)

    async def _run(self) -> None:
        while True:
            polled = False
            try:
                await within(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                polled = True
            self._wake.clear()
            try:
                await self._fetch_and_fan_out(polled)
            except Exception as exc:  # the hub must outlive a database hiccup; the poll retries
                if database_unavailable(exc):  # a failover or a restart: one line, not a traceback a second
                    log.warning("event hub: database unavailable (%s); retrying", _first_line(exc))
                else:
                    log.exception("event hub could not read events")
                await asyncio.sleep(min(self.poll_seconds, 1.0))

    async def _read_head(self) -> None:
        self.last_id = max(self.last_id, await anyio.to_thread.run_sync(last_event_id, self.engine))
        self.at_head = True

    async def _fetch_and_fan_out(self, polled: bool = True) -> None:
        if not self.at_head:
            await self._read_head()
        if not self.subscribers:
            # Nobody to hand events to: only keep last_id current (see the module's docstring).
            if self.known_id > self.last_id:
                self.last_id = self.known_id
            elif polled:
                head = await anyio.to_thread.run_sync(last_event_id, self.engine)
                if self.subscribers:  # one connected while we read: it may not have read up to head
                    self._wake.set()
                else:
                    self.last_id = max(self.last_id, head)
            return
        while True:
            events = await anyio.to_thread.run_sync(read_events, self.engine, self.last_id, self.batch)
            if not events:
                return
            self.last_id = events[-1]["id"]
            for sub in list(self.subscribers):
                try:
                    sub.queue.put_nowait(events)
                except asyncio.QueueFull:
                    # A console this far behind reloads rather than silently missing events.
                    with contextlib.suppress(asyncio.QueueEmpty):
                        while True:
                            sub.queue.get_nowait()
                    sub.queue.put_nowait(RESET)
            if len(events) < self.batch:
                return

    async def _listen(self) -> None:
        """LISTEN on PostgreSQL so a commit in another app process wakes this one at once."""
        import psycopg

        from siaga.db.engine import libpq_conninfo

        url = libpq_conninfo(self.engine)  # every host of a multi-host URL, and a connect timeout
        delay = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.listening = True
                    delay = 0.5
                    self._wake.set()  # catch up on anything committed while we were not listening
                    async for notify in conn.notifies():
                        self._committed(int(notify.payload) if notify.payload.isdigit() else 0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LISTEN connection lost; retrying in %.1fs (polling meanwhile)", delay)
            finally:
                self.listening = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
