"""asyncio helpers the long-running tasks (event hub, stream, bridge) share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """`await awaitable`, or TimeoutError after `seconds`.

    Instead of `asyncio.wait_for`, which before Python 3.12 can swallow a cancellation that arrives just as
    the awaited thing completes (CPython gh-86296): a loop built on it then ignores `task.cancel()` and
    runs on, and the server's shutdown waits for it forever. `asyncio.timeout` tells the two apart."""
    async with asyncio.timeout(seconds):
        return await awaitable
