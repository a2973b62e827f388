"""Calls from a real SIP trunk: sipp as the telco and as operator phones, through a real Kamailio rendered
from the project's template, into the real app and its bridge — on SQLite and PostgreSQL. Each case checks
the exact records a supervisor would later read."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import Call
from siaga.domains.telephony import actions, schemas
from siaga.domains.telephony.models import OperatorLine
from tests.sip.harness import (
    CONFORMANCE,
    EXTENSIONS,
    PASSWORDS,
    Centre,
    Edge,
    free_tcp_port,
    free_udp_port,
    running_centre,
    sip_request,
    wait_for,
)


@pytest.fixture
def centre(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Centre]:
    with running_centre(engine, db_url, tmp_path) as c:
        yield c


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
    raw = (b"INVITE sip:112@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx1\r\n"
           b"From: <sip:0812@127.0.0.1>;tag=a\r\nTo: <sip:112@127.0.0.1>\r\nCall-ID: not-a-trunk@x\r\n"
           b"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
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
    assert torture.exists(), f"conformance corpus missing: {torture}"
    files = sorted(torture.rglob("rfc4475tests/*.dat"))
    assert len(files) >= 40, "the RFC 4475 torture messages"
    for path in files[:60]:
        reply = sip_request(centre.edge.sip_port, path.read_bytes()[:60000], timeout=0.2)
        assert reply is None or reply[:8] == b"SIP/2.0 ", (path.name, reply[:80])
    assert centre.edge.alive(), centre.edge.log_text()[-3000:]
    time.sleep(0.5)
    # None of them is a well-formed INVITE to an emergency number: no call may have been made of them.
    assert centre.calls() == []


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


def test_claim_on_the_console_rings_that_operators_phone_and_is_recorded_once(centre: Centre) -> None:

    from siaga.core.audit import AuditEntry
    from siaga.domains.calls import actions as call_actions
    from siaga.domains.calls.schemas import CallClaim

    centre.line("ct", presence="break")  # on duty, not rung: the call waits for someone to take it
    centre.phone("ct")
    finish = _call_in_background(centre, talk_ms=500, timeout=30)
    waiting = centre.call_where("the call in the queue", lambda c: c.status in ("offered", "ringing"))
    assert centre.attempts(waiting.id) == []
    with centre.ctx("ct") as ctx:
        call_actions.claim_call(ctx, waiting.id, CallClaim(version=waiting.version))
    finish()
    call = centre.call_where("the call to end", lambda c: c.status == "ended")
    assert call.operator_id == centre.user_id("ct")
    assert centre.attempts(call.id) == [("ct", "answered")]
    with unit_of_work(centre.engine, write=False) as db:
        claims = db.scalars(select(AuditEntry).where(AuditEntry.entity == "call",
                                                     AuditEntry.entity_id == str(call.id),
                                                     AuditEntry.action == "call.claim")).all()
        assert len(claims) == 1


def _call_in_background(centre: Centre, talk_ms: int, timeout: int) -> Callable[[], None]:
    """A trunk call placed in a thread (it waits in the queue while the test acts); `finish()` waits for it and
    checks that it went as sipp's scenario says."""
    import threading

    result: dict[str, subprocess.CompletedProcess[bytes]] = {}
    trunk = threading.Thread(target=lambda: result.setdefault("done", centre.edge.sipp(
        "trunk_call.xml", "-d", str(talk_ms), rows=[f"{CALLER};1.4667 102.1;35"], timeout=timeout)))
    trunk.start()

    def finish() -> None:
        trunk.join(timeout + 5)
        done = result["done"]
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    return finish


