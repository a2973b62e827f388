"""A caller who must wait hears the waiting prompt (early media: 183 Session Progress, played by rtpengine),
repeated, until a phone answers; a call an operator can take at once hears none; without its prompt file a
call still rings. The real media plane: sipp as the trunk (its SDP naming a socket opened here, which
receives what the caller hears) and as the operator's phone, through the real Kamailio edge and rtpengine.
On SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import RingAttempt
from siaga.domains.recordings import audio
from siaga.domains.telephony import actions as telephony_actions
from siaga.domains.telephony import announce, schemas, service
from siaga.domains.telephony.models import TelephonyEdge
from tests.sip.harness import Centre, free_udp_port, rtp_ports, running_centre, wait_for

CALLER = "+6281234567890"
SAMPLE_PCAP = Path("/usr/share/sip-tester/g711a.pcap")
PAUSE_S = 1.5


class Ear:
    """The caller's handset: hears every RTP packet to the trunk's SDP port (with its source port) and, once
    it hears something, talks back — a 440 Hz tone, A-law, every 20 ms — to where the latest media came from
    (as a phone sends to the address of the answer it got: the prompt's early media, then the operator's)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets: list[tuple[int, bytes]] = []  # (source port, RTP packet)
        self.times: list[float] = []  # when each was heard (wall clock)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._talker = threading.Thread(target=self._talk, daemon=True)
        self._talker.start()

    def _talk(self) -> None:
        tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(160) / 8000)).astype(np.int32)
        payload = bytes(np.abs(audio.TABLES[8][None, :].astype(np.int32) - tone[:, None]).argmin(axis=1)
                        .astype(np.uint8))
        seq, next_at = 0, time.monotonic()
        while not self._stop:
            next_at += 0.02
            time.sleep(max(0.0, next_at - time.monotonic()))
            if not self.packets:
                continue
            pt, body, stamp = 8, payload, seq * 160
            if self._key is not None:  # an RFC 4733 event: 10 packets of 20 ms, the last three marking its end
                key, n, since = self._key
                since = seq if n == 0 else since
                pt, stamp = (0x80 | 101) if n == 0 else 101, since * 160
                body = bytes([key, (0x80 | 10) if n >= 7 else 10]) + ((n + 1) * 160).to_bytes(2, "big")
                self._key = None if n >= 9 else (key, n + 1, since)
            header = bytes([0x80, pt]) + (seq % 65536).to_bytes(2, "big") + (stamp % 2**32).to_bytes(4, "big")
            try:
                self.sock.sendto(header + (4242).to_bytes(4, "big") + body, ("127.0.0.1", self.packets[-1][0]))
            except OSError:
                return
            seq += 1

    _key: tuple[int, int, int] | None = None

    def press(self, key: int) -> None:
        """Press a key (0-9) on the handset: an RFC 4733 telephone-event, as a phone sends it."""
        self._key = (key, 0, 0)

    def _run(self) -> None:
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(data) > 12 and data[0] >> 6 == 2:
                self.packets.append((addr[1], data))
                self.times.append(time.time())

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        self._talker.join(5)
        self.sock.close()

    def sources(self) -> list[int]:
        """The source ports, in the order they were first heard."""
        return list(dict.fromkeys(port for port, _ in self.packets))

    def from_port(self, port: int) -> list[bytes]:
        return [p for src, p in self.packets if src == port]


def _pcm(packets: list[bytes]) -> np.ndarray:
    """The A-law (payload type 8) audio of RTP packets, in sequence order."""
    audio_packets = sorted((int.from_bytes(p[2:4], "big"), p) for p in packets if p[1] & 0x7F == 8)
    payload = b"".join(p[12 + 4 * (p[0] & 0x0F):] for _, p in audio_packets)
    return audio.TABLES[8][np.frombuffer(payload, dtype=np.uint8)].astype(np.float64)


def _bursts(pcm: np.ndarray, floor: float = 300.0) -> list[tuple[float, float]]:
    """(start, length) in seconds of each stretch with sound (RMS over 20 ms above `floor`) — short gaps
    between words bridged (under 0.6 s)."""
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160)
    loud = np.sqrt((frames ** 2).mean(axis=1)) > floor
    spans: list[list[int]] = []
    for i, on in enumerate(loud):
        if not on:
            continue
        if spans and i - spans[-1][1] <= 30:
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1])
    return [(a * 0.02, (b - a) * 0.02) for a, b in spans]


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """A short waiting prompt spoken by espeak-ng, as `siaga telephony prompts` makes the long one."""
    folder = tmp_path / "prompts"
    announce.render_prompt("Mohon tetap di saluran.", folder / announce.PROMPT_FILE, pause_s=PAUSE_S)
    return folder


