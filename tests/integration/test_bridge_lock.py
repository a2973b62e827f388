"""One bridge per SIP edge (telephony/lead.py), on both databases: the lock a bridge takes before it
connects to the edge, what a second bridge sees, and what happens when the holder goes."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine

from siaga.domains.telephony import lead
from siaga.domains.telephony.lead import BridgeLock


def run(coro: Any) -> Any:
    # A thread of its own: the browser tests' Playwright may own this thread's event loop.
    with ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, coro).result()


def test_the_first_bridge_takes_the_edge_a_second_waits_and_takes_over_when_it_goes(engine: Engine) -> None:
    async def scenario() -> None:
        first, second = BridgeLock(engine, "127.0.0.1:8448"), BridgeLock(engine, "127.0.0.1:8448")
        await asyncio.wait_for(first.acquire(), 10)
        assert first.held and await first.still_held()
        assert await second._try() is False  # the spare stands by
        waiting = asyncio.create_task(second.acquire())
        await asyncio.sleep(0.3)
        assert not waiting.done() and not second.held
        await first.release()  # the serving bridge goes (a killed process releases it the same way)
        assert not await first.still_held()
        await asyncio.wait_for(waiting, lead.RETRY_S * 3)
        assert second.held and await second.still_held()
        # Another edge has a lock of its own.
        other = BridgeLock(engine, "127.0.0.1:9448")
        await asyncio.wait_for(other.acquire(), 10)
        assert other.held
        await other.release()
        await second.release()

    run(scenario())


def test_a_holder_whose_lock_connection_dies_knows_it_has_lost_the_edge(engine: Engine) -> None:
    """PostgreSQL frees the lock when the holder's connection ends (a network cut, a killed backend): the
    holder must notice and stop bridging, since a spare may take the edge at once."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite the lock is the process's own file lock, held while it lives")

    async def scenario() -> None:
        holder = BridgeLock(engine, "127.0.0.1:8449")
        await asyncio.wait_for(holder.acquire(), 10)
        pid = holder._pg.info.backend_pid
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        assert not await holder.still_held()
        spare = BridgeLock(engine, "127.0.0.1:8449")
        await asyncio.wait_for(spare.acquire(), 10)
        await spare.release()

    run(scenario())


def test_the_lock_is_taken_through_a_multi_host_url_whose_first_server_is_gone(engine: Engine) -> None:
    """Two PostgreSQL servers (issue #18): the lock's own connection gets libpq's host list, so it skips a
    server that is down and finds the writable one, as the pool does. It used to render the URL for libpq, which
    read `host=h1:5432` as one host name: with a multi-host URL no bridge could ever take the edge."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: a multi-host URL is libpq's")
    from siaga.db.engine import make_engine

    url = engine.url
    hosts = ("127.0.0.1:1", f"{url.host or '127.0.0.1'}:{url.port or 5432}")  # nothing listens on port 1
    two = make_engine(url.set(host=None, port=None, query={**url.query, "host": hosts,
                                                            "target_session_attrs": "read-write"})
                      .render_as_string(hide_password=False), pool_size=1)

    async def scenario() -> None:
        holder = BridgeLock(two, "127.0.0.1:8450")
        await asyncio.wait_for(holder.acquire(), 10)
        assert holder.held and await holder.still_held()
        await holder.release()

    try:
        with two.connect() as conn:
            assert conn.exec_driver_sql("SELECT NOT pg_is_in_recovery()").scalar()
        run(scenario())
    finally:
        two.dispose()
