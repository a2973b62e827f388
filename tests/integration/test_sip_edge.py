"""Calls from a real SIP trunk: sipp as the telco and as operator phones, through a real Kamailio rendered
from the project's template, into the real app and its bridge — on SQLite and PostgreSQL. Each case checks
the exact records a supervisor would later read."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from siaga.core.clock import Clock
from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import Call, CallLocation
from siaga.domains.telephony import actions, schemas
from siaga.domains.telephony.models import OperatorLine, RingAttempt
from siaga.domains.users.models import User
from siaga.settings import Settings
from tests.sip.harness import CONFORMANCE, Edge, free_tcp_port, free_udp_port, require_peers, sip_request, wait_for

PASSWORDS = {"ct": "ct-secret-1001", "sup": "sup-secret-1002"}
EXTENSIONS = {"ct": "1001", "sup": "1002"}


class Centre:
    def __init__(self, engine: Engine, settings: Settings, edge: Edge) -> None:
        self.engine, self.settings, self.edge = engine, settings, edge

    def ctx(self, username: str = "sup"):  # type: ignore[no-untyped-def]
        from contextlib import contextmanager

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

    def phone(self, username: str, scenario: str = "phone_answer.xml", calls: int = 1) -> None:
        # The bridge pushes the line's credentials to the edge within half a second.
        wait_for(lambda: self._pushed(username), 10, "the line's credentials at the edge")
        self.edge.phone(EXTENSIONS[username], PASSWORDS[username], scenario, calls)
        wait_for(lambda: self.registered(username), 10, "the phone's registration to reach the service")

    def _pushed(self, username: str) -> bool:
        bridge = self.bridge
        return bridge is not None and bool(bridge.lines_pushed) and EXTENSIONS[username] in bridge.lines_pushed

    bridge = None

    def registered(self, username: str) -> bool:
        with unit_of_work(self.engine, write=False) as db:
            line = db.get(OperatorLine, self.user_id(username))
            return bool(line and line.registered_until)

    def calls(self) -> list[Call]:
        with unit_of_work(self.engine, write=False) as db:
            rows = list(db.scalars(select(Call).order_by(Call.id)))
            db.expunge_all()
            return rows

    def call_where(self, what: str, pred) -> Call:  # type: ignore[no-untyped-def]
        return wait_for(lambda: next((c for c in self.calls() if pred(c)), None), 15, what)

    def attempts(self, call_id: int) -> list[tuple[str, str | None]]:
        with unit_of_work(self.engine, write=False) as db:
            rows = db.execute(select(User.username, RingAttempt.result).join(User, User.id == RingAttempt.user_id)
                              .where(RingAttempt.call_id == call_id).order_by(RingAttempt.id)).all()
            return [(u, r) for u, r in rows]

    def locations(self, call_id: int) -> list[CallLocation]:
        with unit_of_work(self.engine, write=False) as db:
            rows = list(db.scalars(select(CallLocation).where(CallLocation.call_id == call_id)))
            db.expunge_all()
            return rows


@pytest.fixture
def centre(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Centre]:
    require_peers()
    import uvicorn

    from siaga.app import create_app

    sip_port = free_udp_port()
    settings = Settings(database_url=db_url, secret_key="test", event_poll_seconds=0.2, deadline_tick_seconds=0,
                        telephony_bridge=True, telephony_evapi=f"127.0.0.1:{free_tcp_port()}",
                        telephony_listen=f"udp:127.0.0.1:{sip_port}", telephony_ring_timeout_s=5)
    edge = Edge(settings, tmp_path / "edge", sip_port)
    edge.directory.mkdir()
    edge.start()
    app = create_app(settings, clock=Clock(), engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_tcp_port(), log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 20, "the app")
    c = Centre(engine, settings, edge)
    c.bridge = app.state.bridge
    wait_for(lambda: app.state.bridge.connected.is_set(), 10, "the bridge to connect to the edge")
    try:
        yield c
    finally:
        server.should_exit = True
        thread.join(10)
        edge.stop()


CALLER = "+6281234567890"


def test_answered_call_is_recorded_once_with_its_operator_and_location(centre: Centre) -> None:
    centre.line("ct")
    centre.phone("ct")
    done = centre.edge.sipp("trunk_call.xml", "-d", "500", rows=[f"{CALLER};1.4667 102.1;35"])
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    call = centre.call_where("the call to end", lambda c: c.status == "ended")
    assert len(centre.calls()) == 1
    assert call.caller_number == CALLER
    assert call.operator_id == centre.user_id("ct")
    assert call.offered_at <= call.answered_at <= call.ended_at  # type: ignore[operator]
    assert centre.attempts(call.id) == [("ct", "answered")]
    locs = [loc for loc in centre.locations(call.id) if loc.source == "pidf_lo"]
    assert [(loc.lat, loc.lon, loc.accuracy_m, loc.valid) for loc in locs] == [(1.4667, 102.1, 35.0, True)]
    # The operator is free again once the caller hung up.
    wait_for(lambda: centre.registered("ct"), 2)
    with unit_of_work(centre.engine, write=False) as db:
        assert db.get(OperatorLine, centre.user_id("ct")).current_call_id is None  # type: ignore[union-attr]


def test_caller_who_hangs_up_in_the_queue_is_recorded_abandoned_with_their_wait(centre: Centre) -> None:
    centre.line("ct", presence="break")  # on duty but not taking calls: the call waits
    centre.phone("ct")
    done = centre.edge.sipp("trunk_cancel.xml", "-d", "1500", rows=[CALLER])
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    call = centre.call_where("the abandoned call", lambda c: c.status == "abandoned")
    assert call.outcome == "abandoned" and call.answered_at is None
    assert 1.3 <= (call.ended_at - call.offered_at).total_seconds() < 10  # type: ignore[operator]
    assert centre.attempts(call.id) == []


def test_call_with_nobody_on_duty_is_missed_out_of_hours_and_the_trunk_hears_480(centre: Centre) -> None:
    done = centre.edge.sipp("trunk_refused.xml", rows=[CALLER])
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    call = centre.call_where("the missed call", lambda c: c.status == "abandoned")
    assert call.outcome == "missed_out_of_hours"
    assert len(centre.calls()) == 1


def test_phone_that_rings_out_passes_the_call_to_the_next_operator(centre: Centre) -> None:
    centre.line("ct")
    centre.line("sup")
    centre.phone("ct", scenario="phone_no_answer.xml")
    centre.phone("sup")
    # ct has been idle longest (same time, lower id): their phone rings first, for the 5 s ring timeout.
    done = centre.edge.sipp("trunk_call.xml", "-d", "300", rows=[f"{CALLER};1.47 102.11;50"], timeout=40)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    call = centre.call_where("the call to end", lambda c: c.status == "ended")
    assert centre.attempts(call.id) == [("ct", "timeout"), ("sup", "answered")]
    assert call.operator_id == centre.user_id("sup")
    with unit_of_work(centre.engine, write=False) as db:
        # ct missed a ring: on break until they come back, so the next calls do not wait on their phone.
        assert db.get(OperatorLine, centre.user_id("ct")).presence == "break"  # type: ignore[union-attr]


def test_invite_from_an_address_that_is_not_a_trunk_gets_403_and_no_record(centre: Centre) -> None:
    centre.line("ct")
    raw = ("INVITE sip:112@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx1\r\n"
           "From: <sip:0812@127.0.0.1>;tag=a\r\nTo: <sip:112@127.0.0.1>\r\nCall-ID: not-a-trunk@x\r\n"
           "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
    centre.edge.stop()
    edge = Edge(centre.settings.model_copy(update={"telephony_trunks": "10.9.9.9/32"}),
                centre.edge.directory.parent / "edge2", free_udp_port())
    edge.directory.mkdir()
    edge.settings = edge.settings.model_copy(update={"telephony_listen": f"udp:127.0.0.1:{edge.sip_port}",
                                                     "telephony_evapi": f"127.0.0.1:{free_tcp_port()}"})
    edge.start()
    try:
        reply = sip_request(edge.sip_port, raw)
        assert reply is not None and reply.startswith(b"SIP/2.0 403")
    finally:
        edge.stop()
    assert centre.calls() == []


MALFORMED = [
    b"INVITE sip:112@127.0.0.1 SIP/2.0\r\n\r\n",  # no Via, no Call-ID
    b"INVITE sip:112@127.0.0.1 SIP/7.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKv\r\nFrom: <sip:a@b>;tag=1\r\n"
    b"To: <sip:112@b>\r\nCall-ID: v7@x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
    b"INVITE sip:112@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKc\r\nFrom: <sip:a@b>;tag=1\r\n"
    b"To: <sip:112@b>\r\nCall-ID: cseq@x\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
    b"\x00\xff\xfe garbage \r\n\r\n",
    b"INVITE sip:112@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKl\r\nFrom: <sip:a@b>;tag=1\r\n"
    b"To: <sip:112@b>\r\nCall-ID: len@x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 9999\r\n\r\nshort",
]


def test_malformed_sip_gets_an_error_or_silence_never_a_call_record_or_a_crash(centre: Centre) -> None:
    centre.line("ct")
    for raw in MALFORMED:
        reply = sip_request(centre.edge.sip_port, raw, timeout=0.5)
        assert reply is None or reply[:9] == b"SIP/2.0 4", reply
    torture = CONFORMANCE / "sip" / "phrsite-siplib"
    files = sorted(p for p in torture.rglob("*") if p.is_file() and "torture" in str(p).lower()
                   and p.suffix.lower() in (".txt", ".dat", ".msg", ".sip", ""))
    for path in files[:60]:
        reply = sip_request(centre.edge.sip_port, path.read_bytes()[:60000], timeout=0.2)
        assert reply is None or reply[:8] == b"SIP/2.0 ", (path.name, reply[:80])
    assert centre.edge.alive(), centre.edge.log_text()[-3000:]
    time.sleep(0.5)
    # Torture messages are not from 127.0.0.1 trunks with our numbers: no call may have been made of them
    # unless it was a well-formed emergency INVITE, which the edge would have held and recorded.
    for call in centre.calls():
        assert call.external_ref


def test_garbled_pidf_lo_from_the_tamu_corpus_is_still_answered_with_the_location_flagged(centre: Centre) -> None:
    scenario = CONFORMANCE / "sip" / "tamu-ng911-dev" / "SIP_INVITE" / "SIP_INVITE_location_garbled_PIDF-LO_body.xml"
    assert scenario.exists(), f"conformance corpus missing: {scenario}"
    centre.line("ct")
    centre.phone("ct")
    # The TAMU scenario acknowledges towards the proxy address instead of the Record-Route; the call is
    # answered all the same, which is what this test is about.
    centre.edge.sipp(scenario, timeout=8)
    call = centre.call_where("the garbled call to be answered", lambda c: c.answered_at is not None)
    assert call.operator_id == centre.user_id("ct")
    locs = centre.locations(call.id)
    assert locs and all(not loc.valid and loc.invalid_reason for loc in locs if loc.source == "pidf_lo")
    assert any(loc.source == "pidf_lo" for loc in locs)


def test_every_offered_call_has_exactly_one_record(centre: Centre) -> None:
    centre.line("ct")
    centre.line("sup")
    centre.phone("ct", calls=10)
    centre.phone("sup", calls=10)
    done = centre.edge.sipp("trunk_call.xml", "-d", "200", "-r", "5", "-l", "2",
                            rows=[f"+62812000{i:04d};1.46 102.1;20" for i in range(10)], calls=10, timeout=60)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    wait_for(lambda: sum(c.status == "ended" for c in centre.calls()) == 10, 15, "ten ended calls")
    with unit_of_work(centre.engine, write=False) as db:
        assert db.scalar(select(func.count()).select_from(Call)) == 10
        assert db.scalar(select(func.count(func.distinct(Call.external_ref)))) == 10