@pytest.fixture
def media_centre(engine: Engine, db_url: str, tmp_path: Path, prompts: Path) -> Iterator[Centre]:
    assert SAMPLE_PCAP.is_file(), "sip-tester's sample RTP (g711a.pcap) is missing: apt-get install sip-tester"
    with running_centre(engine, db_url, tmp_path, telephony_media=True, recording_dir=tmp_path / "rec",
                        telephony_rtp_ports=rtp_ports(), telephony_prompts_dir=prompts,
                        telephony_rtpengine_ng=f"127.0.0.1:{free_udp_port()}") as c:
        yield c


@pytest.fixture
def ear() -> Iterator[Ear]:
    e = Ear()
    yield e
    e.close()


def _presence(c: Centre, username: str, state: str) -> None:
    with c.ctx(username) as ctx:
        telephony_actions.set_presence(ctx, schemas.PresenceIn(state=state))  # type: ignore[arg-type]


def _announce_detail(c: Centre) -> dict | None:  # type: ignore[type-arg]
    with unit_of_work(c.engine, write=False) as db:
        row = db.get(TelephonyEdge, service.EDGE_NAME)
        return (row.detail or {}).get("announce") if row else None


def _prompt_speech_s(path: Path) -> float:
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    [(_, length)] = _bursts(pcm)
    return length


def test_a_waiting_caller_hears_the_prompt_repeated_then_is_answered_and_recorded_both_ways(
        media_centre: Centre, ear: Ear, prompts: Path) -> None:
    c = media_centre
    c.line("ct")
    c.phone("ct", "phone_answer_audio.xml")
    _presence(c, "ct", "break")  # on duty, not free: the call must wait
    trunk = c.edge.start_sipp("trunk_call_listen.xml", "-d", "2000", "-inf",
                              str(c.edge._csv("rows", [f"{CALLER};1.4667 102.1;35;{ear.port}"])), timeout=60)
    call = c.call_where("the call to wait", lambda x: x.status == "offered")
    speech = _prompt_speech_s(prompts / announce.PROMPT_FILE)
    period = announce.check_prompt(c.settings).seconds  # the words and the pause after them
    # The prompt plays, and plays again after its pause: two bursts of speech, each as long as the prompt's.
    wait_for(lambda: ear.sources() and len(_pcm(ear.from_port(ear.sources()[0]))) > (2 * period + 0.2) * 8000,
             30, "the prompt to play twice")
    prompt_port = ear.sources()[0]
    bursts = _bursts(_pcm(ear.from_port(prompt_port)))
    assert len(bursts) >= 2 and all(abs(length - speech) < 0.3 for _, length in bursts[:2]), (bursts, speech)
    assert abs(bursts[1][0] - bursts[0][0] - period) < 0.3, (bursts, period)  # repeated after the pause
    # "Jika Anda tidak dapat berbicara, tekan 5": the key pressed while the prompt plays is seen on the call.
    ear.press(5)
    c.call_where("the key press on the waiting call", lambda x: x.id == call.id and x.keys_pressed == "5"
                 and x.status == "offered")
    heard_before_answer = len(ear.from_port(prompt_port))

    _presence(c, "ct", "available")  # the operator is free: their phone rings, they answer
    assert trunk.wait(30) == 0
    done = c.call_where("the call, answered, to end", lambda x: x.id == call.id and x.status == "ended")
    assert done.answered_at is not None and done.operator_id == c.user_id("ct")
    # After the answer the caller hears the operator (another branch, another source), and the prompt stops.
    operator_ports = [p for p in ear.sources() if p != prompt_port]
    assert operator_ports, ear.sources()
    operator_pcm = _pcm([p for port in operator_ports for p in ear.from_port(port)])
    assert np.sqrt((operator_pcm ** 2).mean()) > 300
    # The prompt stopped as the phone answered: none of it after the operator's first packet (one or two in
    # flight at most).
    first_operator = next(i for i, (port, _) in enumerate(ear.packets) if port != prompt_port)
    assert sum(port == prompt_port for port, _ in ear.packets[first_operator:]) <= 2
    assert len(ear.from_port(prompt_port)) >= heard_before_answer

    # Recorded from the answer, both ways (the prompt is not in it).
    [rec] = c.recorded(1).values()
    assert rec.call_id == call.id and 1.5 <= rec.duration_s <= 3.5, rec.duration_s
    caller_rms, operator_rms = audio.channel_rms(c.recording_path(rec).read_bytes())
    assert caller_rms > 500 and operator_rms > 500, (caller_rms, operator_rms)
    assert (_announce_detail(c) or {}).get("ok") is True


