"""Call recordings. One call through the real media plane — sipp as the trunk and as the operator's phone,
each playing RTP audio (sip-tester's g711a.pcap), through the real Kamailio edge and rtpengine — is recorded
from its answer, both directions, attached to its call with its duration and SHA-256; the rest (playback,
roles, audit, legal hold, retention, a missing file) on recordings attached from an rtpengine-format spool
written here. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import wave
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from siaga.core.audit import AuditEntry
from siaga.core.authz import SYSTEM
from siaga.core.clock import Clock, FixedClock
from siaga.core.context import Ctx
from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import Call
from siaga.domains.recordings import actions, audio
from siaga.domains.recordings.models import Recording
from siaga.settings import Settings
from tests.conftest import token_for
from tests.sip.harness import Centre, free_udp_port, rtp_ports, running_centre, wait_for

CALLER = "+6281234567890"
SAMPLE_PCAP = Path("/usr/share/sip-tester/g711a.pcap")


def _audits(engine: Engine, action: str) -> list[AuditEntry]:
    with unit_of_work(engine, write=False) as db:
        rows = list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))
        db.expunge_all()
    for row in rows:
        row.data = json.loads(row.data)  # type: ignore[assignment]
    return rows


def _recordings(engine: Engine) -> list[Recording]:
    with unit_of_work(engine, write=False) as db:
        rows = list(db.scalars(select(Recording).order_by(Recording.id)))
        db.expunge_all()
        return rows


# --- the real media plane ---------------------------------------------------------------------------------

@pytest.fixture
def media_centre(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Centre]:
    assert SAMPLE_PCAP.is_file(), "sip-tester's sample RTP (g711a.pcap) is missing: apt-get install sip-tester"
    with running_centre(engine, db_url, tmp_path, telephony_media=True, recording_dir=tmp_path / "rec",
                        telephony_rtp_ports=rtp_ports(),
                        telephony_rtpengine_ng=f"127.0.0.1:{free_udp_port()}") as c:
        yield c


def test_trunk_calls_are_recorded_both_ways_with_the_service_up_or_down_and_connect_without_rtpengine(
        media_centre: Centre) -> None:
    c = media_centre
    c.line("ct")
    c.phone("ct", "phone_answer_audio.xml", calls=3)
    done = c.edge.sipp("trunk_call_audio.xml", "-d", "3000", rows=[f"{CALLER};1.4667 102.1;35"])
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    call = c.call_where("the call to end", lambda x: x.status == "ended")
    # rtpengine closes the recording when the edge deletes the call (BYE): its metadata file says "finished".
    spool = Path(c.settings.recording_dir) / "spool" / "metadata"
    wait_for(lambda: list(spool.glob("rtpengine-meta-*.txt")), 10, "rtpengine to finish the recording")
    assert actions.attach_step(c.engine, Clock(), c.settings) == 1
    assert list(spool.iterdir()) == [] and list((spool.parent / "pcaps").iterdir()) == []
    [rec] = _recordings(c.engine)
    assert (rec.call_id, rec.state, rec.call_ref) == (call.id, "ready", call.external_ref)
    # From the answer to the caller's BYE, 3 s after it (sipp's -d).
    assert 2.5 <= rec.duration_s <= 4.0, rec.duration_s
    path = Path(c.settings.recording_dir) / rec.file_name
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == rec.sha256 and len(data) == rec.size_bytes
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 8000)
        assert abs(w.getnframes() / 8000 - rec.duration_s) < 0.01
    caller_rms, operator_rms = audio.channel_rms(data)
    # Both voices are there (the sample is speech at ~ -20 dBFS: an RMS in the thousands; silence is 0-8).
    assert caller_rms > 500 and operator_rms > 500, (caller_rms, operator_rms)
    assert [a.data["sha256"] for a in _audits(c.engine, "recording.attach")] == [rec.sha256]

    # With the service down (degraded mode: the edge rings every phone itself), the audio still flows through
    # rtpengine and is still recorded; the recording waits in the spool, is attached, and joins its call
    # once the service is back and the edge has handed the call over.
    c.stop_app()
    wait_for(lambda: "service disconnected" in c.edge.log_text(), 10, "the edge to notice")
    done = c.edge.sipp("trunk_call_audio.xml", "-d", "2000", rows=[f"{CALLER};1.4667 102.1;35"], timeout=20)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + c.edge.log_text()[-2000:]
    wait_for(lambda: list(spool.glob("rtpengine-meta-*.txt")), 10, "rtpengine to finish the second recording")
    assert actions.attach_step(c.engine, Clock(), c.settings) == 1
    late = _recordings(c.engine)[1]
    assert late.call_id is None and late.state == "ready" and 1.5 <= late.duration_s <= 3.0, late.duration_s
    assert min(audio.channel_rms((Path(c.settings.recording_dir) / late.file_name).read_bytes())) > 500
    c.start_app()
    second = c.call_where("the degraded call, handed over", lambda x: x.id != call.id and x.status == "ended")
    assert actions.attach_step(c.engine, Clock(), c.settings) == 1  # linked
    assert _recordings(c.engine)[1].call_id == second.id and second.external_ref == late.call_ref

    # rtpengine gone: the call still goes through (media straight between trunk and phone), unrecorded.
    assert c.edge.media is not None
    c.edge.media.terminate()
    c.edge.media.wait(10)
    done = c.edge.sipp("trunk_call_audio.xml", "-d", "500", rows=[f"{CALLER};1.4667 102.1;35"], timeout=20)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + c.edge.log_text()[-2000:]
    third = c.call_where("the call without media", lambda x: x.id not in (call.id, second.id) and x.status == "ended")
    assert third.answered_at is not None and "rtpengine did not take the offer" in c.edge.log_text()
    assert actions.attach_step(c.engine, Clock(), c.settings) == 0 and len(_recordings(c.engine)) == 2


def test_a_recording_rtpengine_never_finished_is_recovered_once_its_call_is_over(media_centre: Centre) -> None:
    """rtpengine stopped with a recorded call up (10.5 segfaults on SIGTERM then; a crash or kill -9 alike) never
    finishes that recording: its metadata stays in spool/tmp and nothing would ever attach it. Siaga finishes it
    once rtpengine has left it untouched for two minutes and its call is over: playable, both voices, linked to
    its call, marked recovered (the console and the evidence pack say so). While the call is live it is left
    alone, however long it has been untouched (a call on hold sends nothing)."""
    c = media_centre
    c.line("ct")
    c.phone("ct", "phone_answer_audio.xml")
    caller: dict[str, object] = {}
    thread = threading.Thread(target=lambda: caller.setdefault("done", c.edge.sipp(
        "trunk_call_audio.xml", "-d", "8000", rows=[f"{CALLER};1.4667 102.1;35"], timeout=40)))
    thread.start()
    call = c.call_where("the call to be answered", lambda x: x.status == "answered")
    tmp = Path(c.settings.recording_dir) / "spool" / "tmp"
    pcaps = tmp.parent / "pcaps"
    wait_for(lambda: sum(p.stat().st_size for p in pcaps.glob("*.pcap")) > 40_000, 15, "two seconds recorded")
    assert c.edge.media is not None
    c.edge.media.terminate()
    c.edge.media.wait(10)
    [orphan] = tmp.glob("rtpengine-meta-*.tmp")  # rtpengine never finished it
    later = FixedClock(datetime.now(UTC) + timedelta(minutes=3))
    assert c.calls()[-1].status == "answered"
    assert actions.attach_step(c.engine, later, c.settings) == 0 and orphan.is_file()  # its call is live
    thread.join()
    assert caller["done"].returncode == 0  # type: ignore[attr-defined]
    c.call_where("the call to end", lambda x: x.id == call.id and x.status == "ended")
    assert actions.attach_step(c.engine, Clock(), c.settings) == 0 and orphan.is_file()  # touched just now

    assert actions.attach_step(c.engine, later, c.settings) == 1
    assert list(tmp.iterdir()) == [] and list(pcaps.iterdir()) == [] and list((tmp.parent / "metadata").iterdir()) == []
    [rec] = _recordings(c.engine)
    assert (rec.call_id, rec.state, rec.recovered, rec.call_ref) == (call.id, "ready", True, call.external_ref)
    assert 1.5 <= rec.duration_s <= 8.5 and rec.ended_at is not None and rec.ended_at > rec.started_at
    data = (Path(c.settings.recording_dir) / rec.file_name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == rec.sha256
    assert min(audio.channel_rms(data)) > 500
    [attached] = _audits(c.engine, "recording.attach")
    assert attached.data["reason"] == actions.RECOVERED_REASON  # type: ignore[index]
    shown = httpx.get(f"{c.url}/api/v1/calls/{call.id}/recordings", timeout=10,
                      headers={"Authorization": f"Bearer {token_for('sup')}"}).json()
    assert [(r["id"], r["recovered"]) for r in shown] == [(rec.id, True)]
    assert actions.attach_step(c.engine, later, c.settings) == 0  # once


# --- a spool written here, as rtpengine writes it -----------------------------------------------------------

ALAW = audio.TABLES[8]


def _alaw(samples: np.ndarray) -> bytes:
    return bytes(np.abs(ALAW[None, :].astype(np.int32) - samples[:, None]).argmin(axis=1).astype(np.uint8))


def _pcap(path: Path, caller_port: int, seconds: float, t0: float = 1_795_000_000.0) -> None:
    """Raw-IP pcap of two G.711 A-law streams through rtpengine: the caller (440 Hz) to `caller_port`, the
    operator (880 Hz) to another port."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)]
    n = int(seconds * 50)
    sides = ((6000, caller_port, 440, 111), (6002, caller_port - 10, 880, 222))
    for side, (sport, dport, hz, ssrc) in enumerate(sides):
        for i in range(n):
            t = np.arange(160) / 8000 + i * 0.02
            payload = _alaw((8000 * np.sin(2 * np.pi * hz * t)).astype(np.int32))
            rtp = struct.pack(">BBHII", 0x80, 8, i, i * 160, ssrc) + payload
            udp = struct.pack(">HHHH", sport, dport, 8 + len(rtp), 0) + rtp
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([127, 0, 0, 1]),
                             bytes([127, 0, 0, 1])) + udp
            at = t0 + i * 0.02 + side * 0.001
            out.append(struct.pack("<IIII", int(at), int((at % 1) * 1e6), len(ip), len(ip)) + ip)
    path.write_bytes(b"".join(out))


