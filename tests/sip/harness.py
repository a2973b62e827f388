"""Real SIP peers for the tests: a Kamailio edge rendered from the project's own template, sipp as the
telco trunk and as operator phones. Nothing is faked: the service under test is the real app with its
bridge, talking to the real Kamailio over evapi."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, select

import siaga.domains.telephony
from siaga.core.clock import Clock
from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import Call, CallLocation, RingAttempt
from siaga.domains.recordings import actions as recording_actions
from siaga.domains.recordings.models import Recording
from siaga.domains.telephony import actions, schemas
from siaga.domains.telephony.edge import EdgePaths, ensure_tls, kamailio_binary, render_config
from siaga.domains.telephony.models import OperatorLine
from siaga.domains.users.models import User
from siaga.settings import Settings

SCENARIOS = Path(siaga.domains.telephony.__file__).parent / "sipp"
CONFORMANCE = Path(os.environ.get("SIAGA_CONFORMANCE_DIR", Path(__file__).parents[3] / "shared" / "conformance"))
T = TypeVar("T")


def require_peers() -> None:
    missing = [name for name in ("sipp",) if shutil.which(name) is None]
    try:
        kamailio_binary()
    except Exception as exc:  # noqa: BLE001 - the message says what to install
        missing.append(str(exc))
    if missing:
        raise RuntimeError("SIP tests need Kamailio and sipp: as root, `apt-get install kamailio "
                           "kamailio-extra-modules kamailio-json-modules sip-tester` (make test does it). "
                           f"Missing: {missing}")


def free_udp_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))  # free for both, so a TCP listener could follow
            except OSError:
                continue
            return port


def rtp_ports(span: int = 200) -> str:
    """A range of ports for rtpengine's media ("low-high"), below the kernel's ephemeral ports (32768 up): a
    range that overlapped them could hold the port another test had just been given by free_udp_port (the
    agency desk of a conference test answered nothing: its port was inside another test's media range)."""
    low = 10000 + 2 * (free_udp_port() % 10000)
    return f"{low}-{low + span}"


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def sip_request(port: int, raw: bytes, timeout: float = 2.0) -> bytes | None:
    """Send one datagram to the edge and return the first response (None when nothing comes back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        s.sendto(raw, ("127.0.0.1", port))
        try:
            return s.recv(65535)
        except TimeoutError:
            return None


def options(port: int) -> bytes:
    local = uuid.uuid4().hex[:10]
    return (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{local}\r\n"
            f"From: <sip:probe@127.0.0.1>;tag={local}\r\nTo: <sip:127.0.0.1:{port}>\r\nCall-ID: {local}@probe\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()


def register_probe(port: int, extension: str, domain: str) -> bytes:
    """A REGISTER without credentials: the edge answers 401 (a challenge) once it knows the extension, 404
    before. Nothing is registered."""
    local = uuid.uuid4().hex[:10]
    return (f"REGISTER sip:{domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{local}\r\n"
            f"From: <sip:{extension}@{domain}>;tag={local}\r\nTo: <sip:{extension}@{domain}>\r\n"
            f"Call-ID: {local}@probe\r\nCSeq: 1 REGISTER\r\nContact: <sip:{extension}@127.0.0.1:9>\r\n"
            "Max-Forwards: 70\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n").encode()


@dataclass
class Edge:
    """Kamailio in the foreground, its log in `directory`."""

    settings: Settings
    directory: Path
    sip_port: int
    proc: subprocess.Popen[bytes] | None = None
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> None:
        paths = EdgePaths(self.directory)
        paths.runtime.mkdir(parents=True, exist_ok=True)
        ensure_tls(self.settings, paths)  # wss without a configured certificate: the self-signed pair, as start does
        text = render_config(self.settings, paths, log_stderr=True, children=4)
        paths.config.write_text(self.config_filter(text) if self.config_filter else text)
        self.log = (self.directory / "kamailio.log").open("wb")
        # In a session of its own: if it will not stop, its whole group (main and children) is killed.
        self.proc = subprocess.Popen([kamailio_binary(), "-f", str(paths.config), "-DD", "-E", "-Y",
                                      str(paths.runtime), "-m", "64", "-M", "8"], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: self.proc.poll() is not None or sip_request(self.sip_port, options(self.sip_port), 0.2),
                 10, "Kamailio to answer OPTIONS")
        assert self.proc.poll() is None, (self.directory / "kamailio.log").read_text()[-3000:]

    def start_media(self) -> None:
        """rtpengine in the foreground (its log in `directory`), as `siaga telephony start` runs it."""
        from siaga.domains.telephony import media

        paths = media.MediaPaths(self.directory)
        media.prepare(self.settings, paths)
        self.media_log = (self.directory / "rtpengine.log").open("wb")
        self.media = subprocess.Popen(media.command(self.settings, paths, foreground=True), stdout=self.media_log,
                                      stderr=subprocess.STDOUT)
        wait_for(lambda: self.media.poll() is not None or media.ping(self.settings, 0.2), 10, "rtpengine to answer")
        assert self.media.poll() is None, (self.directory / "rtpengine.log").read_text()[-3000:]

    media: subprocess.Popen[bytes] | None = None
    config_filter: Callable[[str], str] | None = None  # a benchmark's variant of the rendered config

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and \
            bool(sip_request(self.sip_port, options(self.sip_port), 1.0))

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
            child.wait(5)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()
        if self.media is not None:
            if self.media.poll() is None:
                self.media.terminate()
                try:
                    self.media.wait(10)
                except subprocess.TimeoutExpired:
                    self.media.kill()
            self.media_log.close()

    def log_text(self) -> str:
        return (self.directory / "kamailio.log").read_text(errors="replace")

    # --- sipp ---
    def _csv(self, name: str, rows: list[str]) -> Path:
        path = self.directory / f"{name}-{uuid.uuid4().hex[:6]}.csv"
        path.write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")
        return path

    def sipp(self, scenario: str | Path, *args: str, rows: list[str] | None = None, calls: int = 1,
             timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        """Run sipp as a UAC against the edge; returns the finished process (returncode 0: every call
        went as its scenario says)."""
        cmd = self._sipp_command(scenario, *args, rows=rows, calls=calls, timeout=timeout)
        return subprocess.run(cmd, capture_output=True, timeout=timeout + 15, cwd=self.directory)

    def start_sipp(self, scenario: str | Path, *args: str, timeout: float = 60) -> subprocess.Popen[bytes]:
        """sipp as a UAC against the edge, running on (its Call-IDs carry its process id: '1-<pid>@…')."""
        proc = subprocess.Popen(self._sipp_command(scenario, *args, timeout=timeout), cwd=self.directory,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.children.append(proc)
        return proc

    def _sipp_command(self, scenario: str | Path, *args: str, rows: list[str] | None = None, calls: int = 1,
                      timeout: float = 60) -> list[str]:
        cmd = ["sipp", "-sf", str(scenario if isinstance(scenario, Path) else SCENARIOS / scenario),
               "-i", "127.0.0.1", "-p", str(free_udp_port()), "-m", str(calls), "-nostdin",
               "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_err",
               "-error_file", str(self.directory / f"sipp-err-{uuid.uuid4().hex[:6]}.log")]
        if rows:
            cmd += ["-inf", str(self._csv("rows", rows))]
        return cmd + [*args, f"127.0.0.1:{self.sip_port}"]

    def phone(self, extension: str, password: str, scenario: str = "phone_answer.xml", calls: int = 1,
              expires: int = 300, extra: tuple[str, ...] = ()) -> int:
        """An operator phone: a sipp UAS on its own port (answering per `scenario`, with sipp's `extra`
        arguments), registered as `extension` through the edge. Returns the UAS port."""
        port = free_udp_port()
        uas = subprocess.Popen(["sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(port),
                                "-m", str(calls), "-nostdin", "-timeout", "120s", *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.directory)
        self.children.append(uas)
        # The bridge has sent the line; Kamailio's evapi worker stores it a moment later (later under load).
        domain = self.settings.telephony_domain
        wait_for(lambda: (sip_request(self.sip_port, register_probe(self.sip_port, extension, domain), 1.0)
                          or b"").startswith(b"SIP/2.0 401"), 10, f"extension {extension} known at the edge")
        row = f"{extension};127.0.0.1:{port};{domain};{expires}"
        done = self.sipp("register.xml", "-au", extension, "-ap", password, rows=[row], timeout=15)
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + self.log_text()[-2000:]
        return port


PASSWORDS = {"ct": "ct-secret-1001", "sup": "sup-secret-1002"}
EXTENSIONS = {"ct": "1001", "sup": "1002"}


class Centre:
    def __init__(self, engine: Engine, settings: Settings, edge: Edge) -> None:
        self.engine, self.settings, self.edge = engine, settings, edge

    def ctx(self, username: str = "sup"):  # type: ignore[no-untyped-def]
        from siaga.core.context import Ctx
        from siaga.domains.users.actions import principal_of

        @contextmanager
        def make():  # type: ignore[no-untyped-def]
            with unit_of_work(self.engine) as db:
                user = db.scalar(select(User).where(User.username == username))
                yield Ctx(db=db, actor=principal_of(user), clock=Clock(), settings=self.settings)
        return make()

    def user_id(self, username: str) -> int:
        with unit_of_work(self.engine, write=False) as db:
            return db.scalar(select(User.id).where(User.username == username))  # type: ignore[return-value]

    def line(self, username: str, presence: str = "available") -> None:
        with self.ctx(username) as ctx:
            actions.set_line(ctx, self.user_id(username), schemas.LineIn(extension=EXTENSIONS[username],
                                                                          password=PASSWORDS[username]))
            actions.set_presence(ctx, schemas.PresenceIn(state=presence))  # type: ignore[arg-type]

    def phone(self, username: str, scenario: str = "phone_answer.xml", calls: int = 1,
              extra: tuple[str, ...] = ()) -> None:
        # The bridge pushes the line's credentials to the edge within half a second.
        wait_for(lambda: self._pushed(username), 10, "the line's credentials at the edge")
        self.edge.phone(EXTENSIONS[username], PASSWORDS[username], scenario, calls, extra=extra)
        wait_for(lambda: self.registered(username), 10, "the phone's registration to reach the service")

    def _pushed(self, username: str) -> bool:
        bridge = self.bridge
        return bridge is not None and bool(bridge.lines_pushed) and EXTENSIONS[username] in bridge.lines_pushed

    bridge = None
    url = ""

    def stop_app(self) -> None:
        raise NotImplementedError

    def start_app(self) -> None:
        raise NotImplementedError

    def registered(self, username: str) -> bool:
        with unit_of_work(self.engine, write=False) as db:
            line = db.get(OperatorLine, self.user_id(username))
            return bool(line and line.registered_until and line.registered_until > Clock().now())

    def calls(self) -> list[Call]:
        with unit_of_work(self.engine, write=False) as db:
            rows = list(db.scalars(select(Call).order_by(Call.id)))
            db.expunge_all()
            return rows

    def call_where(self, what: str, pred) -> Call:  # type: ignore[no-untyped-def]
        try:
            return wait_for(lambda: next((c for c in self.calls() if pred(c)), None), 15, what)
        except AssertionError as exc:  # what the calls and the edge say, for a failure seen only under load
            calls = [(c.id, c.status, c.outcome, self.attempts(c.id)) for c in self.calls()]
            raise AssertionError(f"{exc}; calls {calls}; edge log:\n{self.edge.log_text()[-3000:]}") from None

    def attempts(self, call_id: int) -> list[tuple[str, str | None]]:
        with unit_of_work(self.engine, write=False) as db:
            rows = db.execute(select(User.username, RingAttempt.result).join(User, User.id == RingAttempt.user_id)
                              .where(RingAttempt.call_id == call_id).order_by(RingAttempt.id)).all()
            return [(u, r) for u, r in rows]

    def recorded(self, count: int) -> dict[str, Recording]:
        """Wait for rtpengine to finish `count` recordings (its metadata files in the spool), attach them (the
        ticker's `recordings` step, which must take exactly those) and return every recording by its call
        reference (the SIP Call-ID of the call it is the audio of)."""
        spool = Path(self.settings.recording_dir) / "spool" / "metadata"
        wait_for(lambda: len(list(spool.glob("rtpengine-meta-*.txt"))) >= count, 15,
                 f"rtpengine to finish {count} recording(s)")
        assert recording_actions.attach_step(self.engine, Clock(), self.settings) == count
        with unit_of_work(self.engine, write=False) as db:
            recs = {r.call_ref: r for r in db.scalars(select(Recording).order_by(Recording.id))}
            db.expunge_all()
        return recs

    def recording_path(self, rec: Recording) -> Path:
        return Path(self.settings.recording_dir) / rec.file_name

    def locations(self, call_id: int) -> list[CallLocation]:
        with unit_of_work(self.engine, write=False) as db:
            rows = list(db.scalars(select(CallLocation).where(CallLocation.call_id == call_id)))
            db.expunge_all()
            return rows


@contextmanager
def running_centre(engine: Engine, db_url: str, tmp_path: Path, **overrides: object) -> Iterator[Centre]:
    """Kamailio + the app (uvicorn, real clock, bridge on) on fresh ports; `centre.url` is the console."""
    require_peers()
    import uvicorn

    from siaga.app import create_app

    sip_port = free_udp_port()
    settings = Settings(database_url=db_url, secret_key="test", event_poll_seconds=0.2, deadline_tick_seconds=0,
                        telephony_bridge=True, telephony_evapi=f"127.0.0.1:{free_tcp_port()}",
                        telephony_listen=f"udp:127.0.0.1:{sip_port}", telephony_ring_timeout_s=5,
                        **{"telephony_media": False, "telephony_dtmf_log": f"127.0.0.1:{free_udp_port()}",
                           # no prompt unless the test makes one: never the checkout's var/prompts
                           "telephony_prompts_dir": tmp_path / "prompts", **overrides})
    edge = Edge(settings, tmp_path / "edge", sip_port)
    edge.directory.mkdir()
    if settings.telephony_media:
        edge.start_media()
    edge.start()
    c = Centre(engine, settings, edge)
    servers: list[tuple[object, threading.Thread]] = []

    def start_app() -> None:
        app = create_app(settings, clock=Clock(), engine=engine)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_tcp_port(), log_level="warning",
                                               timeout_graceful_shutdown=1))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        wait_for(lambda: server.started, 20, "the app")
        c.bridge = app.state.bridge
        c.url = f"http://127.0.0.1:{server.config.port}"
        wait_for(lambda: app.state.bridge.connected.is_set(), 10, "the bridge to connect to the edge")

    def stop_app() -> None:
        for server, thread in servers:
            server.should_exit = True  # type: ignore[attr-defined]
            thread.join(10)
            # A server that does not stop is a defect (a shutdown hang), never a wait to sit out.
            assert not thread.is_alive(), "the app did not shut down within 10 s"
        servers.clear()

    c.start_app = start_app  # type: ignore[method-assign]
    c.stop_app = stop_app  # type: ignore[method-assign]
    start_app()
    try:
        yield c
    finally:
        try:
            stop_app()
        finally:
            edge.stop()  # even when the app would not stop: never leave an edge running