def test_a_call_an_operator_takes_at_once_hears_no_prompt(media_centre: Centre, ear: Ear) -> None:
    c = media_centre
    c.line("ct")
    c.phone("ct", "phone_answer_audio.xml")
    done = c.edge.sipp("trunk_call_listen.xml", "-d", "1500", rows=[f"{CALLER};1.4667 102.1;35;{ear.port}"])
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    call = c.call_where("the call to end", lambda x: x.status == "ended")
    assert call.answered_at is not None
    wait_for(lambda: ear.packets, 5, "the operator's audio")
    assert len(ear.sources()) == 1  # only the operator's branch: no prompt came first
    assert _announce_detail(c) is None  # never tried


def test_a_call_whose_ring_goes_unanswered_hears_the_prompt_from_then_on(media_centre: Centre, ear: Ear) -> None:
    c = media_centre
    c.line("ct")
    c.phone("ct", "phone_no_answer.xml")  # rings out after the ring timeout (5 s here)
    c.line("sup", presence="break")
    c.phone("sup", "phone_answer_audio.xml")
    trunk = c.edge.start_sipp("trunk_call_listen.xml", "-d", "500", "-inf",
                              str(c.edge._csv("rows", [f"{CALLER};1.4667 102.1;35;{ear.port}"])), timeout=60)
    call = c.call_where("the call to ring at ct", lambda x: x.status == "ringing")
    wait_for(lambda: c.attempts(call.id) == [("ct", "timeout")], 20, "ct's phone to ring out")
    wait_for(lambda: len(ear.packets) > 50, 15, "the prompt to start")
    with unit_of_work(c.engine, write=False) as db:
        rang_out = db.scalar(select(RingAttempt.ended_at).where(RingAttempt.call_id == call.id))
    assert ear.times[0] >= rang_out.timestamp() - 0.05  # nothing played while ct's phone rang
    assert np.sqrt((_pcm(ear.from_port(ear.sources()[0])) ** 2).mean()) > 300
    _presence(c, "sup", "available")
    assert trunk.wait(30) == 0
    done = c.call_where("sup to answer", lambda x: x.id == call.id and x.status == "ended")
    assert done.operator_id == c.user_id("sup")


def test_without_its_prompt_file_a_waiting_call_still_rings_and_the_failure_shows(
        media_centre: Centre, ear: Ear, prompts: Path) -> None:
    c = media_centre
    (prompts / announce.PROMPT_FILE).unlink()
    c.line("ct")
    c.phone("ct", "phone_answer_audio.xml")
    _presence(c, "ct", "break")
    trunk = c.edge.start_sipp("trunk_call_listen.xml", "-d", "1000", "-inf",
                              str(c.edge._csv("rows", [f"{CALLER};1.4667 102.1;35;{ear.port}"])), timeout=60)
    call = c.call_where("the call to wait", lambda x: x.status == "offered")
    detail = wait_for(lambda: _announce_detail(c), 10, "the missing prompt to be recorded")
    assert detail["ok"] is False and "prompt file missing" in detail["problem"]
    assert ear.packets == []  # nothing played: the caller hears their network's ringing tone
    _presence(c, "ct", "available")
    assert trunk.wait(30) == 0
    done = c.call_where("the call to be answered and end", lambda x: x.id == call.id and x.status == "ended")
    assert done.answered_at is not None

    # The prompt back, rtpengine gone: the waiting call is not announced, and still rings and is answered
    # (media then flows straight between trunk and phone, unrecorded, as without rtpengine at all).
    announce.render_prompt("Mohon tunggu.", prompts / announce.PROMPT_FILE, pause_s=PAUSE_S)
    assert c.edge.media is not None
    c.edge.media.terminate()
    c.edge.media.wait(10)
    c.phone("ct", "phone_answer_audio.xml")
    _presence(c, "ct", "break")
    trunk = c.edge.start_sipp("trunk_call_listen.xml", "-d", "500", "-inf",
                              str(c.edge._csv("rows", [f"{CALLER};1.4667 102.1;35;{free_udp_port()}"])), timeout=60)
    second = c.call_where("the second call to wait", lambda x: x.id != call.id and x.status == "offered")
    wait_for(lambda: "rtpengine did not answer" in ((_announce_detail(c) or {}).get("problem") or ""), 10,
             "the failing rtpengine to be recorded")
    _presence(c, "ct", "available")
    assert trunk.wait(30) == 0
    done = c.call_where("the second call to be answered and end", lambda x: x.id == second.id and x.status == "ended")
    assert done.answered_at is not None


