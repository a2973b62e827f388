"""Joining an agency to a caller (issue 17), through the real edge: sipp as the trunk, as the operator's desk
phone, as the same phone placing a second call with its digest, and as the agency's desk behind the trunk
gateway; Kamailio and rtpengine as they run in production. The agency's leg carries audio both ways (its
recording through rtpengine holds both voices), each step is in the incident's timeline; a line cannot
dial a number that is no agency's; transfers (REFER) are relayed to a trunk that accepts them or refuses
them (then the console is told to conference instead). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from siaga.core.audit import AuditEntry
from siaga.db.engine import unit_of_work
from siaga.domains.agencies.models import Agency
from siaga.domains.incidents import actions as incident_actions
from siaga.domains.incidents.models import TimelineEntry
from siaga.domains.incidents.schemas import IncidentCreate
from siaga.domains.recordings import audio
from siaga.domains.telephony.models import AgencyCall
from tests.conftest import token_for
from tests.sip.harness import SCENARIOS, Centre, free_udp_port, rtp_ports, running_centre, sip_request, wait_for

CALLER = "+6281234567890"
DAMKAR_PHONE = "(0766) 21-113"  # as an admin types it; the phone dials its digits
DAMKAR_DIAL = "076621113"
SAMPLE_PCAP = Path("/usr/share/sip-tester/g711a.pcap")


@pytest.fixture
def agency_port() -> int:
    return free_udp_port()


@pytest.fixture
def centre(engine: Engine, db_url: str, tmp_path: Path, agency_port: int) -> Iterator[Centre]:
    assert SAMPLE_PCAP.is_file(), "sip-tester's sample RTP (g711a.pcap) is missing: apt-get install sip-tester"
    with running_centre(engine, db_url, tmp_path, telephony_media=True, recording_dir=tmp_path / "rec",
                        telephony_rtp_ports=rtp_ports(),
                        telephony_rtpengine_ng=f"127.0.0.1:{free_udp_port()}",
                        telephony_trunk_gateway=f"sip:127.0.0.1:{agency_port}") as c:
        yield c


def _damkar_has_a_number(c: Centre) -> int:
    with unit_of_work(c.engine) as db:
        agency = db.scalar(select(Agency).where(Agency.code == "DAMKAR"))
        assert agency is not None
        agency.phone = DAMKAR_PHONE
        agency_id = agency.id
    # The bridge pushes the agencies' numbers to the edge as it pushes the lines (within five seconds).
    wait_for(lambda: c.bridge is not None and (c.bridge.dial_pushed or {}).get(DAMKAR_DIAL) == str(agency_id), 15,
             "the agency's number at the edge")
    return agency_id


def _udp_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def _agency_desk(c: Centre, port: int) -> subprocess.Popen[bytes]:
    """The agency's desk phone behind the trunk gateway: answers with audio (sip-tester's g711a.pcap). Ready
    (its port bound) before it is returned: an INVITE the edge sends to a port nobody holds yet is refused
    (ICMP) and the edge's retransmissions of it never reach the desk (408 after 5 s; seen on a loaded machine)."""
    log = c.edge.directory / f"desk-{port}.log"
    proc = subprocess.Popen(["sipp", "-sf", str(SCENARIOS / "phone_answer_audio.xml"), "-i", "127.0.0.1",
                             "-p", str(port), "-mp", str(free_udp_port()), "-m", "1", "-nostdin", "-timeout", "60s",
                             "-timeout_error"], cwd=c.edge.directory,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    c.edge.children.append(proc)
    wait_for(lambda: proc.poll() is not None or _udp_bound(port), 10, "the agency's desk to listen")
    assert proc.poll() is None, f"the agency's desk (sipp) did not start: {log.read_text(errors='replace')[-2000:]}"
    return proc


def _in_background(fn) -> tuple[threading.Thread, dict[str, subprocess.CompletedProcess[bytes]]]:  # type: ignore[no-untyped-def]
    out: dict[str, subprocess.CompletedProcess[bytes]] = {}
    thread = threading.Thread(target=lambda: out.setdefault("done", fn()))
    thread.start()
    return thread, out


def _incident_for(c: Centre, call_id: int) -> int:
    with c.ctx("ct") as ctx:
        return incident_actions.create_incident(ctx, IncidentCreate(category_code="kebakaran", call_id=call_id)).id


def _timeline(c: Centre, incident_id: int) -> list[str]:
    with unit_of_work(c.engine, write=False) as db:
        entries = db.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)
                             .order_by(TimelineEntry.id))
        return [e.code or e.kind for e in entries]