def spool_recording(settings: Settings, sip_call_id: str, seconds: float = 2.0, *, pcap: bool = True,
                    recovered: bool = False) -> Path:
    """`recovered`: as Siaga finishes one rtpengine never did (actions.recover_orphans)."""
    import urllib.parse

    spool = Path(settings.recording_dir) / "spool"
    (spool / "pcaps").mkdir(parents=True, exist_ok=True)
    (spool / "metadata").mkdir(parents=True, exist_ok=True)
    tag = hashlib.md5((sip_call_id + ("/recovered" if recovered else "")).encode()).hexdigest()[:16]
    stem = f"{urllib.parse.quote(sip_call_id, safe='')}-{tag}"
    pcap_path = spool / "pcaps" / f"{stem}.pcap"
    if pcap:
        _pcap(pcap_path, 40100, seconds)
    meta = spool / "metadata" / f"rtpengine-meta-{stem}.txt"
    meta.write_text(f"{pcap_path}\n\n\nTimestamp started ms: 1795000000000.0\nSDP mode: answer\n"
                    "SDP before RTP packet: 1\n\nv=0\nc=IN IP4 127.0.0.1\nm=audio 40100 RTP/AVP 8\n\n\n"
                    "call start time: 2026-11-18T00:00:00\ncall end time: 2026-11-18T00:00:02\n\n\n"
                    + (f"{audio.RECOVERED_MARK} 2026-11-18T00:05:00\n" if recovered else ""))
    return meta


