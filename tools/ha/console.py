"""A console's event stream through the fault drills (issue #18: "consoles reconnect and resume their event
streams without a gap"): what a browser's EventSource does, in a thread. It follows GET /api/v1/events on one
`siaga serve`, and whenever the stream ends or fails (the server killed, the database away, a read quiet for
longer than the keepalive allows) it reconnects after the stream's `retry:` hint — to the other server when the
connection itself failed, as a console behind a load balancer or with two server addresses would — sending
`Last-Event-ID` of the last event it saw.

Afterwards `compare` holds what it received against the ledger (the `event` table) over the same window:
events the console may see (staff) that it never got (missed), ids it got twice (duplicated), and `reset`s
(the server telling it to reload: a gap it had to fill from the snapshot, counted apart)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import httpx

READ_TIMEOUT_S = 40.0  # keepalives come every 15 s: silence this long means the connection is dead
RECONNECT_S = 0.5


@dataclass
class Received:
    ids: list[int] = field(default_factory=list)
    resets: list[dict[str, object]] = field(default_factory=list)
    connects: list[tuple[int, int | None, int]] = field(default_factory=list)  # (port, Last-Event-ID, status)


class Console(threading.Thread):
    def __init__(self, ports: list[int], token: str, start_after: int, first: int = 0) -> None:
        super().__init__(daemon=True, name="console")
        self.ports, self.token, self.server = ports, token, first
        self.last_id = start_after
        self.start_after = start_after
        self.got = Received()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self._client: httpx.Client | None = None

    def run(self) -> None:
        while not self.stopping.is_set():
            port = self.ports[self.server]
            status, failed_to_connect = 0, True
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                                  timeout=httpx.Timeout(5, read=READ_TIMEOUT_S)) as client:
                    self._client = client
                    headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream",
                               "Last-Event-ID": str(self.last_id)}
                    with client.stream("GET", "/api/v1/events", headers=headers) as resp:
                        status = resp.status_code
                        with self.lock:
                            self.got.connects.append((port, self.last_id, status))
                        failed_to_connect = False
                        if status == 200:
                            self.connected.set()
                            self._read(resp)
            except (httpx.HTTPError, OSError, ValueError):
                pass
            finally:
                self._client = None
            if self.stopping.is_set():
                return
            if failed_to_connect:
                self.server = (self.server + 1) % len(self.ports)
            self.stopping.wait(RECONNECT_S)

    def _read(self, resp: httpx.Response) -> None:
        ev_id, name, data = None, "message", ""
        for line in resp.iter_lines():
            if self.stopping.is_set():
                return
            if line == "":
                if name == "reset":
                    with self.lock:
                        self.got.resets.append(json.loads(data or "{}"))
                elif ev_id is not None and data:
                    with self.lock:
                        self.got.ids.append(ev_id)
                        self.last_id = ev_id
                ev_id, name, data = None, "message", ""
                continue
            if line.startswith(":") or line.startswith("retry:"):
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "id":
                ev_id = int(value)
            elif key == "event":
                name = value
            elif key == "data":
                data += value

    def seen_up_to(self) -> int:
        with self.lock:
            return self.last_id

    def stop(self) -> None:
        self.stopping.set()
        client = self._client
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 — closing under a reading thread: it ends that read
                pass
        self.join(timeout=10)


def ledger(url: str, after: int) -> tuple[int, list[int]]:
    """(the ledger head, the ids after `after` a staff console may see)."""
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        head = conn.execute("SELECT last_event_id FROM ledger_head WHERE id = 1").fetchone()[0]
        rows = conn.execute("SELECT id, audience FROM event WHERE id > %s AND id <= %s ORDER BY id",
                            (after, head)).fetchall()
    visible = []
    for ev_id, audience in rows:
        aud = json.loads(audience) if isinstance(audience, str) else audience
        if bool((aud or {}).get("staff", True)):
            visible.append(int(ev_id))
    return int(head), visible


def head(url: str) -> int:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        return int(conn.execute("SELECT last_event_id FROM ledger_head WHERE id = 1").fetchone()[0])


def compare(console: Console, url: str, catch_up_s: float = 30.0) -> dict[str, object]:
    """Wait (bounded) until the console has the ledger's head, stop it, and count."""
    top = head(url)
    deadline = time.monotonic() + catch_up_s
    while console.seen_up_to() < top and time.monotonic() < deadline:
        time.sleep(0.1)
    console.stop()
    _, expected = ledger(url, console.start_after)
    expected = [i for i in expected if i <= top]
    with console.lock:
        got = [i for i in console.got.ids if i <= top]
        resets = list(console.got.resets)
        connects = list(console.got.connects)
    received = set(got)
    return {"console_events_expected": len(expected), "console_events_received": len(received),
            "events_missed": len(set(expected) - received), "events_duplicated": len(got) - len(received),
            "events_unexpected": len(received - set(expected)), "console_resets": len(resets),
            "console_reconnects": max(0, len(connects) - 1),
            "console_servers": sorted({p for p, _, s in connects if s == 200})}