def test_with_the_service_down_every_registered_phone_rings(centre: Centre) -> None:
    """Degraded mode: the bridge is gone (service crashed or restarting); the edge still gets the call to a
    human — every phone that registered rings at once — instead of refusing it."""
    centre.line("ct")
    centre.phone("ct")
    centre.stop_app()
    wait_for(lambda: "service disconnected" in centre.edge.log_text(), 10, "the edge to notice")
    done = centre.edge.sipp("trunk_call.xml", "-d", "300", rows=[f"{CALLER};1.4667 102.1;35"], timeout=20)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + centre.edge.log_text()[-2000:]
    assert "rings every operator phone" in centre.edge.log_text()
    assert centre.calls() == []  # nobody could write it down...
    centre.start_app()
    # ...until the service is back: the edge hands it the call, who answered it, and that it ended.
    call = centre.call_where("the call handled in degraded mode", lambda c: c.status == "ended")
    assert call.caller_number == CALLER and call.operator_id == centre.user_id("ct")
    assert "tidak tersambung" in call.notes
    assert len(centre.calls()) == 1


def test_an_agency_operators_phone_is_never_rung_for_112_not_even_with_the_service_down(centre: Centre) -> None:
    """Issue 17: an agency operator's line (here a desk phone, 2001) is only called by a call-taker joining the
    agency. With it the only registered phone: the service misses the call out of hours (480) and, with the
    service down, the edge's degraded mode does not ring it either (it is not in the group: 480 again)."""
    with centre.ctx("sup") as ctx:
        actions.set_line(ctx, centre.user_id("damkar"), schemas.LineIn(extension="2001", password="damkar-2001-pw"))
    wait_for(lambda: "2001" in (centre.bridge.agency_pushed or set()), 10, "the agency line's flag at the edge")
    centre.edge.phone("2001", "damkar-2001-pw")
    wait_for(lambda: centre.registered("damkar"), 10, "the agency phone's registration to reach the service")
    agency_phone = centre.edge.children[-1]
    done = centre.edge.sipp("trunk_refused.xml", rows=[CALLER], timeout=20)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    assert centre.call_where("the missed call", lambda c: c.outcome == "missed_out_of_hours")
    centre.stop_app()
    wait_for(lambda: "service disconnected" in centre.edge.log_text(), 10, "the edge to notice")
    done = centre.edge.sipp("trunk_refused.xml", rows=[CALLER], timeout=20)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + centre.edge.log_text()[-2000:]
    assert agency_phone.poll() is None  # the agency's phone never had an INVITE (it would have ended)
    centre.start_app()


def test_a_call_waiting_in_the_queue_when_the_service_goes_rings_every_phone_at_once(centre: Centre) -> None:
    """The service crashes (or its host is cut off) while a call waits in the queue for it: the edge does not
    leave the caller waiting out the queue's limit (15 minutes) for a service that would not know the call
    when it came back — every registered phone rings now, and the service records the call when it is back."""

    centre.line("ct", presence="break")  # nobody free: the call waits
    centre.phone("ct")
    finish = _call_in_background(centre, talk_ms=300, timeout=60)
    waiting = centre.call_where("the call in the queue", lambda c: c.status in ("offered", "ringing"))
    centre.stop_app()
    finish()  # answered by the phone on break, rung by the edge alone
    assert "waiting for it, rings every operator phone" in centre.edge.log_text()
    centre.start_app()
    call = centre.call_where("the call handed over", lambda c: c.status == "ended")
    assert call.id == waiting.id and call.operator_id == centre.user_id("ct")
    assert len(centre.calls()) == 1


def test_a_waiting_call_no_phone_takes_while_the_service_is_away_waits_for_the_service_back(
        centre: Centre) -> None:
    """The service goes while a call waits, and the only registered phone is gone without unregistering (its
    degraded ring goes unanswered): the call is not refused; the service that comes back — a new process that
    never heard of it — learns it from the edge and rings it to the first operator who is free."""

    centre.line("ct", presence="break")  # nobody free: the call waits
    centre.phone("ct")
    centre.edge.children[-1].kill()  # the phone is gone; its registration stays
    finish = _call_in_background(centre, talk_ms=300, timeout=90)
    waiting = centre.call_where("the call in the queue", lambda c: c.status in ("offered", "ringing"))
    centre.stop_app()
    wait_for(lambda: "in degraded mode (408): it waits again" in centre.edge.log_text(), 20,
             "the degraded ring to go unanswered")
    centre.start_app()
    wait_for(lambda: centre.bridge.held, 20, "the new bridge to learn the waiting call from the edge")
    centre.phone("ct")
    with centre.ctx("ct") as ctx:
        actions.set_presence(ctx, schemas.PresenceIn(state="available"))
    finish()
    call = centre.call_where("the call answered by ct", lambda c: c.status == "ended")
    assert call.id == waiting.id and call.operator_id == centre.user_id("ct")
    assert len(centre.calls()) == 1


