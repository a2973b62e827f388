"""An app process stops when told to, however busy it is: a hub that ignored its stop kept a server's
shutdown (SIGTERM, a restart, a failover) waiting forever, and a supervisor then has to kill -9 it."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import Engine

from siaga.events.hub import EventHub


def test_the_event_hub_stops_even_when_woken_as_it_is_stopped(engine: Engine) -> None:
    """A commit wakes the hub in the same instant as the stop (every few yields apart): the stop wins.
    asyncio.wait_for before Python 3.12 swallowed exactly this cancellation (CPython gh-86296)."""

    async def main() -> list[int]:
        stuck = []
        for yields in range(12):
            for _ in range(4):
                hub = EventHub(engine, poll_seconds=0.2)
                await hub.start()
                await asyncio.sleep(0.01)  # the hub is waiting for a wake-up
                hub.wake()
                for _ in range(yields):
                    await asyncio.sleep(0)
                stopping = asyncio.create_task(hub.stop())
                done, _ = await asyncio.wait({stopping}, timeout=5)  # a hang detector, not a speed limit
                if not done:
                    stuck.append(yields)
                    return stuck  # the hub runs on: nothing more to learn
        return stuck

    # An event loop in a thread of its own: the browser tests keep one running in the main thread.
    result: list[list[int]] = []
    runner = threading.Thread(target=lambda: result.append(asyncio.run(main())))
    runner.start()
    runner.join()
    assert result == [[]]
