"""At most one bridge per SIP edge. The edge sends every event to every client connected to its evapi
socket, so two bridges would each take every call: two ring plans, commands sent twice. An admin may
well start several (`siaga serve --workers 4` with SIAGA_TELEPHONY_BRIDGE=true starts one per worker;
`siaga telephony bridge` on a second host as a spare): the first to take the edge's lock bridges, the
others stand by and take over when it goes.

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection of its own, keyed by the
  edge's evapi address. It is released by the server the moment the holder's connection ends (process
  killed, host gone), so a spare takes over within one retry (`RETRY_S`). The holder checks its lock
  connection every `CHECK_S`; if the connection is gone, so is the lock, and it stops bridging at once.
- SQLite (one host): an exclusive `flock` on a file beside the database, released by the kernel when the
  holder's process ends. An in-memory database is one process by definition: no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from siaga.core.aio import within

log = logging.getLogger("siaga.telephony")
RETRY_S = 2.0
CHECK_S = 2.0


def lock_key(evapi: str) -> int:
    """A signed 64-bit advisory-lock key for the edge's evapi address."""
    return int.from_bytes(hashlib.sha256(f"siaga-bridge:{evapi}".encode()).digest()[:8], "big", signed=True)


class BridgeLock:
    def __init__(self, engine: Engine, evapi: str) -> None:
        self.engine, self.evapi = engine, evapi
        self.key = lock_key(evapi)
        self._pg: Any = None  # psycopg.AsyncConnection holding the advisory lock
        self._fd: int | None = None
        self.held = False

    async def acquire(self) -> None:
        """Return once this process holds the edge's lock; until then, stand by (said once in the log)."""
        said = False
        while True:
            try:
                if await self._try():
                    self.held = True
                    if said:
                        log.warning("taking over the SIP edge at %s: the bridge that had it is gone", self.evapi)
                    return
                if not said:
                    log.warning("another bridge already serves the SIP edge at %s; standing by to take over",
                                self.evapi)
                    said = True
            except Exception as exc:  # the database is away: keep trying, never crash the app
                log.warning("could not take the bridge lock (%s); retrying", exc)
            await asyncio.sleep(RETRY_S)

    async def still_held(self) -> bool:
        """False when the lock is gone (PostgreSQL: its connection is broken)."""
        if not self.held:
            return False
        if self._pg is None:
            return True
        try:
            await within(self._pg.execute("SELECT 1"), CHECK_S * 2)
            return True
        except (Exception, TimeoutError):
            await self.release()
            return False

    async def release(self) -> None:
        self.held = False
        if self._pg is not None:
            pg, self._pg = self._pg, None
            with contextlib.suppress(Exception):
                await pg.close()  # the server releases the session's advisory lock with it
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)  # and the kernel the flock

    async def _try(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            return await self._try_postgres()
        return self._try_file()

    async def _try_postgres(self) -> bool:
        import psycopg

        from siaga.db.engine import libpq_conninfo

        url = libpq_conninfo(self.engine)  # every host of a multi-host URL, and a connect timeout
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=5)
        try:
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))).fetchone()
        except BaseException:
            await conn.close()
            raise
        if row and row[0]:
            self._pg = conn
            return True
        await conn.close()
        return False

    def _try_file(self) -> bool:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return True
        path = Path(f"{database}.bridge-{self.key & 0xFFFFFFFF:08x}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True