TAMU = CONFORMANCE / "sip" / "tamu-ng911-dev" / "SIP_INVITE"


@pytest.mark.parametrize(("scenario", "answer", "expect"), [
    ("SIP_INVITE_location_PIDF-LO.xml", True, {"shape": "civic", "valid": True}),
    ("SIP_INVITE_location_reference.xml", True, {"shape": "reference", "valid": True}),
    ("SIP_INVITE_geolocation_HELD.xml", True, {"valid": False}),
    ("SIP_INVITE_from_OSP_incorrect_1.xml", False, {"no_record": True}),
])
def test_tamu_ng911_scenarios_leave_exactly_the_right_record(centre: Centre, scenario: str, answer: bool,
                                                            expect: dict[str, object]) -> None:
    """The Texas A&M NG9-1-1 lab's SIPp scenarios, unchanged, as the trunk. (They acknowledge towards the
    proxy address rather than along the Record-Route, so sipp's own verdict is not what we check: the
    records are.)"""
    path = TAMU / scenario
    assert path.exists(), f"conformance corpus missing: {path}"
    centre.line("ct", presence="available" if answer else "break")
    centre.phone("ct")
    centre.edge.sipp(path, timeout=6)
    if expect.get("no_record"):
        time.sleep(1)
        assert centre.calls() == [] and centre.edge.alive()
        return
    call = centre.call_where("the answered call", lambda c: c.answered_at is not None)
    assert len(centre.calls()) == 1 and call.operator_id == centre.user_id("ct")
    locs = [loc for loc in centre.locations(call.id) if loc.source == "pidf_lo"]
    assert locs, "the network location is recorded"
    assert any(loc.valid == expect["valid"] and (loc.shape == expect.get("shape", loc.shape)) for loc in locs), \
        [(loc.shape, loc.valid, loc.invalid_reason, loc.reference_uri) for loc in locs]


