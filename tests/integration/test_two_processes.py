"""Stateless app processes: two `siaga serve` processes on one database serve the same centre. A change
made through one reaches consoles connected to the other — on PostgreSQL through LISTEN/NOTIFY (the
poll fallback is set to two minutes here, so only NOTIFY can deliver in time), on SQLite through the
poll. Killing one process loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import free_port, token_for
from tests.sse import SSEClient


def start(db_url: str, poll: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "SIAGA_DATABASE_URL": db_url, "SIAGA_EVENT_POLL_SECONDS": str(poll),
           "SIAGA_SECRET_KEY": "test"}
    proc = subprocess.Popen([sys.executable, "-m", "siaga", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "server died")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start")


@pytest.fixture
def two_servers(db_url: str, engine) -> Iterator[tuple[subprocess.Popen, str, subprocess.Popen, str]]:  # type: ignore[no-untyped-def]
    poll = 120.0 if engine.dialect.name == "postgresql" else 0.5
    a, base_a = start(db_url, poll)
    b, base_b = start(db_url, poll)
    try:
        if engine.dialect.name == "postgresql":  # wait until B is listening, or the test proves nothing
            deadline = time.monotonic() + 30
            while not httpx.get(base_b + "/api/v1/health").json()["event_stream_listening"]:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        yield a, base_a, b, base_b
    finally:
        for p in (a, b):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(who)}"}


def test_change_through_one_process_reaches_console_on_the_other(two_servers):
    _a, base_a, _b, base_b = two_servers
    with SSEClient(base_b, token_for("disp")) as console_on_b:
        created = httpx.post(base_a + "/api/v1/incidents", json={"category_code": "kebakaran"},
                             headers=auth("ct"), timeout=10).json()
        ev = console_on_b.until(lambda e: e.event == "incident.created", limit=50)
        assert ev.data["payload"]["number"] == created["number"]


def test_killing_one_process_loses_nothing(two_servers):
    a, base_a, _b, base_b = two_servers
    created = httpx.post(base_a + "/api/v1/incidents", json={"category_code": "medis"}, headers=auth("ct"),
                         timeout=10).json()
    os.killpg(a.pid, signal.SIGKILL)
    a.wait(10)
    got = httpx.get(f"{base_b}/api/v1/incidents/{created['id']}", headers=auth("disp"), timeout=10)
    assert got.status_code == 200 and got.json()["number"] == created["number"]
    with SSEClient(base_b, token_for("disp"), last_event_id=0) as console:
        ev = console.until(lambda e: e.event == "incident.created", limit=500)
        assert ev.data["entity_id"] == created["id"]


def test_a_stopping_process_sends_its_consoles_elsewhere_and_stops_at_once(two_servers):
    """SIGTERM with consoles connected: each is told `reset` (server_stopping) at once, so that it reconnects
    (to the other process) instead of showing itself live on a process that no longer saves anything, and
    the process exits without waiting out its graceful timeout for the streams. The other process keeps
    serving the same centre."""
    a, base_a, _b, base_b = two_servers
    with SSEClient(base_a, token_for("disp"), read_timeout=30) as console, \
            SSEClient(base_a, token_for("damkar"), read_timeout=30) as agency_console:
        os.killpg(a.pid, signal.SIGTERM)
        for stream in (console, agency_console):
            told = stream.until(lambda e: e.event == "reset", limit=500)
            assert told.data["reason"] == "server_stopping"
            with pytest.raises(EOFError):  # and the stream ends there
                stream.next(timeout=30)
        a.wait(30)
    assert a.returncode is not None
    with SSEClient(base_b, token_for("disp")) as elsewhere:
        created = httpx.post(base_b + "/api/v1/incidents", json={"category_code": "kebakaran"},
                             headers=auth("ct"), timeout=10).json()
        assert elsewhere.until(lambda e: e.event == "incident.created").data["payload"]["number"] == \
            created["number"]
