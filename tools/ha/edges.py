"""Two SIP edges for the kill_edge drill (issue #18: "kill one edge: new calls arrive through the other").

Each edge is a Kamailio rendered from the project's own template (domains/telephony/edge.py), as `siaga
telephony start` renders it, on its own loopback SIP port and evapi port; each `siaga serve` of the drill runs
the bridge to one of them (SIAGA_TELEPHONY_BRIDGE, SIAGA_TELEPHONY_EVAPI), as on two real servers.

`Trunk` is the telco's side: an SBC with two targets in priority order, as docs/deployment.md section 7 asks
of it (or DNS SRV with two records, RFC 3263): each new call goes to the first target not marked down; a
target is marked down when it does not answer the call's INVITE within INVITE_TIMEOUT_S (the SBC's
Timer B, shortened) or its OPTIONS ping, and the call is tried at once on the next (the SBC's failover). The
calls are sipp's trunk_refused scenario (nobody on duty: the edge answers 480 and the call is recorded as
missed), each with its own caller number, so the database tells which arrived."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import siaga.domains.telephony
from siaga.domains.telephony.edge import EdgePaths, kamailio_binary, render_config
from siaga.settings import Settings

SCENARIOS = Path(siaga.domains.telephony.__file__).parent / "sipp"
INVITE_TIMEOUT_S = 3
DOWN_FOR_S = 60.0  # a target that failed is not tried again for this long (the SBC's blacklist)
CALL_EVERY_S = 0.5


def free_udp_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def options_answered(port: int, timeout: float = 1.0) -> bool:
    """An SBC's OPTIONS ping: does the edge answer at all?"""
    call_id = uuid.uuid4().hex
    raw = (f"OPTIONS sip:ping@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{call_id}\r\n"
           f"From: <sip:sbc@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n"
           "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.bind(("127.0.0.1", 0))
        port_here = s.getsockname()[1]
        s.sendto(raw.replace(b"127.0.0.1:9;", f"127.0.0.1:{port_here};".encode()), ("127.0.0.1", port))
        try:
            return s.recv(65535).startswith(b"SIP/2.0")
        except OSError:
            return False


@dataclass
class Edge:
    name: str
    directory: Path
    sip_port: int
    evapi_port: int
    proc: subprocess.Popen | None = None  # type: ignore[type-arg]

    @property
    def evapi(self) -> str:
        return f"127.0.0.1:{self.evapi_port}"

    def start(self) -> None:
        # Signalling only: the drill is about which edge a call reaches (nobody answers; no media to anchor).
        settings = Settings(database_url="sqlite://", secret_key="x" * 40, telephony_evapi=self.evapi,
                            telephony_listen=f"udp:127.0.0.1:{self.sip_port}", telephony_media=False)
        paths = EdgePaths(self.directory)
        paths.runtime.mkdir(parents=True, exist_ok=True)
        paths.config.write_text(render_config(settings, paths, log_stderr=True, children=2))
        with open(self.directory / "kamailio.log", "ab") as log:
            self.proc = subprocess.Popen([kamailio_binary(), "-f", str(paths.config), "-DD", "-E", "-Y",
                                          str(paths.runtime), "-m", "64", "-M", "8"], stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while not options_answered(self.sip_port, 0.3):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"edge {self.name} did not start:\n"
                                   + (self.directory / "kamailio.log").read_text(errors="replace")[-2000:])

    def kill(self) -> int:
        """kill -9 of Kamailio and every child: the edge's server gone."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@dataclass
class TrunkCall:
    caller: str
    sent_at: float
    tries: list[tuple[str, int]] = field(default_factory=list)  # (edge name, sipp exit code)
    answered_by: str | None = None  # the edge whose 480 came back
    done_at: float | None = None


class Trunk(threading.Thread):
    """New emergency calls every CALL_EVERY_S, through the first edge not marked down."""

    def __init__(self, edges: list[Edge], folder: Path, prefix: str) -> None:
        super().__init__(daemon=True, name="trunk")
        self.edges, self.folder, self.prefix = edges, folder, prefix
        self.calls: list[TrunkCall] = []
        self.down_until: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self) -> None:
        n = 0
        next_t = time.monotonic()
        while not self.stopping.is_set():
            call = TrunkCall(f"{self.prefix}{n:04d}", time.monotonic())
            with self.lock:
                self.calls.append(call)
            self._place(call)
            n += 1
            next_t += CALL_EVERY_S
            self.stopping.wait(max(0.0, next_t - time.monotonic()))

    def _targets(self) -> list[Edge]:
        now = time.monotonic()
        up = [e for e in self.edges if self.down_until.get(e.name, 0) <= now]
        return up or list(self.edges)

    def _place(self, call: TrunkCall) -> None:
        for edge in self._targets():
            rc = self._sipp(edge, call.caller)
            with self.lock:
                call.tries.append((edge.name, rc))
            if rc == 0:
                with self.lock:
                    call.answered_by, call.done_at = edge.name, time.monotonic()
                return
            if not options_answered(edge.sip_port):
                self.down_until[edge.name] = time.monotonic() + DOWN_FOR_S

    def _sipp(self, edge: Edge, caller: str) -> int:
        rows = self.folder / f"caller-{caller}.csv"
        rows.write_text(f"SEQUENTIAL\n{caller}\n")
        cmd = ["sipp", "-sf", str(SCENARIOS / "trunk_refused.xml"), "-inf", str(rows), "-i", "127.0.0.1",
               "-p", str(free_udp_port()), "-m", "1", "-nostdin", "-timeout", f"{INVITE_TIMEOUT_S}s",
               "-timeout_error", "-recv_timeout", f"{INVITE_TIMEOUT_S * 1000}", f"127.0.0.1:{edge.sip_port}"]
        try:
            return subprocess.run(cmd, capture_output=True, timeout=INVITE_TIMEOUT_S + 10,
                                  cwd=self.folder).returncode
        except subprocess.TimeoutExpired:
            return -1
        finally:
            rows.unlink(missing_ok=True)

    def snapshot(self) -> list[TrunkCall]:
        with self.lock:
            return list(self.calls)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=INVITE_TIMEOUT_S * 3 + 20)