def test_a_cancel_that_matches_no_transaction_still_ends_the_waiting_call(centre: Centre) -> None:
    """Some trunks send CANCEL with a Via branch of its own: the caller has hung up all the same."""
    import socket

    centre.line("ct", presence="break")
    centre.phone("ct")
    head = ("{m} sip:112@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK{b};rport\r\n"
            "From: <sip:081299990000@127.0.0.1>;tag=tc\r\nTo: <sip:112@127.0.0.1>\r\nCall-ID: odd-cancel@trunk\r\n"
            "CSeq: 1 {m}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        port = s.getsockname()[1]
        s.sendto(head.format(m="INVITE", p=port, b="inv1").encode(), ("127.0.0.1", centre.edge.sip_port))
        centre.call_where("the waiting call", lambda c: c.status in ("offered", "ringing"))
        s.sendto(head.format(m="CANCEL", p=port, b="other2").encode(), ("127.0.0.1", centre.edge.sip_port))
        replies = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(r.startswith(b"SIP/2.0 487") for r in replies):
            try:
                replies.append(s.recv(65535))
            except TimeoutError:
                break
    assert any(r.startswith(b"SIP/2.0 487") for r in replies), replies
    call = centre.call_where("the abandoned call", lambda c: c.status == "abandoned")
    assert call.outcome == "abandoned"


def test_a_call_waits_in_the_queue_longer_than_any_sip_timer_and_is_still_answered(centre: Centre) -> None:
    """Everyone on break for 12 s: the call keeps ringing for the caller (not 408 after 5 s), and rings
    the first operator who comes back."""

    centre.line("ct", presence="break")
    centre.phone("ct")
    finish = _call_in_background(centre, talk_ms=300, timeout=40)
    waiting = centre.call_where("the call in the queue", lambda c: c.status in ("offered", "ringing"))
    time.sleep(12)
    assert centre.calls()[0].status in ("offered", "ringing")
    with centre.ctx("ct") as ctx:
        actions.set_presence(ctx, schemas.PresenceIn(state="available"))
    finish()
    call = centre.call_where("the call to end", lambda c: c.status == "ended")
    assert call.id == waiting.id and call.operator_id == centre.user_id("ct")
    assert (call.answered_at - call.offered_at).total_seconds() > 11  # type: ignore[operator]


def test_out_of_hours_calls_go_to_the_fallback_and_are_recorded_missed(engine, db_url, tmp_path) -> None:
    """Nobody on duty, a fallback configured (e.g. the police): the call is forwarded there and answered."""
    from tests.sip.harness import free_udp_port as port_for

    fallback_port = port_for()
    with running_centre(engine, db_url, tmp_path,
                        telephony_fallback_uri=f"sip:110@127.0.0.1:{fallback_port}") as centre:
        import subprocess

        from tests.sip.harness import SCENARIOS
        police = subprocess.Popen(["sipp", "-sf", str(SCENARIOS / "phone_answer.xml"), "-i", "127.0.0.1", "-p",
                                   str(fallback_port), "-m", "1", "-nostdin", "-timeout", "60s"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        centre.edge.children.append(police)
        done = centre.edge.sipp("trunk_call.xml", "-d", "300", rows=[f"{CALLER};1.4667 102.1;35"], timeout=30)
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
        call = centre.call_where("the missed call", lambda c: c.outcome == "missed_out_of_hours")
        assert call.operator_id is None


def test_the_last_operator_going_off_duty_sends_waiting_calls_to_the_out_of_hours_path(centre: Centre) -> None:
    centre.line("ct", presence="break")
    centre.phone("ct")
    done: dict[str, object] = {}
    import threading

    trunk = threading.Thread(target=lambda: done.setdefault("r", centre.edge.sipp(
        "trunk_refused.xml", rows=[CALLER], timeout=30)))
    trunk.start()
    centre.call_where("the call in the queue", lambda c: c.status in ("offered", "ringing"))
    with centre.ctx("ct") as ctx:
        actions.set_presence(ctx, schemas.PresenceIn(state="offline"))
    trunk.join(40)
    r = done["r"]
    assert r.returncode == 0, r.stdout.decode(errors="replace")[-2000:]  # type: ignore[attr-defined]
    call = centre.call_where("the missed call", lambda c: c.status == "abandoned")
    assert call.outcome == "missed_out_of_hours"


def test_a_second_bridge_for_the_edge_stands_by_and_takes_over_when_the_first_goes(centre: Centre) -> None:
    """`siaga serve --workers 4` with the bridge on starts one bridge per worker, and the edge sends every
    event to every connected client: only one may serve it. The spare does not connect; when the serving
    bridge goes, the spare takes the edge over and the next call is answered and recorded once."""
    import asyncio
    import threading

    from siaga.core.clock import Clock
    from siaga.domains.telephony.bridge import EdgeBridge

    spare = EdgeBridge(centre.engine, Clock(), centre.settings)
    stop = threading.Event()

    async def run_spare() -> None:
        await spare.start()
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await spare.stop()

    thread = threading.Thread(target=asyncio.run, args=(run_spare(),), daemon=True)
    thread.start()
    try:
        centre.line("ct")
        centre.phone("ct")
        time.sleep(3)  # longer than a spare's retry
        assert not spare.connected.is_set() and not spare.lead.held
        centre.stop_app()  # the serving bridge goes
        wait_for(spare.connected.is_set, 20, "the spare bridge to take the edge over")
        centre.bridge = spare
        done = centre.edge.sipp("trunk_call.xml", "-d", "300", rows=[f"{CALLER};1.4667 102.1;35"], timeout=20)
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + centre.edge.log_text()[-2000:]
        call = centre.call_where("the call through the spare bridge", lambda c: c.status == "ended")
        assert call.operator_id == centre.user_id("ct") and len(centre.calls()) == 1
        assert centre.attempts(call.id) == [("ct", "answered")]
    finally:
        stop.set()
        thread.join(15)


def corpus_invites(port: int) -> dict[str, bytes]:
    """Every INVITE of the shared SIP corpus, as a trunk at 127.0.0.1:`port` would send it: the first INVITE
    of each Texas A&M SIPp scenario (rendered as sipp renders it, a Call-ID of its own) and SipLib's full
    NG9-1-1 INVITE. sipp itself cannot run two of the scenarios (an undefined variable, a media keyword on
    an m=text line), so they are rendered here rather than played."""
    from tests.conformance.test_location_corpora import SIPLIB, SIPP_KEYWORDS, render_sipp
    from tests.conformance.test_location_corpora import TAMU as TAMU_ROOT

    invites = {}
    for path in sorted(TAMU_ROOT.glob("*/*.xml")):
        for send in ET.parse(path).getroot().iter("send"):  # trusted corpus files
            if (send.text or "").strip().startswith("INVITE "):
                invites[path.name] = render_sipp(send.text or "", {
                    **SIPP_KEYWORDS, "local_ip": "127.0.0.1", "local_port": str(port), "media_ip": "127.0.0.1",
                    "call_id": f"{path.stem}@127.0.0.1", "branch": f"z9hG4bK-{uuid.uuid4().hex}"})
                break
    # SipLib's INVITE (21 kB, nine body parts) was captured with bare LF line endings from a TCP peer: sent
    # here as a trunk sends it over UDP (CRLF, its Via on our socket, Content-Length of the CRLF body).
    full = SIPLIB / "SipMessages" / "InviteAllAdditionalDataByValue1.sip"
    head, _, body = full.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").partition(b"\r\n\r\n")
    head = re.sub(rb"Via: SIP/2.0/TCP [^;]+", b"Via: SIP/2.0/UDP 127.0.0.1:%d" % port, head)
    head = re.sub(rb"Content-Length: *\d+", b"Content-Length: %d" % len(body), head)
    invites[full.name] = head + b"\r\n\r\n" + body
    return invites


def padded(invite: bytes, size: int = 65000) -> bytes:
    """The INVITE with one more body part (comment text) so that the whole message is `size` bytes, about
    the largest UDP datagram: the edge must still pass its PIDF-LO (a Call-ID of its own). Bodies over
    48,000 bytes go to the service in two base64 pieces (a Kamailio transformation gives under 64 KiB)."""
    head, _, body = invite.partition(b"\r\n\r\n")
    head = re.sub(rb"Call-ID: *([^\r]+)", rb"Call-ID: padded-\1", head)
    closing = b"--ng911-test--"
    assert closing in body
    part = b"--ng911-test\r\nContent-Type: text/plain\r\nContent-ID: <padding@example.com>\r\n\r\n"
    filler = size - len(head) - len(body) - len(part) - 40
    body = body.replace(closing, part + b"x" * filler + b"\r\n" + closing)
    head = re.sub(rb"Content-Length: *\d+", b"Content-Length: %d" % len(body), head)
    message = head + b"\r\n\r\n" + body
    assert size - 100 < len(message) <= size
    return message


def test_every_invite_of_the_shared_corpus_through_the_edge_keeps_the_locations_it_carries(centre: Centre) -> None:
    """Every INVITE of the shared corpus through the real Kamailio edge: each emergency call
    (urn:service:sos) is recorded, with the same locations as the offline parse of the same bytes finds.
    Large NG112 bodies used to lose their PIDF-LO on the way: Kamailio's 8 KB `pv_buffer_size` cut the
    base64 of a multipart body over ~6 KB, and the call came through with its location flagged for a
    wrong reason ("Geolocation names cid:… but the body has no such part"). Nobody is free (the line is on
    a break), so every call waits in the queue with what it brought."""
    from siaga.domains.location.sip import locations_from_invite, parse_sip_message

    centre.line("ct", presence="break")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trunk:
        trunk.bind(("127.0.0.1", 0))
        invites = corpus_invites(trunk.getsockname()[1])
        assert len(invites) >= 26
        invites["padded to the edge's limit"] = padded(invites["SIP_INVITE_from_OSP_with_SDP_PIDF-LO_NG-AACS.xml"])
        for raw in invites.values():
            trunk.sendto(raw, ("127.0.0.1", centre.edge.sip_port))
        offline = {name: parse_sip_message(raw) for name, raw in invites.items()}
        emergency = {offline[name].call_id: name for name in invites if offline[name].request_uri == "urn:service:sos"}
        assert len(emergency) >= 15
        try:
            calls = wait_for(lambda: (lambda found: found if set(emergency) <= set(found) else None)(
                {c.external_ref: c for c in centre.calls()}), 20, "a record of every emergency INVITE")
        except AssertionError:
            missing = set(emergency) - {c.external_ref for c in centre.calls()}
            raise AssertionError(f"not recorded: {[emergency[m] for m in missing]}") from None
    assert centre.edge.alive()
    wrong = {}
    for call_id, name in emergency.items():
        expected = [(loc.shape, loc.valid) for loc in locations_from_invite(offline[name])]
        got = [(loc.shape, loc.valid, loc.invalid_reason) for loc in centre.locations(calls[call_id].id)
               if loc.source == "pidf_lo"]
        if [(shape, valid) for shape, valid, _ in got] != expected:
            wrong[name] = (expected, got)
    assert not wrong, (wrong, [line for line in centre.edge.log_text().splitlines() if 'ERROR' in line][-10:])


def _register(sock: socket.socket, port: int, extension: str, domain: str, call_id: str, cseq: int,
              authorization: str = "") -> bytes:
    here = sock.getsockname()[1]
    raw = (f"REGISTER sip:{domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{here};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
           f"From: <sip:{extension}@{domain}>;tag=r{cseq}\r\nTo: <sip:{extension}@{domain}>\r\n"
           f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{extension}@127.0.0.1:{here}>\r\n"
           f"Expires: 300\r\nMax-Forwards: 70\r\n{authorization}Content-Length: 0\r\n\r\n").encode()
    return raw


def _exchange(sock: socket.socket, port: int, raw: bytes) -> bytes:
    sock.sendto(raw, ("127.0.0.1", port))
    return sock.recv(65535)


def test_a_captured_register_cannot_be_replayed(centre: Centre) -> None:
    """Digest nonces are good once: a REGISTER captured on the LAN and sent again — even from the same
    address with the same Call-ID, which `auth_checks_register` alone lets through — is challenged anew
    instead of pointing the extension at the replayer's phone."""
    import hashlib

    centre.line("ct")
    wait_for(lambda: centre._pushed("ct"), 10, "the line's credentials at the edge")
    ext, password, domain = EXTENSIONS["ct"], PASSWORDS["ct"], centre.settings.telephony_domain
    port = centre.edge.sip_port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)  # a hang guard
        call_id = f"replay-{uuid.uuid4().hex}@127.0.0.1"
        challenge = _exchange(sock, port, _register(sock, port, ext, domain, call_id, 1))
        assert challenge.startswith(b"SIP/2.0 401")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge.decode().split("WWW-Authenticate:", 1)[1]
                                 .split("\r\n", 1)[0]))
        ha1 = hashlib.md5(f"{ext}:{fields['realm']}:{password}".encode()).hexdigest()  # noqa: S324 (SIP digest)
        ha2 = hashlib.md5(f"REGISTER:sip:{domain}".encode()).hexdigest()  # noqa: S324
        response = hashlib.md5(f"{ha1}:{fields['nonce']}:{ha2}".encode()).hexdigest()  # noqa: S324
        authorization = (f'Authorization: Digest username="{ext}", realm="{fields["realm"]}", '
                         f'nonce="{fields["nonce"]}", uri="sip:{domain}", response="{response}", '
                         f'algorithm=MD5\r\n')
        signed = _register(sock, port, ext, domain, call_id, 2, authorization)
        assert _exchange(sock, port, signed).startswith(b"SIP/2.0 200")
        replayed = signed.replace(b"branch=z9hG4bK", b"branch=z9hG4bKreplay")
        assert _exchange(sock, port, replayed).startswith(b"SIP/2.0 401")


