"""The call-taker's line in the browser, with real parts: Debian's chromium (fake microphone playing a 440 Hz
tone from a WAV made here) registers the call-taker's extension over SIP/WebSocket to the real Kamailio; sipp as
the trunk calls 112, presses 5 (RFC 4733) and talks (sip-tester's g711a.pcap); the call-taker, on break, takes
the waiting call on the console and it is answered in the browser at once (Call-Info answer-after=0), with
WebRTC audio (ICE, DTLS-SRTP) bridged by rtpengine to the trunk's plain RTP. The key press shows on the call;
after the caller hangs up, the recording holds both voices (the caller left, the browser's tone right), lasts
as long as the call and its hash is stored. A browser whose microphone is denied says so and does not register.
On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine

from siaga.db.engine import unit_of_work
from siaga.domains.recordings import audio
from siaga.domains.telephony import actions, schemas
from siaga.domains.telephony.models import OperatorLine
from tests.conftest import BACKEND, PASSWORD
from tests.e2e.conftest import CHROMIUM, FLAGS
from tests.sip.harness import Centre, free_tcp_port, free_udp_port, rtp_ports, running_centre, wait_for

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots" / BACKEND
CALLER = "+6281277700055"
expect.set_options(timeout=20_000)
TONE_HZ = 440


def tone_wav(path: Path, hz: int = TONE_HZ, seconds: float = 10.0, rate: int = 48000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


@pytest.fixture
def webrtc_browser(playwright_driver, tmp_path: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """Chromium with a fake microphone (the tone) that may use loopback ICE candidates (rtpengine's are
    127.0.0.1) and shows real addresses, not mDNS names, in its candidates."""
    wav = tone_wav(tmp_path / "tone.wav")
    args = [*FLAGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}", "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required"]
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield b
    b.close()


@pytest.fixture
def webrtc_centre(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Centre]:
    """The edge with media and browser lines, and a (short) waiting prompt, as a site runs by default."""
    from siaga.domains.telephony import announce

    prompts = tmp_path / "prompts"
    announce.render_prompt("Mohon tunggu.", prompts / announce.PROMPT_FILE, pause_s=1)
    with running_centre(engine, db_url, tmp_path, telephony_media=True, recording_dir=tmp_path / "rec",
                        telephony_prompts_dir=prompts,
                        telephony_rtp_ports=rtp_ports(),
                        telephony_rtpengine_ng=f"127.0.0.1:{free_udp_port()}",
                        telephony_ws_listen=f"127.0.0.1:{free_tcp_port()}") as c:
        yield c


INBOUND = "async () => await Alpine.$data(document.getElementById('browser-line')).inbound()"
# Every audio output of the line (the caller's, the agency's) plays on the speaker `id`.
SINKS = "id => [...document.querySelectorAll('#browser-line audio')].every(a => a.sinkId === id)"


def _reinvited(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("Alpine.$data(document.getElementById('browser-line')).reinvites > 0"))


def _presence(c: Centre, username: str) -> str:
    with unit_of_work(c.engine, write=False) as db:
        line = db.get(OperatorLine, c.user_id(username))
        return line.presence if line else ""


def browser_line(c: Centre, username: str, presence: str) -> None:
    c.line(username, presence=presence)
    with c.ctx(username) as ctx:
        actions.set_device(ctx, c.user_id(username), schemas.DeviceIn(device="browser"))


def login(context, url: str, username: str, screen: str = "calltaker"):  # type: ignore[no-untyped-def]
    """A console page of `username` in `context` (its JavaScript errors collected in `page.js_errors`)."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.js_errors = []
    page.on("pageerror", lambda e: page.js_errors.append(str(e)))
    page.goto(f"{url}/?next=/{screen}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(f"{url}/{screen}")))
    return page


def test_a_call_taken_on_the_console_is_answered_in_the_browser_and_recorded_both_ways(
        webrtc_browser, webrtc_centre: Centre) -> None:  # type: ignore[no-untyped-def]
    c = webrtc_centre
    browser_line(c, "ct", presence="break")  # on break: the call waits until the call-taker takes it
    context = webrtc_browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta",  # type: ignore[attr-defined]
                                         viewport={"width": 1440, "height": 900})
    try:
        context.grant_permissions(["microphone"], origin=c.url)
        page = login(context, c.url, "ct")
        state = page.get_by_test_id("line-state")
        expect(state).to_have_attribute("data-state", "registered")
        expect(state).to_have_text("Terdaftar: siap menerima panggilan")
        wait_for(lambda: c.registered("ct"), 10, "the browser's registration to reach the service")
        with unit_of_work(c.engine, write=False) as db:
            line = db.get(OperatorLine, c.user_id("ct"))
            assert line is not None and "transport=ws" in line.contact and line.browser_ha1
        # The microphone is live: the level meter moves with the tone.
        page.wait_for_function("document.querySelector('#line-level').value > 5")
        unlabeled = page.evaluate("""() => [...document.querySelectorAll(
                '#browser-line input, #browser-line select, #browser-line meter, #browser-line button')]
            .filter(el => el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.textContent.trim())
            .map(el => el.outerHTML.slice(0, 80))""")
        assert unlabeled == []

        result: dict[str, object] = {}

        def trunk() -> None:
            result["done"] = c.edge.sipp("trunk_call_dtmf.xml", "-d", "6000", rows=[f"{CALLER};1.4667 102.1;35"],
                                         timeout=60)
        caller = threading.Thread(target=trunk)
        caller.start()
        row = page.locator("#call-queue li", has_text=CALLER.lstrip("+"))
        expect(row).to_be_visible()
        # Nobody was free: the caller hears the waiting prompt (rtpengine's early media) until it is taken.
        wait_for(lambda: c.bridge.announced and not c.bridge.announcing, 10, "the waiting prompt to play")
        row.get_by_role("button").first.click()  # take it: the browser answers by itself
        expect(page.get_by_test_id("line-call")).to_have_attribute("data-call", "active")
        expect(page.locator("#active-call")).to_contain_text(CALLER.lstrip("+"))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "calltaker-browser-line.png"), full_page=True)
        # The browser hears the caller: sip-tester's speech arrives over DTLS-SRTP, decoded with energy.
        page.wait_for_function("""async () => {
            const s = await Alpine.$data(document.getElementById('browser-line')).inbound();
            return s.packets > 50 && s.energy > 0.001; }""", polling=200)
        # The caller pressed 5 (RFC 4733 through rtpengine): on the call, in words.
        expect(page.locator("#call-keys")).to_contain_text("Penelepon menekan 5")
        # The controls, from the keyboard: mute silences the microphone (the meter drops to 0), hold shows.
        mute = page.get_by_test_id("line-mute")
        mute.focus()
        page.keyboard.press("Enter")
        expect(mute).to_have_attribute("aria-pressed", "true")
        expect(mute).to_have_text("Bunyikan lagi")
        page.wait_for_function("document.querySelector('#line-level').value == 0")
        page.keyboard.press("Enter")
        expect(mute).to_have_attribute("aria-pressed", "false")
        hold = page.get_by_test_id("line-hold")
        hold.click()
        expect(page.get_by_test_id("line-call")).to_contain_text("ditahan")
        hold.click()
        expect(page.get_by_test_id("line-call")).to_contain_text("tersambung")
        page.locator(".line-keypad button[data-key='1']").click()  # a key tone to the caller: no error
        # Another microphone, chosen during the call: the call goes on with it (the meter moves again).
        page.locator("details.line-devices summary").click()
        assert page.locator("#line-mic option").count() >= 2
        page.select_option("#line-mic", index=1)
        page.wait_for_function("document.querySelector('#line-level').value > 5")
        mic = page.eval_on_selector("#line-mic", "el => el.value")
        # Another speaker (Chromium's fake outputs): the caller's and the agency's audio both play there.
        page.select_option("#line-speaker", index=1)
        speaker = page.eval_on_selector("#line-speaker", "el => el.value")
        assert mic and speaker
        page.wait_for_function(SINKS, arg=speaker)
        caller.join(60)
        done = result["done"]
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]  # type: ignore[attr-defined]
        expect(page.get_by_test_id("line-call")).to_have_attribute("data-call", re.compile("ended|idle"))
        call = c.call_where("the call to end", lambda x: x.status == "ended")
        assert call.operator_id == c.user_id("ct") and "5" in call.keys_pressed

        [rec] = c.recorded(1).values()
        assert (rec.call_id, rec.state) == (call.id, "ready")
        assert 5.0 <= rec.duration_s <= 7.5, rec.duration_s  # from the answer to the BYE, 6 s after it
        data = c.recording_path(rec).read_bytes()
        assert hashlib.sha256(data).hexdigest() == rec.sha256
        caller_rms, operator_rms = audio.channel_rms(data)
        assert caller_rms > 500 and operator_rms > 500, (caller_rms, operator_rms)
        # The operator's channel is the browser's tone: its strongest frequency is 440 Hz.
        with wave.open(str(Path(c.settings.recording_dir) / rec.file_name)) as w:
            frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
        right = frames[:, 1].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(right))
        peak_hz = np.fft.rfftfreq(len(right), 1 / 8000)[spectrum[1:].argmax() + 1]
        assert abs(peak_hz - TONE_HZ) < 10, peak_hz

        # The console opened again on this PC keeps the microphone and speaker chosen (a headset at 3 a.m.).
        page.reload()
        expect(state).to_have_attribute("data-state", "registered")
        page.wait_for_function(SINKS, arg=speaker)
        assert page.eval_on_selector("#line-mic", "el => el.value") == mic
        page.wait_for_function("document.querySelector('#line-level').value > 5")

        # Available, the next call rings the browser (not taken on the console first): it shows an Answer button.
        page.locator("#telephony button[data-presence=available]").click()
        wait_for(lambda: _presence(c, "ct") == "available", 10, "the call-taker to be available")
        caller = threading.Thread(target=lambda: result.update(
            second=c.edge.sipp("trunk_call_reinvite.xml", "-d", "2500", rows=[f"{CALLER};1.4667 102.1;35"],
                               timeout=30)))
        caller.start()
        answer = page.get_by_test_id("line-answer")
        expect(answer).to_be_visible()
        expect(page.get_by_test_id("line-call")).to_contain_text("panggilan masuk")
        answer.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("line-call")).to_have_attribute("data-call", "active")
        # The trunk refreshes the session (a re-INVITE, 2.5 s in): the browser still hears the caller after it.
        wait_for(lambda: _reinvited(page), 10, "the trunk's re-INVITE at the browser")
        before = page.evaluate(INBOUND)["packets"]
        page.wait_for_function(f"async () => (await ({INBOUND})()).packets > {before} + 50", polling=200)
        caller.join(30)
        second = result["second"]
        assert second.returncode == 0, second.stdout.decode(errors="replace")[-2000:]  # type: ignore[attr-defined]
        c.call_where("the second call, answered in the browser and ended",
                     lambda x: x.id != call.id and x.status == "ended" and x.operator_id == c.user_id("ct"))
        assert page.js_errors == []
    finally:
        context.close()


