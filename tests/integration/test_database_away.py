"""The service when its database is away at start (issue #18: after a power cut both servers boot, and Siaga
may start before Patroni has chosen a primary): it starts, answers 503 with Retry-After meanwhile, and its
event hub reads the ledger head once the database answers. It used to exit at start-up (the event hub read
the head first), and systemd stops restarting a service that fails five times in ten seconds."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from siaga.db.engine import database_unavailable, make_engine
from siaga.events.hub import EventHub, last_event_id
from tests.conftest import token_for


def run(coro: Any) -> Any:
    with ThreadPoolExecutor(1) as ex:  # a thread of its own: Playwright may own this thread's loop
        return ex.submit(asyncio.run, coro).result()


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_the_service_starts_without_its_database_and_answers_503(database, tmp_path):
    from siaga.app import create_app
    from siaga.settings import Settings

    url = "postgresql://siaga@127.0.0.1:1/siaga" if database == "postgresql" else f"sqlite:///{tmp_path}"
    engine = make_engine(url)
    settings = Settings(database_url=url, secret_key="k" * 40)  # no seeded database: the SQLite pass only
    try:
        with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as client:
            r = client.get("/readyz")
            assert r.status_code == 503 and r.json()["code"] == "database_unavailable", r.text
            r = client.post("/api/v1/call-events", headers={"Authorization": f"Bearer {token_for('phone')}"},
                            json={"event_id": "e1", "call_ref": "c1", "type": "offered",
                                  "at": "2026-11-27T01:00:00Z"})
            assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
    finally:
        engine.dispose()


def test_an_event_hub_started_without_its_database_reads_the_head_once_it_answers(engine, tmp_path):
    away = make_engine(f"sqlite:///{tmp_path}")  # a directory: "unable to open database file"

    async def scenario() -> None:
        hub = EventHub(away, poll_seconds=60)
        await hub.start()  # no exception: the database is not there yet
        assert not hub.at_head
        with pytest.raises(OperationalError) as lost:
            await hub._fetch_and_fan_out()  # what the hub's loop does each poll: still away, retried
        assert database_unavailable(lost.value)
        hub.engine = engine  # the database answers again
        await hub._fetch_and_fan_out()
        assert hub.at_head and hub.last_id == last_event_id(engine)
        await hub.stop()

    try:
        run(scenario())
    finally:
        away.dispose()
