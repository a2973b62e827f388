"""The ticker: a background task in every app process. Each tick fires the deadlines that are
due (exactly once across processes, see escalation.py); the first tick runs at start, so deadlines
that fell due while the service was down fire then. It also expires callers' measures whose time is up,
and every few hours anonymises nuisance records past their retention period (one short batch per tick)."""

from __future__ import annotations

import asyncio
import logging

import anyio
from sqlalchemy.engine import Engine

from siaga.core.clock import Clock
from siaga.domains.callers.policy import expire_measures
from siaga.domains.callers.retention import purge_step
from siaga.domains.response.escalation import fire_due
from siaga.settings import Settings

log = logging.getLogger("siaga.deadlines")


class DeadlineTicker:
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
        n = await anyio.to_thread.run_sync(fire_due, self.engine, self.clock, self.settings)
        self.fired += n
        await anyio.to_thread.run_sync(expire_measures, self.engine, self.clock, self.settings)
        await anyio.to_thread.run_sync(purge_step, self.engine, self.clock, self.settings)  # a batch, when due
        return n

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: try again next tick
                log.exception("deadline tick failed")
            await asyncio.sleep(self.settings.deadline_tick_seconds)