@pytest.fixture
def rec_settings(app, settings: Settings, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    s = settings.model_copy(update={"recording_dir": tmp_path / "rec", "telephony_media": True})
    app.state.settings = s
    return s


def _call(api, ref: str) -> int:  # type: ignore[no-untyped-def]
    r = api("phone").post("/api/v1/call-events", json={"event_id": f"{ref}-offered", "call_ref": ref,
                                                       "type": "offered", "at": "2026-11-27T00:59:50Z",
                                                       "caller_number": "081234567890"})
    assert r.status_code == 201, r.text
    return int(r.json()["call"]["id"])


def test_a_recording_made_while_the_service_was_away_is_attached_and_linked_when_its_call_is_known(
        api, engine: Engine, rec_settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    spool_recording(rec_settings, "late-1@trunk")
    assert actions.attach_step(engine, clock, rec_settings) == 1
    [rec] = _recordings(engine)
    assert rec.call_id is None and rec.state == "ready" and abs(rec.duration_s - 2.0) < 0.05
    data = (Path(rec_settings.recording_dir) / rec.file_name).read_bytes()
    caller, operator = audio.channel_rms(data)
    assert caller > 3000 and operator > 3000  # each tone in its own channel
    call_id = _call(api, "late-1@trunk")  # the degraded call handed over once the service is back
    assert actions.attach_step(engine, clock, rec_settings) == 1
    assert _recordings(engine)[0].call_id == call_id
    r = api("ct").get(f"/api/v1/calls/{call_id}/recordings")
    assert r.status_code == 200 and [x["sha256"] for x in r.json()] == [hashlib.sha256(data).hexdigest()]


@pytest.fixture
def recorded(api, engine: Engine, rec_settings: Settings, clock) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    call_id = _call(api, "rec-1@trunk")
    spool_recording(rec_settings, "rec-1@trunk")
    actions.attach_step(engine, clock, rec_settings)
    [rec] = _recordings(engine)
    return call_id, rec.id


def test_playback_is_refused_to_an_agency_operator_and_audited_for_a_supervisor(
        api, engine: Engine, recorded: tuple[int, int], clock) -> None:  # type: ignore[no-untyped-def]
    call_id, rec_id = recorded
    refused = api("damkar").get(f"/api/v1/recordings/{rec_id}/audio")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert api("damkar").get(f"/api/v1/calls/{call_id}/recordings").status_code == 403
    full = api("sup").get(f"/api/v1/recordings/{rec_id}/audio")
    assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
    assert full.content[:4] == b"RIFF"
    # Seeking: a byte range, not audited again (one playback, one entry).
    part = api("sup").get(f"/api/v1/recordings/{rec_id}/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == full.content[1000:2000]
    plays = _audits(engine, "recording.play")
    assert [(p.entity_id, p.actor) for p in plays] == [(str(rec_id), plays[0].actor)] and "sup" in plays[0].actor
    # Another listener's playback is theirs; the same listener ten minutes later plays it again.
    api("disp").get(f"/api/v1/recordings/{rec_id}/audio", headers={"Range": "bytes=5000-"})
    clock.advance(minutes=11)
    api("sup").get(f"/api/v1/recordings/{rec_id}/audio", headers={"Range": "bytes=0-"})
    assert len(_audits(engine, "recording.play")) == 3
    # The waveform: each channel's peaks (the spooled tones are at 8000 of 32768).
    peaks = api("ct").get(f"/api/v1/recordings/{rec_id}/peaks?points=50").json()
    assert len(peaks["caller"]) == len(peaks["operator"]) == 50
    assert all(0.2 < v < 0.3 for v in peaks["caller"] + peaks["operator"])
    assert api("damkar").get(f"/api/v1/recordings/{rec_id}/peaks").status_code == 403
    # Download: supervisors only, with its hash.
    assert api("ct").get(f"/api/v1/recordings/{rec_id}/download").status_code == 403
    dl = api("sup").get(f"/api/v1/recordings/{rec_id}/download")
    assert dl.status_code == 200 and dl.headers["x-content-sha256"] == hashlib.sha256(dl.content).hexdigest()
    assert len(_audits(engine, "recording.download")) == 1


def test_a_missing_file_shows_as_missing_and_breaks_nothing_else(
        api, rec_settings: Settings, recorded: tuple[int, int], engine: Engine) -> None:  # type: ignore[no-untyped-def]
    call_id, rec_id = recorded
    [rec] = _recordings(engine)
    (Path(rec_settings.recording_dir) / rec.file_name).unlink()
    listed = api("ct").get(f"/api/v1/calls/{call_id}/recordings")
    assert [r["state"] for r in listed.json()] == ["missing"]
    gone = api("ct").get(f"/api/v1/recordings/{rec_id}/audio")
    assert gone.status_code == 404 and gone.json()["code"] == "recording_unavailable"
    assert api("ct").get(f"/api/v1/calls/{call_id}").status_code == 200


def test_an_unreadable_recording_is_kept_as_such(api, engine: Engine, rec_settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    spool_recording(rec_settings, "broken@trunk", pcap=False)
    assert actions.attach_step(engine, clock, rec_settings) == 1
    [rec] = _recordings(engine)
    assert rec.state == "unreadable" and "pcap not readable" in rec.reason
    assert api("sup").get(f"/api/v1/recordings/{rec.id}").json()["state"] == "unreadable"


def test_retention_deletes_an_old_recording_but_keeps_one_on_legal_hold(
        api, engine: Engine, rec_settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    for ref in ("old-1@trunk", "old-2@trunk"):
        spool_recording(rec_settings, ref)
    actions.attach_step(engine, clock, rec_settings)
    first, second = _recordings(engine)
    assert api("ct").put(f"/api/v1/recordings/{second.id}/hold",
                         json={"hold": True, "reason": "LP/123/XI/2026", "version": 1}).status_code == 403
    no_reason = api("sup").put(f"/api/v1/recordings/{second.id}/hold", json={"hold": True, "version": 1})
    assert no_reason.status_code == 422
    held = api("sup").put(f"/api/v1/recordings/{second.id}/hold",
                          json={"hold": True, "reason": "LP/123/XI/2026 Polres Bengkalis", "version": 1})
    assert held.status_code == 200 and held.json()["legal_hold"] is True
    later = clock.now() + timedelta(days=rec_settings.recording_retention_days + 1)
    with unit_of_work(engine) as db:  # nothing is removed until the batch is committed
        counts, files = actions.retention_batch(Ctx(db=db, actor=SYSTEM, clock=type(clock)(later),
                                                    settings=rec_settings))
        assert counts == {"deleted": 1, "held": 1, "files_missing": 0} and all(f.is_file() for f in files)
        db.rollback()
    assert actions.retention_step(engine, type(clock)(later), rec_settings) == 1
    first_now, second_now = _recordings(engine)
    assert (first_now.state, second_now.state) == ("deleted", "ready")
    root = Path(rec_settings.recording_dir)
    assert not (root / first.file_name).exists() and (root / second.file_name).is_file()
    [entry] = _audits(engine, "recording.retention")
    assert (entry.data["deleted"], entry.data["held"]) == (1, 1)
    assert api("sup").get(f"/api/v1/recordings/{first.id}/audio").status_code == 410
    with unit_of_work(engine, write=False) as db:  # the row stays: its hash is still evidence of what was
        assert db.scalar(select(func.count()).select_from(Recording)) == 2
        assert db.scalar(select(func.count()).select_from(Call).where(Call.external_ref == "old-1@trunk")) == 0


def test_the_evidence_pack_zip_holds_the_pdf_and_the_callers_recordings_with_their_hashes(
        api, engine: Engine, rec_settings: Settings, recorded: tuple[int, int], clock) -> None:  # type: ignore[no-untyped-def]
    import io
    import zipfile

    from siaga.core.clock import site_zone
    from siaga.domains.reports import evidence

    call_id, rec_id = recorded
    [rec] = _recordings(engine)
    url = "/api/v1/callers/081234567890/evidence.zip?from=2026-11-27&to=2026-11-28"
    assert api("damkar").get(url).status_code == 403
    r = api("sup").get(url)
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        names = z.namelist()
        assert names == ["bukti-112.pdf", f"rekaman/panggilan-{call_id}-rekaman-{rec_id}.wav"]
        assert z.read("bukti-112.pdf")[:5] == b"%PDF-"
        assert hashlib.sha256(z.read(names[1])).hexdigest() == rec.sha256
    with unit_of_work(engine, write=False) as db:  # what the PDF says: each file and its hash
        page = evidence.evidence_html(db, "081234567890", date(2026, 11, 27),
                                      date(2026, 11, 28), clock.now(), zone=site_zone(rec_settings),
                                      recordings_of=rec_settings)
    assert rec.sha256 in page and names[1] in page and "dipulihkan" not in page
    # A recording Siaga finished after rtpengine stopped mid-call is marked so in the PDF.
    spool_recording(rec_settings, "bukti-2@trunk", recovered=True)
    with unit_of_work(engine) as db:
        ctx = Ctx(db=db, actor=SYSTEM, clock=clock, settings=rec_settings)
        [meta] = (Path(rec_settings.recording_dir) / "spool" / "metadata").glob("*.txt")
        late = actions.attach_one(ctx, meta)
        assert late is not None and late.recovered
        late.call_id = call_id
    with unit_of_work(engine, write=False) as db:
        page = evidence.evidence_html(db, "081234567890", date(2026, 11, 27),
                                      date(2026, 11, 28), clock.now(), zone=site_zone(rec_settings),
                                      recordings_of=rec_settings)
    assert page.count("dipulihkan; bagian akhir mungkin hilang") == 1
    [export] = [a for a in _audits(engine, "evidence.export") if a.data.get("format") == "zip"]
    assert export.data["recordings"] == [{"id": rec_id, "sha256": rec.sha256, "state": "ready"}]


def test_the_incident_page_lists_its_calls_recordings_with_a_player_for_staff_only(
        api, engine: Engine, recorded: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    call_id, rec_id = recorded
    call = api("ct").get(f"/api/v1/calls/{call_id}").json()
    claimed = api("ct").post(f"/api/v1/calls/{call_id}/claim", json={"version": call["version"]})
    assert claimed.status_code == 200, claimed.text
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "call_id": call_id}).json()
    listed = api("disp").get(f"/api/v1/incidents/{inc['id']}/recordings")
    assert [r["id"] for r in listed.json()] == [rec_id]
    assert api("damkar").get(f"/api/v1/incidents/{inc['id']}/recordings").status_code == 403
    damkar = next(a for a in api("admin").get("/api/v1/agencies").json() if a["code"] == "DAMKAR")
    api("disp").post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": damkar["id"]})
    sup_page = api("sup").get(f"/incident/{inc['id']}").text
    assert 'recordingsPanel(' in sup_page and "Rekaman panggilan" in sup_page and "downloadUrl(rec)" in sup_page
    disp_page = api("disp").get(f"/incident/{inc['id']}").text
    assert 'recordingsPanel(' in disp_page and "downloadUrl(rec)" not in disp_page
    agency_page = api("damkar").get(f"/incident/{inc['id']}")
    assert agency_page.status_code == 200 and "recordingsPanel(" not in agency_page.text


def test_the_call_page_has_the_player_for_staff_and_is_not_found_for_an_agency_operator(
        api, recorded: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    call_id, _rec_id = recorded
    page = api("ct").get(f"/call/{call_id}")
    assert page.status_code == 200 and f"recordingsPanel('/api/v1/calls/{call_id}/recordings')" in page.text
    assert "downloadUrl(rec)" not in page.text
    assert "downloadUrl(rec)" in api("sup").get(f"/call/{call_id}").text
    assert api("damkar").get(f"/call/{call_id}").status_code == 404
    assert api("ct").get("/call/99999999").status_code == 404
