"""The ticker: a background task in every app process. Each tick runs the jobs of jobs.py in turn (deadlines,
then measures, then retention); the first tick runs at start, so deadlines that fell due while the service
was down fire then. A job that fails is logged and the others still run: a purge that trips over a locked
row must never hold up an escalation."""

from __future__ import annotations

import asyncio
import logging

import anyio
from sqlalchemy.engine import Engine

from siaga.core.clock import Clock
from siaga.db.engine import database_unavailable
from siaga.settings import Settings
from siaga.timers.jobs import JOBS

log = logging.getLogger("siaga.deadlines")


class Ticker:
    def __init__(self, engine: Engine, clock: Clock, settings: Settings) -> None:
        self.engine, self.clock, self.settings = engine, clock, settings
        self.task: asyncio.Task[None] | None = None
        self.fired = 0

    async def start(self) -> None:
        if self.settings.deadline_tick_seconds > 0:
            self.task = asyncio.create_task(self._run(), name="siaga-deadline-ticker")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def tick(self) -> int:
        """One pass over the jobs; returns the deadlines fired."""
        fired = 0
        for job in JOBS:
            try:
                done = await anyio.to_thread.run_sync(job.run, self.engine, self.clock, self.settings)
            except Exception as exc:  # the database away for a moment: the next job, and the next tick, try again
                if database_unavailable(exc):  # a failover or a restart: one line per job, not a traceback
                    log.warning("ticker job %s: database unavailable (%s)", job.name,
                                (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0])
                else:
                    log.exception("ticker job %s failed", job.name)
                continue
            if job.name == "deadlines":
                fired = done or 0
        self.fired += fired
        return fired

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: try again next tick
                log.exception("deadline tick failed")
            await asyncio.sleep(self.settings.deadline_tick_seconds)