def test_a_blocked_microphone_is_shown_with_what_to_do_and_the_line_does_not_register(
        webrtc_centre: Centre, playwright_driver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = webrtc_centre
    browser_line(c, "ct", presence="available")
    # A browser that asks the user (no fake-UI flag) and a user who has not allowed the microphone.
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=[*FLAGS, "--use-fake-device-for-media-stream"])
    try:
        context = b.new_context(locale="id-ID", timezone_id="Asia/Jakarta")
        page = login(context, c.url, "ct")
        state = page.get_by_test_id("line-state")
        expect(state).to_have_attribute("data-state", "mic_blocked")
        expect(state).to_have_text("Mikrofon diblokir")
        expect(page.get_by_test_id("line-help")).to_contain_text("Izinkan mikrofon")
        assert not c.registered("ct")
        assert page.js_errors == []
    finally:
        b.close()


def test_a_browser_line_registers_over_secure_websocket_with_the_self_signed_certificate(
        webrtc_browser, engine: Engine, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from siaga.domains.telephony import edge

    with running_centre(engine, db_url, tmp_path, telephony_wss_listen=f"127.0.0.1:{free_tcp_port()}") as c:
        browser_line(c, "ct", presence="available")
        # The browser trusts the edge's self-signed certificate, as a console PC that imported it would.
        context = webrtc_browser.new_context(locale="id-ID", ignore_https_errors=True)  # type: ignore[attr-defined]
        try:
            context.grant_permissions(["microphone"], origin=c.url)
            page = login(context, c.url, "ct")
            expect(page.get_by_test_id("line-state")).to_have_attribute("data-state", "registered")
            wait_for(lambda: c.registered("ct"), 10, "the registration over wss to reach the service")
            with unit_of_work(c.engine, write=False) as db:
                line = db.get(OperatorLine, c.user_id("ct"))
                assert line is not None and "transport=ws" in line.contact
            assert edge.tls_pair(c.settings, edge.EdgePaths(tmp_path / "edge"))[0].is_file()  # made by the start
            assert page.js_errors == []
        finally:
            context.close()


def test_with_the_service_down_the_browser_line_still_rings_and_answers(
        webrtc_browser, webrtc_centre: Centre) -> None:  # type: ignore[no-untyped-def]
    """Degraded mode: the edge rings every registered line itself, the browser's too (it stays registered to
    the edge while Siaga is away), and the call-taker answers it with the Answer button."""
    c = webrtc_centre
    browser_line(c, "ct", presence="available")
    context = webrtc_browser.new_context(locale="id-ID")  # type: ignore[attr-defined]
    try:
        context.grant_permissions(["microphone"], origin=c.url)
        page = login(context, c.url, "ct")
        expect(page.get_by_test_id("line-state")).to_have_attribute("data-state", "registered")
        c.stop_app()
        wait_for(lambda: "service disconnected" in c.edge.log_text(), 10, "the edge to notice")
        result: dict[str, object] = {}
        caller = threading.Thread(target=lambda: result.update(
            done=c.edge.sipp("trunk_call_audio.xml", "-d", "1500", rows=[f"{CALLER};1.4667 102.1;35"], timeout=30)))
        caller.start()
        expect(page.get_by_test_id("line-answer")).to_be_visible()
        page.get_by_test_id("line-answer").click()
        expect(page.get_by_test_id("line-call")).to_have_attribute("data-call", "active")
        page.wait_for_function(f"async () => (await ({INBOUND})()).packets > 20", polling=200)
        caller.join(30)
        done = result["done"]
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]  # type: ignore[attr-defined]
        expect(page.get_by_test_id("line-call")).to_have_attribute("data-call", re.compile("ended|idle"))
    finally:
        context.close()