def test_in_dialog_requests_from_unknown_networks_are_refused(centre: Centre, tmp_path: Path) -> None:
    """A BYE routed through the edge ends a call: only the trunk and the phones may send one. From any
    other address an in-dialog request is refused (403) and never relayed — an outsider who learnt a
    Call-ID and tags cannot hang up an emergency call."""
    centre.edge.stop()
    edge = Edge(centre.settings.model_copy(update={"telephony_trunks": "10.9.9.9/32",
                                                   "telephony_phone_networks": "10.8.8.0/24"}),
                tmp_path / "edge-dialog", free_udp_port())
    edge.directory.mkdir()
    edge.settings = edge.settings.model_copy(update={"telephony_listen": f"udp:127.0.0.1:{edge.sip_port}",
                                                     "telephony_evapi": f"127.0.0.1:{free_tcp_port()}"})
    edge.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as target:
        target.bind(("127.0.0.1", 0))
        target.settimeout(1.0)  # how long a relayed BYE would take to arrive, at most, on one machine
        bye = (f"BYE sip:victim@127.0.0.1:{target.getsockname()[1]} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
               f"Route: <sip:127.0.0.1:{edge.sip_port};lr;ftag=a>\r\n"
               "From: <sip:0812@127.0.0.1>;tag=a\r\nTo: <sip:112@127.0.0.1>;tag=b\r\nCall-ID: dialog@x\r\n"
               "CSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
        try:
            reply = sip_request(edge.sip_port, bye)
            assert reply is not None and reply.startswith(b"SIP/2.0 403"), reply
            try:
                relayed = target.recv(65535)
            except TimeoutError:
                relayed = b""
            assert relayed == b""
        finally:
            edge.stop()


def _raw_invite(here: int, call_id: str, tag: str) -> bytes:
    return (f"INVITE sip:112@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{here};branch=z9hG4bK{uuid.uuid4().hex}"
            f"\r\nFrom: <sip:081234567890@127.0.0.1>;tag={tag}\r\nTo: <sip:112@127.0.0.1>\r\nCall-ID: {call_id}\r\n"
            f"CSeq: 1 INVITE\r\nContact: <sip:081234567890@127.0.0.1:{here}>\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n").encode()


def test_a_call_id_used_again_after_a_refused_call_is_a_new_call_that_rings(centre: Centre) -> None:
    """A caller refused while nobody was on duty redials, and their phone (or the trunk) reuses the Call-ID:
    that INVITE is a new emergency call — recorded on its own and rung at the operator who is now on duty.
    It used to join the finished call: the caller heard ringing and no phone ever rang."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trunk:
        trunk.bind(("127.0.0.1", 0))
        here = trunk.getsockname()[1]
        trunk.sendto(_raw_invite(here, "redial@192.0.2.7", "first"), ("127.0.0.1", centre.edge.sip_port))
        first = centre.call_where("the refused call", lambda c: c.outcome == "missed_out_of_hours")
        centre.line("ct")
        centre.phone("ct")
        trunk.sendto(_raw_invite(here, "redial@192.0.2.7", "second"), ("127.0.0.1", centre.edge.sip_port))
        second = centre.call_where("the redial to be answered", lambda c: c.answered_at is not None)
    assert second.id != first.id and second.external_ref == "redial@192.0.2.7#2"
    assert second.operator_id == centre.user_id("ct")
    assert centre.call_where("the first call, unchanged", lambda c: c.id == first.id).outcome == "missed_out_of_hours"