def test_the_prompt_plays_on_with_siaga_down(media_centre: Centre, ear: Ear) -> None:
    """Once started, the prompt is the media plane's: it does not need the service. The service goes while the
    call waits; the edge rings the only registered phone, which is gone without unregistering: the call waits on,
    and the prompt plays on."""
    c = media_centre
    c.line("ct")
    c.phone("ct", "phone_answer_audio.xml")
    _presence(c, "ct", "break")
    c.edge.children[-1].kill()  # the phone is gone; its registration stays
    c.edge.start_sipp("trunk_call_listen.xml", "-d", "500", "-inf",
                      str(c.edge._csv("rows", [f"{CALLER};1.4667 102.1;35;{ear.port}"])), timeout=60)
    wait_for(lambda: len(ear.packets) > 25, 15, "the prompt to start")
    c.stop_app()
    wait_for(lambda: "service disconnected" in c.edge.log_text(), 10, "the edge to notice")
    wait_for(lambda: "in degraded mode (408): it waits again" in c.edge.log_text(), 20,
             "the degraded ring to go unanswered")
    heard = len(ear.packets)
    wait_for(lambda: len(ear.packets) > heard + 100, 10, "the prompt to play on")
    assert len(ear.sources()) == 1


def test_prompts_are_generated_with_espeak_ng_and_their_licence_noted(tmp_path: Path) -> None:
    from tests import cli

    url = f"sqlite:///{tmp_path / 'p.db'}"
    folder = tmp_path / "prompts"
    env = {"SIAGA_TELEPHONY_PROMPTS_DIR": str(folder), "SIAGA_SILENT_CALLER_KEY": "9"}
    assert cli.siaga(url, "db", "upgrade").returncode == 0
    missing = cli.siaga(url, "telephony", "status", "--dir", str(tmp_path / "edge"), **env)
    assert "Waiting prompt: prompt file missing" in missing.stdout, missing.stdout
    made = cli.siaga(url, "telephony", "prompts", "--regency", "Kabupaten Bengkalis", **env)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Kabupaten Bengkalis" in made.stdout and "tekan sembilan" in made.stdout  # the key is the setting's
    with wave.open(str(folder / announce.PROMPT_FILE)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        seconds = w.getnframes() / 8000
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    assert 8 < seconds < 30, seconds
    assert np.sqrt((pcm[: -int(announce.PAUSE_S * 8000)] ** 2).mean()) > 300  # speech, then the pause
    assert not pcm[-int(announce.PAUSE_S * 8000):].any()
    notice = (folder / "README.txt").read_text()
    assert "GNU General Public License, version 3 or later" in notice and "not covered" in notice
    again = cli.siaga(url, "telephony", "prompts", **env)
    assert again.returncode == 0 and "already there" in again.stdout
    status = cli.siaga(url, "telephony", "status", "--dir", str(tmp_path / "edge"), **env)
    assert f"Waiting prompt: {folder / announce.PROMPT_FILE}" in status.stdout, status.stdout
    spaced = cli.siaga(url, "telephony", "prompts", SIAGA_TELEPHONY_PROMPTS_DIR=str(tmp_path / "my prompts"))
    assert spaced.returncode != 0 and "SIAGA_TELEPHONY_PROMPTS_DIR" in spaced.stderr + spaced.stdout


def test_the_callers_sdp_and_the_stand_ins_answer() -> None:
    sdp = b"v=0\r\no=c 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 101\r\n"
    body = (b"--b\r\nContent-Type: application/sdp\r\n\r\n" + sdp + b"\r\n--b\r\nContent-Type: application/pidf+xml\r\n"
            b"\r\n<presence/>\r\n--b--\r\n")
    assert announce.caller_sdp("multipart/mixed; boundary=b", body) == sdp
    assert announce.caller_sdp("application/sdp", sdp) == sdp
    assert announce.caller_sdp("multipart/mixed", body) == b"" and announce.caller_sdp("", b"x") == b""
    offered = ("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 30000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
               "a=sendrecv\r\na=rtcp:30001\r\na=ice-ufrag:x\r\n")
    answer = announce.stand_in_sdp(offered)
    assert "m=audio 9 RTP/AVP 8 101" in answer and "telephone-event" in answer
    assert "rtcp" not in answer and "ice" not in answer and "sendrecv" not in answer
    assert "satu satu dua Kabupaten Paser." in announce.prompt_text("Kabupaten Paser", "*")
    assert announce.prompt_text("", "#").endswith("tekan pagar.")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_an_answer_on_the_control_socket_is_read_or_refused_never_crashes(data: bytes) -> None:
    try:
        announce.bdecode(data)
    except announce.AnnounceError:
        pass
    value = {"result": b"ok", "sdp": data, "n": 3, "l": [b"a", 1]}
    assert announce.bdecode(announce.bencode(value)) == value