def _agency_calls(c: Centre) -> list[AgencyCall]:
    with unit_of_work(c.engine, write=False) as db:
        rows = list(db.scalars(select(AgencyCall).order_by(AgencyCall.id)))
        db.expunge_all()
        return rows


def _audits(c: Centre, action: str) -> list[dict[str, object]]:
    with unit_of_work(c.engine, write=False) as db:
        return [json.loads(a.data) for a in db.scalars(select(AuditEntry).where(AuditEntry.action == action))]


def _api(c: Centre, username: str = "ct") -> httpx.Client:
    return httpx.Client(base_url=c.url, headers={"Authorization": f"Bearer {token_for(username)}"}, timeout=10)


def _ok(done: subprocess.CompletedProcess[bytes], c: Centre) -> None:
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + c.edge.log_text()[-3000:]


def test_a_call_taker_conferences_the_agency_in_and_its_leg_carries_audio_both_ways_with_each_step_in_the_timeline(
        centre: Centre, agency_port: int) -> None:
    c = centre
    c.line("ct")
    c.phone("ct", "phone_answer_audio.xml")
    damkar = _damkar_has_a_number(c)
    desk = _agency_desk(c, agency_port)
    trunk, result = _in_background(lambda: c.edge.sipp("trunk_call_audio.xml", "-d", "12000",
                                                       rows=[f"{CALLER};1.4667 102.1;35"], timeout=40))
    call = c.call_where("the emergency call answered", lambda x: x.status == "answered")
    incident_id = _incident_for(c, call.id)
    with _api(c) as api:
        asked = api.post(f"/api/v1/calls/{call.id}/agency-calls", json={"agency_id": damkar})
        assert asked.status_code == 201, asked.text
        assert (asked.json()["dial"], asked.json()["state"]) == (DAMKAR_DIAL, "requested")
        assert api.post(f"/api/v1/calls/{call.id}/agency-calls", json={"agency_id": 10**9}).status_code == 422
    with _api(c, "damkar") as api:  # an agency operator cannot act on the centre's calls
        assert api.post(f"/api/v1/calls/{call.id}/agency-calls", json={"agency_id": damkar}).status_code == 403

    # The operator's phone dials the agency's number (a second line key), authenticating with its digest.
    domain = c.settings.telephony_domain
    dialler, dialled = _in_background(lambda: c.edge.sipp(
        "operator_dial_audio.xml", "-d", "5000", "-au", "1001", "-ap", "ct-secret-1001", "-mp", str(free_udp_port()),
        rows=[f"{DAMKAR_DIAL};1001;{domain}"], timeout=30))
    talking = wait_for(lambda: next((r for r in _agency_calls(c) if r.state == "answered"), None), 15,
                       "the agency to answer")
    # What the edge cannot see, the console says: the phone mixes the three now; later the call-taker leaves.
    with _api(c) as api:
        for step in ("conference_started", "operator_left"):
            r = api.post(f"/api/v1/agency-calls/{talking.id}/steps", json={"step": step})
            assert r.status_code == 200, r.text
        assert api.post(f"/api/v1/agency-calls/{talking.id}/steps", json={"step": "x"}).status_code == 422
    with _api(c, "disp") as api:  # not their call
        r = api.post(f"/api/v1/agency-calls/{talking.id}/steps", json={"step": "operator_left"})
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    dialler.join(60)
    _ok(dialled["done"], c)
    assert desk.wait(20) == 0, "the agency's desk did not take the call as its scenario says"
    leg = wait_for(lambda: next((r for r in _agency_calls(c) if r.state == "ended"), None), 10, "the agency leg ended")
    with _api(c) as api:
        assert api.post(f"/api/v1/agency-calls/{leg.id}/steps", json={"step": "operator_left"}).status_code == 409
    trunk.join(60)
    _ok(result["done"], c)
    c.call_where("the emergency call ended", lambda x: x.id == call.id and x.status == "ended")

    # One agency call: the one asked for, joined by the edge's report of the dialled leg.
    [row] = _agency_calls(c)
    assert (row.id, row.call_id, row.incident_id, row.agency_id, row.extension, row.target, row.kind) == \
        (asked.json()["id"], call.id, incident_id, damkar, "1001", DAMKAR_DIAL, "conference")
    assert row.answered_at is not None and row.ended_at is not None and row.sip_call_id
    assert _timeline(c, incident_id)[-5:] == [
        "timeline.agency_call_dialled", "timeline.agency_call_answered", "timeline.agency_conference_started",
        "timeline.agency_operator_left", "timeline.agency_call_ended"]
    assert [a["agency_call_id"] for a in _audits(c, "telephony.agency_call.request")] == [row.id]

    # rtpengine anchored and recorded both calls; the agency's leg is a recording of the emergency call too,
    # with the operator's voice on one side and the agency's on the other.
    recs = c.recorded(2)
    assert set(recs) == {call.external_ref, row.sip_call_id}
    agency_leg = recs[row.sip_call_id]
    assert agency_leg.call_id == call.id and agency_leg.state == "ready" and 4.0 <= agency_leg.duration_s <= 7.0
    operator_rms, agency_rms = audio.channel_rms(c.recording_path(agency_leg).read_bytes())
    assert operator_rms > 500 and agency_rms > 500, (operator_rms, agency_rms)
    assert recs[call.external_ref].call_id == call.id  # the caller's recording went on throughout


