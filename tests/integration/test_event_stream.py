"""The live event stream: delivery after commit, resume with Last-Event-ID, per-agency filtering,
and the reset that tells a console to reload rather than show stale data."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import token_for
from tests.sse import SSEClient

FIRE = {"category_code": "kebakaran", "description": "Gudang terbakar"}


def post(base: str, who: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(base + path, json=body, headers={"Authorization": f"Bearer {token_for(who)}"}, timeout=10)


def test_a_new_incident_reaches_a_connected_console(live_server):
    with SSEClient(live_server, token_for("disp")) as stream:
        assert stream.status_code == 200
        created = post(live_server, "ct", "/api/v1/incidents", FIRE).json()
        ev = stream.until(lambda e: e.event == "incident.created")
        assert ev.data["payload"]["number"] == created["number"]
        assert ev.data["entity_id"] == created["id"] and ev.id == ev.data["id"]


def test_resume_with_last_event_id_delivers_exactly_what_was_missed(live_server):
    with SSEClient(live_server, token_for("disp")) as stream:
        first = post(live_server, "ct", "/api/v1/incidents", FIRE).json()
        seen = stream.until(lambda e: e.event == "incident.created")
        assert seen.data["entity_id"] == first["id"]
    # The console is offline while two more incidents come in.
    missed = [post(live_server, "ct", "/api/v1/incidents", {**FIRE, "description": f"#{i}"}).json()
              for i in range(2)]
    with SSEClient(live_server, token_for("disp"), last_event_id=seen.id) as stream:
        got = [stream.until(lambda e: e.event == "incident.created") for _ in missed]
        assert [e.data["entity_id"] for e in got] == [m["id"] for m in missed]
        assert all(e.id > seen.id for e in got)
        assert got[0].id < got[1].id


def test_agency_console_receives_only_its_agencys_incidents(live_server):
    agencies = {a["code"]: a["id"] for a in httpx.get(
        live_server + "/api/v1/agencies", headers={"Authorization": f"Bearer {token_for('disp')}"}).json()}
    with SSEClient(live_server, token_for("damkar")) as damkar:
        medical = post(live_server, "ct", "/api/v1/incidents", {"category_code": "medis"}).json()
        post(live_server, "disp", f"/api/v1/incidents/{medical['id']}/assignments", {"agency_id": agencies["DINKES"]})
        fire = post(live_server, "ct", "/api/v1/incidents", FIRE).json()
        post(live_server, "disp", f"/api/v1/incidents/{fire['id']}/assignments", {"agency_id": agencies["DAMKAR"]})
        ev = damkar.next()
        # The first thing Damkar hears of is its own assignment — nothing of the medical incident before it.
        assert ev.event in ("incident.assignment_added", "timeline.added")
        incident_events = [ev] + [damkar.next() for _ in range(1)]
        for e in incident_events:
            if e.data["entity"] == "incident":
                assert e.data["entity_id"] == fire["id"]
            else:
                assert e.data["payload"]["incident_id"] == fire["id"]


def test_unknown_future_event_id_gets_a_reset(live_server):
    with SSEClient(live_server, token_for("disp"), last_event_id=10_000_000) as stream:
        ev = stream.next()
        assert ev.event == "reset" and ev.data["reason"] == "unknown_event_id"


def test_malformed_last_event_id_is_a_problem(live_server):
    r = httpx.get(live_server + "/api/v1/events", headers={"Authorization": f"Bearer {token_for('disp')}",
                                                           "Last-Event-ID": "abc"}, timeout=10)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "header.Last-Event-ID"


def test_calls_are_not_streamed_to_agency_consoles(live_server):
    with SSEClient(live_server, token_for("dinkes"), read_timeout=6) as dinkes, \
            SSEClient(live_server, token_for("ct")) as ct:
        post(live_server, "phone", "/api/v1/call-events", {
            "event_id": "e1", "call_ref": "c1", "type": "offered", "at": "2026-11-27T01:00:00Z",
            "caller_number": "081234"})
        assert ct.until(lambda e: e.event == "call.created").data["payload"]["caller_number"] == "081234"
        with pytest.raises(TimeoutError):
            dinkes.next(timeout=2)


def test_many_open_consoles_do_not_hold_database_connections(db_url):
    """A stream stays open all shift: it must not keep a pooled connection (nor a worker thread), or a
    centre's consoles reconnecting at once would starve every other request."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from tests.integration.test_two_processes import start

    proc, base = start(db_url, poll=0.5)
    host, port = base.split("//")[1].split(":")

    async def open_console() -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write((f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\n"
                      f"Authorization: Bearer {token_for('disp')}\r\n\r\n").encode())
        await writer.drain()
        return reader, writer, await asyncio.wait_for(reader.readline(), 60)

    async def scenario() -> None:
        consoles = await asyncio.gather(*[open_console() for _ in range(200)])
        assert all(b" 200 " in status for _r, _w, status in consoles)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            r = await client.post("/api/v1/incidents", json=FIRE,
                                  headers={"Authorization": f"Bearer {token_for('ct')}"})
            assert r.status_code == 201
        for _r, w, _s in consoles:
            w.close()

    try:
        # A thread of its own: the browser tests' Playwright may own this thread's event loop.
        with ThreadPoolExecutor(1) as ex:
            ex.submit(asyncio.run, scenario()).result()
    finally:
        proc.terminate()
        proc.wait(20)


def test_consoles_coming_and_going_during_a_burst_miss_no_event(live_server):
    """While nobody is connected the process reads no events, only keeps count of them; a console that
    connects (again) with its Last-Event-ID must still get every event after it, in order, whatever the
    moment it connects — here over and over, while calls keep coming in."""
    import threading

    total = 60
    done = threading.Event()

    def telephony() -> None:
        try:
            for i in range(total):
                r = post(live_server, "phone", "/api/v1/call-events", {
                    "event_id": f"burst-{i}", "call_ref": f"burst-{i}", "type": "offered",
                    "at": "2026-11-27T01:00:00Z", "caller_number": f"08123{i:05d}"})
                assert r.status_code == 201, r.text
        finally:
            done.set()

    start = httpx.get(live_server + "/api/v1/health", timeout=10).json()["last_event_id"]
    writer = threading.Thread(target=telephony, daemon=True)
    writer.start()
    last, refs, reconnects = start, [], 0
    while len(refs) < total:
        with SSEClient(live_server, token_for("ct"), last_event_id=last) as console:
            reconnects += 1
            for _ in range(3):  # a few events, then the console goes away again
                try:
                    ev = console.next(timeout=3 if done.is_set() else 15)
                except TimeoutError:
                    break
                assert ev.id == last + 1, f"after event {last} came {ev.id}: events were skipped"
                last = ev.id
                refs.append(ev.data["payload"]["external_ref"])
        assert reconnects < total * 3, "the burst's events never all arrived"
    writer.join(30)
    assert refs == [f"burst-{i}" for i in range(total)]
    assert reconnects > 10
