"""Fault drills against the two-node cluster (tools/ha/cluster.py), automated, bounded in time, loopback only.

    python tools/ha/drill.py [--dir var/ha-drill] [--drills kill_primary,switchover,kill_node,kill_siaga,pitr,
                                                        kill_edge,baseline_restart]

Brings the cluster up (wiping DIR first), applies the migrations and the reference data, makes a `telephony`
user and API token with the `siaga` CLI, and runs two `siaga serve` processes against the libpq multi-host URL.
Then for each drill: call events at ~10/s through POST /api/v1/call-events (a call's `offered` then `ended`),
each retried as a PBX would (same event id, so a retry is idempotent: after Retry-After on a 503, after 0.5 s on
the other server when a connection fails) until acknowledged; the fault; and afterwards, from the database:

- lost: events acknowledged 2xx that are not in `call_event` (must be 0);
- duplicated: events applied more than once (more than one `call.event` audit entry for an event id) or calls
  recorded twice for one call ref (must be 0);
- first_write_s: from the fault to the first acknowledged write that began after the first failure
  (target <= 30 s); outage_s: from the first failure to that write;
- errors_500: answers that were 500 or any 5xx but 503 (must be 0; 503 with Retry-After is what a PBX retries);
- events_missed / events_duplicated / console_resets: a dispatcher's console (console.py) follows the event
  stream through the fault, resuming with Last-Event-ID; the ids it got against the ledger's (all must be 0).

Drills: kill_primary (kill -9 the primary's postmaster: Patroni restarts or replaces it), switchover (patronictl
switchover, planned), kill_node (kill -9 the primary's Patroni and postmaster: a server gone; the replica takes
the leader key when its lease runs out), kill_siaga (kill -9 of one `siaga serve`: the console resumes on the
other), pitr (pgBackRest: backup, calls, a noted time, more calls, a point-in-time restore to it on a scratch
port: the first calls there, the later ones not, `siaga backup verify --database` passing), kill_edge (two
Kamailio edges, an SBC-like trunk (edges.py); kill -9 of one: new calls arrive through the other),
baseline_restart (the same load against one plain PostgreSQL, no Patroni, its postmaster killed with -9 and
started again at once, as systemd's Restart= would).

Prints one JSON line per drill and a summary line; exits 1 when a target is missed. Tears everything down,
always, unless --keep."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster  # noqa: E402
import console  # noqa: E402
import deadline_check  # noqa: E402

ROOT = cluster.ROOT
SIAGA = str(Path(sys.executable).parent / "siaga")
TARGET_FIRST_WRITE_S = 30.0
RATE = 10.0  # call events per second
WARMUP_S = 3.0
AFTER_S = 3.0  # load kept on after the first write following the fault
FAULT_WAIT_S = 90.0  # no write within this long after the fault: the drill fails (bounded)
GIVE_UP_S = 120.0  # a PBX keeps retrying one event this long
HTTP_TIMEOUT_S = 15.0
DEADLINE_DUE_S = 1.5  # the planted deadline falls due this long after the fault is set off


# ------------------------------------------------------------------------------------------------- load

@dataclass
class Record:
    event_id: str
    call_ref: str
    type: str
    at: str
    acked: float | None = None  # monotonic time of the 2xx
    acked_attempt_start: float | None = None
    attempts: list[tuple[float, float, int]] = field(default_factory=list)  # (start, end, status; 0: no answer)


class Load:
    """Call events at `rate`/s, each retried until acknowledged (or GIVE_UP_S), spread over the servers."""

    def __init__(self, servers: list[int], token: str, prefix: str, rate: float = RATE) -> None:
        self.servers, self.token, self.prefix, self.rate = servers, token, prefix, rate
        self.records: list[Record] = []
        self.lock = threading.Lock()
        self.stop_submitting = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=96, thread_name_prefix="pbx")
        self.futures: list = []  # type: ignore[type-arg]
        self.thread = threading.Thread(target=self._submit, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _submit(self) -> None:
        n, next_t = 0, time.monotonic()
        while not self.stop_submitting.is_set():
            call = n // 2
            kind = "offered" if n % 2 == 0 else "ended"
            rec = Record(f"{self.prefix}-{n:06d}", f"{self.prefix}-call-{call:06d}", kind,
                         datetime.now(UTC).isoformat().replace("+00:00", "Z"))
            with self.lock:
                self.records.append(rec)
            self.futures.append(self.pool.submit(self._deliver, rec, n))
            n += 1
            next_t += 1.0 / self.rate
            time.sleep(max(0.0, next_t - time.monotonic()))

    def _deliver(self, rec: Record, n: int) -> None:
        body = {"event_id": rec.event_id, "call_ref": rec.call_ref, "type": rec.type, "at": rec.at}
        if rec.type == "offered":
            body["caller_number"] = f"0812{n:08d}"
        payload = json.dumps(body).encode()
        server = n % len(self.servers)
        give_up = time.monotonic() + GIVE_UP_S
        while time.monotonic() < give_up:
            start = time.monotonic()
            status, retry_after = 0, 0.5
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.servers[server], timeout=HTTP_TIMEOUT_S)
                conn.request("POST", "/api/v1/call-events", payload,
                             {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if status == 503:
                    retry_after = float(resp.getheader("Retry-After") or 1)
                conn.close()
            except (OSError, http.client.HTTPException):
                status = 0
            end = time.monotonic()
            with self.lock:
                rec.attempts.append((start, end, status))
                if 200 <= status < 300:
                    rec.acked, rec.acked_attempt_start = end, start
                    return
            if 400 <= status < 500:
                return  # refused for what it is: retrying changes nothing (counted as an error)
            if status != 503:
                server = (server + 1) % len(self.servers)  # that server is away: the other one
            time.sleep(retry_after)

    def finish(self, timeout: float) -> None:
        self.stop_submitting.set()
        self.thread.join()
        deadline = time.monotonic() + timeout
        for fut in self.futures:
            try:
                fut.result(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 — counted as unacknowledged below
                pass
        self.pool.shutdown(wait=False, cancel_futures=True)

    def snapshot(self) -> list[Record]:
        with self.lock:
            return list(self.records)

    def acked_since(self, t: float) -> bool:
        with self.lock:
            return any(r.acked_attempt_start is not None and r.acked_attempt_start >= t for r in self.records)

    def failure_start(self, t0: float) -> float | None:
        with self.lock:
            starts = [a[0] for r in self.records for a in r.attempts if a[0] >= t0 and not 200 <= a[2] < 300]
        return min(starts) if starts else None


# ------------------------------------------------------------------------------------------ processes

class Servers:
    """`siaga serve` processes, each in its own session so teardown ends exactly them."""

    def __init__(self, folder: Path, url: str, ports: list[int],
                 extra_env: dict[int, dict[str, str]] | None = None) -> None:
        self.folder, self.url, self.ports = folder, url, ports
        self.extra_env = extra_env or {}
        self.procs: list[subprocess.Popen] = []  # type: ignore[type-arg]

    def env(self) -> dict[str, str]:
        return dict(os.environ, SIAGA_DATABASE_URL=self.url, SIAGA_SECRET_KEY="drill-" + "k" * 40,
                    SIAGA_DATA_DIR=str(self.folder / "data"), SIAGA_EVENT_POLL_SECONDS="2")

    def _spawn(self, port: int) -> subprocess.Popen:  # type: ignore[type-arg]
        with open(self.folder / f"serve-{port}.log", "ab") as log:
            return subprocess.Popen([SIAGA, "serve", "--port", str(port)], cwd=self.folder,
                                    env={**self.env(), **self.extra_env.get(port, {})},
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.procs = [self._spawn(port) for port in self.ports]
        self.wait_ready(self.ports)

    def kill(self, index: int) -> int:
        """kill -9 one server (its whole session): a node's Siaga gone without a word."""
        proc = self.procs[index]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return proc.pid

    def restart(self, index: int) -> None:
        if self.procs[index].poll() is None:
            return
        self.procs[index] = self._spawn(self.ports[index])
        self.wait_ready([self.ports[index]])

    def wait_ready(self, ports: list[int]) -> None:
        deadline = time.monotonic() + 60
        for port in ports:
            while not ready(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"siaga serve on {port} not ready in 60 s:\n"
                                       + cluster.tail(self.folder / f"serve-{port}.log"))
                time.sleep(0.2)

    def tracebacks(self) -> int:
        """Requests that ended in an unhandled exception (a 500), as the servers' logs tell."""
        return sum((self.folder / f"serve-{p}.log").read_text(errors="replace").count("Exception in ASGI")
                   for p in self.ports if (self.folder / f"serve-{p}.log").exists())

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []


def kill_siaga(servers: Servers) -> dict[str, object]:
    """kill -9 the first `siaga serve` (the one the console follows and half the PBX's events go to)."""
    pid = servers.kill(0)
    return {"killed": f"siaga serve {pid} on {servers.ports[0]}"}


def ready(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/readyz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except (OSError, http.client.HTTPException):
        return False


def siaga(url: str, *args: str, folder: Path) -> str:
    env = dict(os.environ, SIAGA_DATABASE_URL=url, COLUMNS="200", NO_COLOR="1")
    result = subprocess.run([SIAGA, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise RuntimeError(f"siaga {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare_database(url: str, folder: Path) -> tuple[str, str]:
    """Migrations, the reference data, a telephony and a dispatcher user and their API tokens (as a technician
    would): (the PBX's token, the dispatcher's)."""
    folder.mkdir(parents=True, exist_ok=True)
    siaga(url, "db", "upgrade", folder=folder)
    siaga(url, "demo", "load", "--no-incidents", folder=folder)
    siaga(url, "users", "add", "pbx", "--role", "telephony", "--name", "PBX (drill)", folder=folder)
    siaga(url, "users", "add", "dispatch", "--role", "dispatcher", "--name", "Dispatcher (drill)", folder=folder)
    tokens = []
    for user in ("pbx", "dispatch"):
        out = siaga(url, "users", "token", user, "--name", "drill", folder=folder)
        match = re.search(r"siaga_[A-Za-z0-9_\-]+", out)
        if not match:
            raise RuntimeError(f"no token in: {out}")
        tokens.append(match.group(0))
    return tokens[0], tokens[1]


# ------------------------------------------------------------------------------------------ verification

def verify(url: str, prefix: str, records: list[Record]) -> dict[str, object]:
    import psycopg

    acked = {r.event_id for r in records if r.acked is not None}
    with psycopg.connect(url, connect_timeout=10) as conn:
        stored = {row[0] for row in conn.execute(
            "SELECT event_id FROM call_event WHERE event_id LIKE %s", (prefix + "-%",))}
        applied_twice = conn.execute(
            "SELECT count(*) FROM (SELECT data::json->>'event_id' AS e FROM audit_log WHERE action = 'call.event' "
            "AND data::json->>'event_id' LIKE %s GROUP BY 1 HAVING count(*) > 1) d", (prefix + "-%",)).fetchone()[0]
        calls_twice = conn.execute(
            "SELECT count(*) FROM (SELECT external_ref FROM call WHERE external_ref LIKE %s GROUP BY 1 "
            "HAVING count(*) > 1) d", (prefix + "-call-%",)).fetchone()[0]
        calls = conn.execute("SELECT count(*) FROM call WHERE external_ref LIKE %s",
                             (prefix + "-call-%",)).fetchone()[0]
    return {"acknowledged": len(acked), "stored": len(stored & {r.event_id for r in records}),
            "lost": len(acked - stored), "duplicated": int(applied_twice) + int(calls_twice),
            "calls": int(calls), "unacknowledged": len(records) - len(acked),
            "unacknowledged_but_stored": len(({r.event_id for r in records} - acked) & stored)}


def measure(name: str, load: Load, t0: float, url: str, prefix: str, servers: Servers,
            extra: dict[str, object]) -> dict[str, object]:
    """After the fault at t0: wait for the first write, keep the load a little longer, then count."""
    deadline = t0 + FAULT_WAIT_S
    first_write: float | None = None
    while time.monotonic() < deadline:
        fail_at = load.failure_start(t0)
        since = fail_at if fail_at is not None else t0
        acks = [r.acked for r in load.snapshot() if r.acked_attempt_start is not None
                and r.acked_attempt_start >= since and r.acked is not None]
        if fail_at is not None and acks:
            first_write = min(acks)
            break
        if fail_at is None and time.monotonic() > t0 + 20:  # the fault never showed: no outage at all
            first_write = min(acks) if acks else None
            break
        time.sleep(0.05)
    time.sleep(AFTER_S)
    load.finish(timeout=GIVE_UP_S + HTTP_TIMEOUT_S)
    records = load.snapshot()
    fail_at = load.failure_start(t0)
    statuses = [a[2] for r in records for a in r.attempts]
    result: dict[str, object] = {
        "drill": name,
        "first_write_s": round(first_write - t0, 2) if first_write is not None else None,
        "outage_s": round(first_write - fail_at, 2) if first_write is not None and fail_at is not None else 0.0,
        **verify(url, prefix, records),
        "events_sent": len(records),
        "answers_503": statuses.count(503),
        "errors_500": sum(1 for s in statuses if 500 <= s < 600 and s != 503),
        "errors_4xx": sum(1 for s in statuses if 400 <= s < 500),
        "no_answer": statuses.count(0),
        "max_ack_s": round(max((r.acked - r.attempts[0][0] for r in records if r.acked), default=0.0), 2),
        "servers_ready_after": all(ready(p) for p, proc in zip(servers.ports, servers.procs, strict=True)
                                   if proc.poll() is None),
        "server_request_exceptions": servers.tracebacks(),
        **extra,
    }
    return result


def missed(result: dict[str, object]) -> list[str]:
    problems = []
    fw = result.get("first_write_s")
    if fw is None or float(fw) > TARGET_FIRST_WRITE_S:  # type: ignore[arg-type]
        problems.append(f"first write {fw} s (target <= {TARGET_FIRST_WRITE_S:.0f} s)")
    for key in ("lost", "duplicated", "errors_500", "events_missed", "events_duplicated", "events_unexpected",
                "console_resets"):
        if result.get(key):
            problems.append(f"{key} = {result[key]}")
    if result.get("unacknowledged"):
        problems.append(f"{result['unacknowledged']} event(s) never acknowledged within {GIVE_UP_S:.0f} s")
    if "deadline_fired" in result and not (result["deadline_state"] == "fired" and result["deadline_fired"] == 1
                                           and result["deadline_next_level"] == 1
                                           and result["incident_escalated_events"] == 1):
        problems.append(f"the deadline due during the fault did not fire exactly once: {result['deadline_state']}, "
                        f"{result['deadline_fired']} firing(s), {result['incident_escalated_events']} escalation(s)")
    if not result.get("servers_ready_after"):
        problems.append("a siaga serve process is not ready after the drill")
    return problems


# ---------------------------------------------------------------------------------------------- faults

def wait_healthy(layout: cluster.Layout, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.leader(layout) and cluster.sync_replica_streaming(layout):
            return
        time.sleep(0.25)
    raise RuntimeError("the cluster did not get back a leader and a synchronous replica in "
                       f"{timeout:.0f} s:\n" + "\n".join(cluster.tail(layout.log(n), 15) for n in cluster.NODES))


def run_drill(name: str, fault, layout: cluster.Layout, url: str, token: str, servers: Servers,
              run_id: str, dispatcher: str | None = None,
              deadline: bool = True) -> dict[str, object]:  # type: ignore[no-untyped-def]
    prefix = f"{run_id}-{name}"
    planted = deadline_check.plant(url, servers.ports[0], dispatcher) if dispatcher and deadline else None
    follower = None
    if dispatcher:  # a dispatcher's console follows the event stream through the fault (from server 0)
        follower = console.Console(servers.ports, dispatcher, console.head(url))
        follower.start()
        if not follower.connected.wait(30):
            raise RuntimeError(f"{name}: the console could not open its event stream")
    load = Load(servers.ports, token, prefix)
    load.start()
    time.sleep(WARMUP_S)
    if not load.acked_since(0):
        load.finish(5)
        raise RuntimeError(f"{name}: no call event acknowledged before the fault")
    if planted is not None:  # falls due while the database is away; fires once it is back
        deadline_check.due_in(url, planted, DEADLINE_DUE_S)
    t0 = time.monotonic()
    extra = fault()
    result = measure(name, load, t0, url, prefix, servers, extra)
    if planted is not None:
        until = time.monotonic() + 60
        while time.monotonic() < until and deadline_check.counted(url, planted)["deadline_state"] == "pending":
            time.sleep(0.25)
        time.sleep(2)  # a second firing, were there one, would come within a tick or two
        result.update(deadline_check.counted(url, planted))
    if follower is not None:
        result.update(console.compare(follower, url))
    return result


def kill_primary(layout: cluster.Layout) -> dict[str, object]:
    lead = cluster.leader(layout)
    assert lead, "no leader"
    pid = cluster.postmaster_pid(layout.data_dir(lead))
    assert pid, f"no postmaster for {lead}"
    os.kill(pid, signal.SIGKILL)
    return {"killed": f"{lead} postmaster {pid}"}


def kill_node(layout: cluster.Layout) -> dict[str, object]:
    lead = cluster.leader(layout)
    assert lead, "no leader"
    patroni_pid = cluster.read_pid(layout.pidfile(lead))
    pid = cluster.postmaster_pid(layout.data_dir(lead))
    for p in (patroni_pid, pid):
        if p:
            os.kill(p, signal.SIGKILL)
    return {"killed": f"{lead} patroni {patroni_pid} and postmaster {pid}"}


def switchover(layout: cluster.Layout) -> dict[str, object]:
    lead = cluster.leader(layout)
    candidate = next(n for n in cluster.NODES if n != lead)
    _user, kw = cluster.run_as()
    result = subprocess.run(["patronictl", "-c", str(layout.config(lead)), "switchover", "--leader", str(lead),
                             "--candidate", candidate, "--force"], capture_output=True, text=True, timeout=60,
                            cwd="/", **kw)  # type: ignore[arg-type]
    if result.returncode != 0:
        raise RuntimeError(f"patronictl switchover failed: {result.stdout}{result.stderr}")
    return {"switched": f"{lead} -> {candidate}"}


# ------------------------------------------------------------------------------------- two SIP edges

def callers_recorded(url: str, callers: list[str]) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        rows = conn.execute("SELECT caller_number, count(*) FROM call WHERE caller_number = ANY(%s) GROUP BY 1",
                            (callers,)).fetchall()
    return {c: int(n) for c, n in rows}


def kill_edge(layout: cluster.Layout, url: str, run_id: str, http_ports: list[int]) -> dict[str, object]:
    """Two Kamailio edges, each bridged by its own `siaga serve`; the trunk (an SBC with both as targets)
    sends a new call every half second; after a few arrive through edge A, A is killed with -9; new calls
    must arrive through B. Counted from the database: every call the trunk got its answer for is recorded
    once (none lost), and the time from the kill to the first call through B."""
    import edges as sip

    folder = layout.dir / "edges"
    folder.mkdir(parents=True, exist_ok=True)
    pair = [sip.Edge("A", folder / "a", sip.free_udp_port(), layout.base_port + 50),
            sip.Edge("B", folder / "b", sip.free_udp_port(), layout.base_port + 51)]
    servers = Servers(layout.dir / "app", url, http_ports,
                      {p: {"SIAGA_TELEPHONY_BRIDGE": "true", "SIAGA_TELEPHONY_EVAPI": e.evapi,
                           "SIAGA_TELEPHONY_LISTEN": f"udp:127.0.0.1:{e.sip_port}"}
                       for p, e in zip(http_ports, pair, strict=True)})
    trunk = sip.Trunk(pair, folder, f"+62819{run_id[1:]}")
    try:
        for edge in pair:
            edge.directory.mkdir(parents=True, exist_ok=True)
            edge.start()
        servers.start()
        # Each bridge is connected: a call placed on each edge is recorded (bounded).
        probes = {e.name: f"+62818{run_id[1:]}{i}" for i, e in enumerate(pair)}
        for edge in pair:
            until = time.monotonic() + 60
            while not callers_recorded(url, [probes[edge.name]]):
                if time.monotonic() > until:
                    raise RuntimeError(f"kill_edge: a call through edge {edge.name} was never recorded")
                trunk._sipp(edge, probes[edge.name])
                time.sleep(0.5)
        trunk.start()
        until = time.monotonic() + 60
        while sum(1 for c in trunk.snapshot() if c.answered_by == "A") < 4 and time.monotonic() < until:
            time.sleep(0.1)
        t0 = time.monotonic()
        killed = pair[0].kill()
        until = time.monotonic() + 60
        while time.monotonic() < until and sum(1 for c in trunk.snapshot() if c.sent_at > t0
                                                and c.answered_by == "B") < 8:
            time.sleep(0.1)
        trunk.stop()
        calls = trunk.snapshot()
        callers = [c.caller for c in calls]
        until = time.monotonic() + 30  # the bridge records a call before the edge answers it; a moment's grace
        recorded = callers_recorded(url, callers)
        while time.monotonic() < until and any(c.answered_by and c.caller not in recorded for c in calls):
            time.sleep(0.25)
            recorded = callers_recorded(url, callers)
        after = [c for c in calls if c.sent_at >= t0]
        first_b = min((c.done_at for c in after if c.answered_by == "B" and c.done_at), default=None)
        return {
            "drill": "kill_edge", "killed": f"edge A (kamailio {killed})",
            "calls_sent": len(calls), "calls_answered": sum(1 for c in calls if c.answered_by),
            "calls_via_a": sum(1 for c in calls if c.answered_by == "A"),
            "calls_via_b_after_kill": sum(1 for c in after if c.answered_by == "B"),
            "calls_unanswered": sum(1 for c in calls if not c.answered_by),
            "calls_retried_on_b": sum(1 for c in calls if len(c.tries) > 1 and c.answered_by == "B"),
            "calls_lost": sum(1 for c in calls if c.answered_by and not recorded.get(c.caller)),
            "calls_recorded_twice": sum(1 for c in calls if recorded.get(c.caller, 0) > 1),
            "first_call_via_b_s": round(first_b - t0, 2) if first_b else None,
            "server_request_exceptions": servers.tracebacks(),
        }
    finally:
        trunk.stopping.set()
        servers.stop()
        for edge in pair:
            edge.stop()


def edge_missed(result: dict[str, object]) -> list[str]:
    problems = []
    if not result["calls_via_b_after_kill"]:
        problems.append("no new call arrived through the other edge")
    for key in ("calls_lost", "calls_recorded_twice", "calls_unanswered"):
        if result[key]:
            problems.append(f"{key} = {result[key]}")
    return problems


# ------------------------------------------------------------------------------ point-in-time restore

PITR_BATCH = 20


def post_batch(port: int, token: str, prefix: str, count: int) -> list[str]:
    """`count` calls offered through the API, each acknowledged (retried within GIVE_UP_S), in order."""
    ids = []
    for n in range(count):
        body = {"event_id": f"{prefix}-{n:04d}", "call_ref": f"{prefix}-call-{n:04d}", "type": "offered",
                "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "caller_number": f"0813{n:08d}"}
        give_up = time.monotonic() + GIVE_UP_S
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
            try:
                conn.request("POST", "/api/v1/call-events", json.dumps(body).encode(),
                             {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if 200 <= resp.status < 300:
                    break
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            if time.monotonic() > give_up:
                raise RuntimeError(f"pitr: {body['event_id']} not acknowledged in {GIVE_UP_S:.0f} s")
            time.sleep(0.5)
        ids.append(body["event_id"])
    return ids


def pitr(layout: cluster.Layout, url: str, token: str, servers: Servers, run_id: str) -> dict[str, object]:
    """A base backup with pgBackRest; calls written (batch A); the time noted; more calls (batch B); the WAL
    archived; then a point-in-time restore to the noted time into a scratch data folder and port, started,
    and checked: every call of A is there, none of B, and `siaga backup verify --database` passes on it
    (schema at head, audit chain intact). The cluster itself is not touched."""
    import psycopg

    prefix = f"{run_id}-pitr"
    started = time.monotonic()
    cluster.backup(layout, "full")
    backup_s = time.monotonic() - started
    before = post_batch(servers.ports[0], token, f"{prefix}-a", PITR_BATCH)
    time.sleep(0.5)  # the target falls strictly between A's commits and B's
    target = datetime.now(UTC)
    time.sleep(0.5)
    after = post_batch(servers.ports[1], token, f"{prefix}-b", PITR_BATCH)
    lead = cluster.leader(layout)
    assert lead, "no leader"
    cluster.pgbackrest(layout, lead, "check")  # switches the WAL segment and waits until it is archived
    folder = layout.dir / "restore-pitr"
    started = time.monotonic()
    restored_url = cluster.restore(layout, target.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "+00", folder,
                                   layout.base_port + 40)
    restore_s = time.monotonic() - started
    try:
        counts = {}
        for name, db_url in (("restored", restored_url), ("live", url)):
            with psycopg.connect(db_url, connect_timeout=10) as conn:
                for batch, ids in (("a", before), ("b", after)):
                    counts[f"{name}_{batch}"] = conn.execute(
                        "SELECT count(*) FROM call_event WHERE event_id = ANY(%s)", (ids,)).fetchone()[0]
        env = dict(os.environ, SIAGA_DATABASE_URL=restored_url, COLUMNS="200", NO_COLOR="1")
        checked = subprocess.run([SIAGA, "backup", "verify", "--database", restored_url], cwd=layout.dir,
                                 env=env, capture_output=True, text=True, timeout=120)
    finally:
        cluster.stop_postgres(folder / "data")
    # `siaga backup verify --pgbackrest`: Siaga's own weekly check restores the newest backup and all archived
    # WAL into a scratch PostgreSQL of its own: it must hold every call the live cluster has.
    with psycopg.connect(url, connect_timeout=10) as conn:
        live_calls = conn.execute("SELECT count(*) FROM call").fetchone()[0]
    env = dict(os.environ, SIAGA_DATABASE_URL=url, COLUMNS="200", NO_COLOR="1")
    started = time.monotonic()
    latest = subprocess.run([SIAGA, "backup", "verify", "--pgbackrest", cluster.SCOPE, "--pgbackrest-config",
                             str(layout.backrest_conf(lead))], cwd=layout.dir, env=env, capture_output=True,
                            text=True, timeout=600)
    latest_s = time.monotonic() - started
    latest_calls = re.search(r"Rows: call ([\d,]+)", latest.stdout)
    rows = re.search(r"Rows: (.*)\n", checked.stdout)
    return {"drill": "pitr", "target": target.isoformat(), "backup_s": round(backup_s, 1),
            "restore_s": round(restore_s, 1), "written_before": len(before), "written_after": len(after),
            "restored_before": counts["restored_a"], "restored_after": counts["restored_b"],
            "live_before": counts["live_a"], "live_after": counts["live_b"],
            "verify_ok": checked.returncode == 0 and "Backup verified" in checked.stdout,
            "verify_rows": rows.group(1).strip() if rows else None,
            "verify_problems": checked.stderr.strip()[-500:] if checked.returncode else "",
            "latest_verify_ok": latest.returncode == 0 and "Backup verified" in latest.stdout,
            "latest_verify_s": round(latest_s, 1), "live_calls": live_calls,
            "latest_restored_calls": int(latest_calls.group(1).replace(",", "")) if latest_calls else None,
            "latest_verify_problems": latest.stderr.strip()[-500:] if latest.returncode else ""}


def pitr_missed(result: dict[str, object]) -> list[str]:
    problems = []
    if result["restored_before"] != result["written_before"]:
        problems.append(f"{result['restored_before']} of {result['written_before']} calls written before the "
                        "target restored")
    if result["restored_after"] != 0:
        problems.append(f"{result['restored_after']} calls written after the target restored")
    if result["live_before"] != result["written_before"] or result["live_after"] != result["written_after"]:
        problems.append("the live cluster lacks calls it acknowledged")
    if not result["verify_ok"]:
        problems.append(f"siaga backup verify --database failed on the restored copy: {result['verify_problems']}")
    if not result["latest_verify_ok"] or result["latest_restored_calls"] != result["live_calls"]:
        problems.append(f"siaga backup verify --pgbackrest: {result['latest_restored_calls']} calls restored of "
                        f"{result['live_calls']}; {result['latest_verify_problems']}")
    return problems


# ----------------------------------------------------------------------------------- the plain baseline

class SinglePostgres:
    """One PostgreSQL from initdb, no Patroni: what a single server with systemd's Restart= gives."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.data = folder / "data"
        self.bin = cluster.find_pg_bin()
        self.proc: subprocess.Popen | None = None  # type: ignore[type-arg]
        self.password = "drill-single"

    def _kw(self) -> dict[str, object]:
        return cluster.run_as()[1]

    def init(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        cluster.chown_tree(self.folder)
        subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=peer",
                        "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"], check=True,
                       stdout=subprocess.DEVNULL, cwd="/", **self._kw())  # type: ignore[arg-type]
        self.start()
        self.psql(f"CREATE ROLE siaga LOGIN PASSWORD '{self.password}'")
        self.psql("CREATE DATABASE siaga OWNER siaga")
        return f"postgresql://siaga:{self.password}@127.0.0.1:{self.port}/siaga"

    def start(self) -> None:
        log = open(self.folder / "postgres.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                                      "-h", "127.0.0.1", "-k", str(self.folder), "-c", "shared_buffers=32MB",
                                      "-c", "max_connections=120"], stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd="/", **self._kw())  # type: ignore[arg-type]
        deadline = time.monotonic() + 60
        while subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
                             ).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("single PostgreSQL not ready:\n" + cluster.tail(self.folder / "postgres.log"))
            time.sleep(0.1)

    def psql(self, sql: str) -> None:
        subprocess.run([str(self.bin / "psql"), "-X", "-q", "-h", str(self.folder), "-p", str(self.port), "-U",
                        "postgres", "-d", "postgres", "-c", sql], check=True, cwd="/",
                       **self._kw())  # type: ignore[arg-type]

    def kill_and_restart(self) -> dict[str, object]:
        pid = cluster.postmaster_pid(self.data)
        assert pid
        os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        # The children notice their postmaster is gone and leave; a new postmaster waits for them.
        self.start()
        return {"killed": f"single postmaster {pid}, started again at once"}

    def stop(self) -> None:
        pid = cluster.postmaster_pid(self.data)
        if pid:
            os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + 30
            while cluster.alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if cluster.alive(pid):
                os.killpg(pid, signal.SIGKILL)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


# ------------------------------------------------------------------------------------------------ main

def summary(results: list[dict[str, object]]) -> dict[str, object]:
    """One line for the issue's benchmark: per fault, the time to the first write, records lost and events a
    console missed, beside the single PostgreSQL's plain restart measured in the same run."""
    base = next((r for r in results if r["drill"] == "baseline_restart"), None)
    rows: dict[str, object] = {}
    for r in results:
        if "first_write_s" in r:
            rows[str(r["drill"])] = {"first_write_s": r["first_write_s"], "outage_s": r["outage_s"],
                                     "records_lost": r["lost"], "records_duplicated": r["duplicated"],
                                     "events_missed": r.get("events_missed"),
                                     "vs_baseline": round(float(r["first_write_s"]) / float(base["first_write_s"]), 2)
                                     if base and base["first_write_s"] and r["first_write_s"] is not None else None}
        elif r["drill"] == "kill_edge":
            rows["kill_edge"] = {"first_call_via_other_edge_s": r["first_call_via_b_s"], "calls_lost": r["calls_lost"]}
        elif r["drill"] == "pitr":
            rows["pitr"] = {"restored_before_target": f"{r['restored_before']}/{r['written_before']}",
                            "restored_after_target": r["restored_after"], "verified": r["verify_ok"],
                            "latest_restored_calls": f"{r['latest_restored_calls']}/{r['live_calls']}"}
    return {"summary": rows}


ALL = ["kill_primary", "switchover", "kill_node", "kill_siaga", "pitr", "kill_edge", "baseline_restart"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="var/ha-drill", help="the drill's cluster folder (wiped first)")
    parser.add_argument("--base-port", type=int, default=15500)
    parser.add_argument("--http-port", type=int, default=18112, help="first siaga serve port (two are used)")
    parser.add_argument("--drills", default=",".join(ALL), help=f"comma-separated, of {', '.join(ALL)}")
    parser.add_argument("--keep", action="store_true", help="leave the cluster up afterwards")
    args = parser.parse_args(argv)
    drills = [d.strip() for d in args.drills.split(",") if d.strip()]
    unknown = set(drills) - set(ALL)
    if unknown:
        parser.error(f"unknown drills: {', '.join(sorted(unknown))}")
    folder = Path(args.dir) if Path(args.dir).is_absolute() else ROOT / args.dir
    layout = cluster.Layout(folder.resolve(), args.base_port)
    run_id = datetime.now(UTC).strftime("d%H%M%S")
    results: list[dict[str, object]] = []
    failed: list[str] = []
    servers: Servers | None = None
    single: SinglePostgres | None = None
    cluster.down(layout, wipe=True)
    try:
        ha_drills = [d for d in drills if d != "baseline_restart"]
        if ha_drills:
            started = time.monotonic()
            layout.dir.mkdir(parents=True, exist_ok=True)
            (layout.dir / "ports.json").write_text(json.dumps({"base_port": layout.base_port}))
            url = cluster.up(layout)
            token, dispatcher = prepare_database(url, layout.dir / "app")
            servers = Servers(layout.dir / "app", url, [args.http_port, args.http_port + 1])
            servers.start()
            print(f"# cluster and two siaga serve processes ready in {time.monotonic() - started:.0f} s",
                  file=sys.stderr, flush=True)
            faults = {"kill_primary": lambda: kill_primary(layout), "switchover": lambda: switchover(layout),
                      "kill_node": lambda: kill_node(layout), "kill_siaga": lambda: kill_siaga(servers)}
            for name in ha_drills:
                wait_healthy(layout)
                if name in ("pitr", "kill_edge"):
                    if name == "pitr":
                        result = pitr(layout, url, token, servers, run_id)
                    else:
                        result = kill_edge(layout, url, run_id, [args.http_port + 4, args.http_port + 5])
                    results.append(result)
                    print(json.dumps(result), flush=True)
                    failed += [f"{name}: {p}" for p in (pitr_missed if name == "pitr" else edge_missed)(result)]
                    continue
                result = run_drill(name, faults[name], layout, url, token, servers, run_id, dispatcher)
                if name == "kill_siaga":  # systemd's Restart= brings it back; the next drill has both again
                    servers.restart(0)
                    result["restarted"] = True
                if name == "kill_node":  # the killed server comes back: it rejoins as a replica (pg_rewind)
                    lead = cluster.leader(layout)
                    for node in cluster.NODES:
                        if node != lead:
                            cluster.start(layout, node, ["patroni", str(layout.config(node))])
                    wait_healthy(layout)
                    result["rejoined"] = True
                result["leader_after"] = cluster.leader(layout)
                results.append(result)
                print(json.dumps(result), flush=True)
                failed += [f"{name}: {p}" for p in missed(result)]
            servers.stop()
            servers = None
            cluster.down(layout)  # the baseline runs alone on the machine, as a single server would
        if "baseline_restart" in drills:
            single = SinglePostgres(layout.dir / "single", args.base_port + 30)
            url = single.init()
            token, dispatcher = prepare_database(url, layout.dir / "single-app")
            servers = Servers(layout.dir / "single-app", url, [args.http_port + 2, args.http_port + 3])
            servers.start()
            result = run_drill("baseline_restart", single.kill_and_restart, layout, url, token, servers, run_id,
                               dispatcher, deadline=False)
            results.append(result)
            print(json.dumps(result), flush=True)
            failed += [f"baseline_restart: {p}" for p in missed(result)]
    finally:
        if servers is not None:
            servers.stop()
        if single is not None:
            single.stop()
        if not args.keep:
            cluster.down(layout)
    if results:
        print(json.dumps(summary(results)), flush=True)
    for problem in failed:
        print(f"TARGET MISSED: {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