def test_a_line_may_dial_only_agencies_and_lines_and_must_authenticate(centre: Centre) -> None:
    c = centre
    c.line("ct")
    c.line("sup")
    c.phone("ct")
    c.phone("sup")
    _damkar_has_a_number(c)
    domain = c.settings.telephony_domain
    # Another line's extension: found where it is registered, through rtpengine like any call.
    done = c.edge.sipp("operator_dial_audio.xml", "-d", "500", "-au", "1001", "-ap", "ct-secret-1001",
                       "-mp", str(free_udp_port()), rows=[f"1002;1001;{domain}"], timeout=20)
    _ok(done, c)
    line_call = wait_for(lambda: next((r for r in _agency_calls(c) if r.state == "ended"), None), 10, "the line call")
    assert (line_call.target, line_call.target_kind, line_call.call_id, line_call.agency_id) == ("1002", "line", None,
                                                                                                 None)
    assert _audits(c, "telephony.agency_call.dial")[0]["extension"] == "1001"
    done = c.edge.sipp("operator_dial_refused.xml", "-au", "1001", "-ap", "ct-secret-1001",
                       rows=[f"0812999888;1001;{domain}"], timeout=20)
    _ok(done, c)
    wait_for(lambda: _audits(c, "telephony.outbound_refused"), 10, "the refusal audited")
    assert _audits(c, "telephony.outbound_refused")[0]["target"] == "0812999888"
    assert [r.target for r in _agency_calls(c)] == ["1002"]  # the refused number is nowhere

    # No credentials, or another line's extension: challenged, never relayed.
    tag = uuid.uuid4().hex[:8]
    raw = (f"INVITE sip:{DAMKAR_DIAL}@{domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{tag}\r\n"
           f"From: <sip:1001@{domain}>;tag={tag}\r\nTo: <sip:{DAMKAR_DIAL}@{domain}>\r\nCall-ID: {tag}@x\r\n"
           "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
    reply = sip_request(c.edge.sip_port, raw)
    assert reply is not None and reply.startswith(b"SIP/2.0 407"), reply
    unknown_line = raw.replace(b"sip:1001@", b"sip:7777@").replace(tag.encode(), b"y" + tag.encode())
    reply = sip_request(c.edge.sip_port, unknown_line)
    assert reply is not None and reply.startswith(b"SIP/2.0 407"), reply
    assert len(_agency_calls(c)) == 1
    # An emergency call from the phone network is still not a line's call: refused as before (403).
    reply = sip_request(c.edge.sip_port, raw.replace(f"sip:{DAMKAR_DIAL}@".encode(), b"sip:112@")
                        .replace(tag.encode(), b"z" + tag.encode()))
    assert reply is not None and reply.startswith(b"SIP/2.0"), reply


def test_a_blind_transfer_the_trunk_accepts_connects_the_caller_and_the_timeline_says_so(centre: Centre) -> None:
    c = centre
    c.line("ct")
    damkar = _damkar_has_a_number(c)
    c.phone("ct", "phone_answer_refer.xml", extra=("-d", "2500", "-key", "refer_uri", f"sip:{DAMKAR_DIAL}@127.0.0.1"))
    trunk, result = _in_background(lambda: c.edge.sipp("trunk_call_refer.xml", rows=[CALLER], timeout=30))
    call = c.call_where("the emergency call answered", lambda x: x.status == "answered")
    incident_id = _incident_for(c, call.id)
    with _api(c) as api:  # the console asks first; the phone's REFER joins what it asked
        asked = api.post(f"/api/v1/calls/{call.id}/agency-calls", json={"agency_id": damkar, "kind": "blind_transfer"})
        assert asked.status_code == 201, asked.text
    trunk.join(60)
    _ok(result["done"], c)
    row = wait_for(lambda: next((r for r in _agency_calls(c) if r.state == "transferred"), None), 10,
                   "the transfer done")
    assert (row.id, row.kind, row.agency_id, row.call_id, row.incident_id, row.target) == \
        (asked.json()["id"], "blind_transfer", damkar, call.id, incident_id, DAMKAR_DIAL)
    assert len(_agency_calls(c)) == 1
    assert _timeline(c, incident_id)[-3:] == ["timeline.agency_transfer_requested_blind",
                                              "timeline.agency_transfer_accepted", "timeline.agency_transfer_done"]
    with _api(c) as api:
        [out] = api.get(f"/api/v1/calls/{call.id}/agency-calls").json()
        assert (out["state"], out["use_conference"], out["agency_name"]) == ("transferred", False, "Damkar")


def test_a_trunk_that_refuses_transfers_tells_the_console_to_conference_and_no_line_transfers_anywhere(
        centre: Centre) -> None:
    c = centre
    c.line("ct")
    _damkar_has_a_number(c)
    attended = f"sip:{DAMKAR_DIAL}@127.0.0.1?Replaces=consult-1%40op%3Bto-tag%3Da%3Bfrom-tag%3Db"
    c.phone("ct", "phone_answer_refer_refused.xml", extra=("-d", "2500", "-key", "refer_uri", attended))
    trunk, result = _in_background(lambda: c.edge.sipp("trunk_call_refer_refused.xml", "-d", "1500", rows=[CALLER],
                                                       timeout=30))
    call = c.call_where("the emergency call answered", lambda x: x.status == "answered")
    incident_id = _incident_for(c, call.id)
    trunk.join(60)
    _ok(result["done"], c)
    row = wait_for(lambda: next((r for r in _agency_calls(c) if r.state == "refused"), None), 10, "the refusal")
    assert (row.kind, row.result) == ("attended_transfer", "405")
    assert _timeline(c, incident_id)[-2:] == ["timeline.agency_transfer_requested_attended",
                                              "timeline.agency_transfer_refused"]
    with _api(c) as api:
        [out] = api.get(f"/api/v1/calls/{call.id}/agency-calls").json()
        assert out["use_conference"] is True
    assert _audits(c, "telephony.agency_call.transfer_refused")
    c.call_where("the emergency call ended", lambda x: x.id == call.id and x.status == "ended")

    # A REFER within a call to a number that is no agency's (the trunk would dial it for us): refused at the edge.
    port, tag = c.edge.sip_port, uuid.uuid4().hex[:8]
    raw = (f"REFER sip:{CALLER}@127.0.0.1:9 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{tag}\r\n"
           f"Route: <sip:127.0.0.1:{port};lr>\r\nFrom: <sip:1001@127.0.0.1>;tag={tag}\r\n"
           f"To: <sip:{CALLER}@127.0.0.1>;tag=t{tag}\r\nCall-ID: {call.external_ref}\r\nCSeq: 9 REFER\r\n"
           "Refer-To: <sip:0812999888@127.0.0.1>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
    reply = sip_request(port, raw)
    assert reply is not None and reply.startswith(b"SIP/2.0 403"), reply
    wait_for(lambda: _audits(c, "telephony.refer_refused"), 10, "the refused transfer audited")
    assert [r.state for r in _agency_calls(c)] == ["refused"]
