"""Joining an agency from the browser line (issue 17), with real parts: Chromium (fake microphone: a 440 Hz tone)
registered over SIP/WebSocket to the real Kamailio answers a sipp trunk call that talks (sip-tester's speech);
the call-taker presses "Sambungkan instansi", the console asks the service for Damkar's number and the browser
calls it through the edge and the trunk gateway, where a sipp UAS (the agency's desk) answers and talks. The
browser mixes the conference (WebAudio): the caller's recording's operator channel then holds the agency's
speech besides the tone, and after "Keluar" the speech alone; the agency's leg is recorded with audio both
ways. A trunk that refuses the transfer (405) is shown in words and the call goes on. Each step is in the
incident's timeline. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine, select

from siaga.db.engine import unit_of_work
from siaga.domains.agencies.models import Agency
from siaga.domains.incidents import actions as incident_actions
from siaga.domains.incidents.models import TimelineEntry
from siaga.domains.incidents.schemas import IncidentCreate
from siaga.domains.recordings import audio
from siaga.domains.telephony.models import AgencyCall
from tests.e2e.test_browser_line import ARTIFACTS, TONE_HZ, browser_line, login, webrtc_browser  # noqa: F401
from tests.integration.test_agency_calls import DAMKAR_DIAL, _agency_desk, _damkar_has_a_number
from tests.sip.harness import Centre, free_tcp_port, free_udp_port, rtp_ports, running_centre, wait_for

CALLER = "+6281277700066"
expect.set_options(timeout=20_000)


@pytest.fixture
def agency_port() -> int:
    return free_udp_port()


@pytest.fixture
def centre(engine: Engine, db_url: str, tmp_path: Path, agency_port: int) -> Iterator[Centre]:
    with running_centre(engine, db_url, tmp_path, telephony_media=True, recording_dir=tmp_path / "rec",
                        telephony_rtp_ports=rtp_ports(),
                        telephony_rtpengine_ng=f"127.0.0.1:{free_udp_port()}",
                        telephony_ws_listen=f"127.0.0.1:{free_tcp_port()}",
                        telephony_trunk_gateway=f"sip:127.0.0.1:{agency_port}") as c:
        yield c


def _timeline(c: Centre, incident_id: int) -> list[str]:
    with unit_of_work(c.engine, write=False) as db:
        return [e.code or e.kind for e in db.scalars(select(TimelineEntry).where(
            TimelineEntry.incident_id == incident_id).order_by(TimelineEntry.id))]


def _tone_ratio(second: np.ndarray, rate: int = 8000) -> float:
    """How much the 440 Hz tone stands out of one second of a channel: its energy (±3 Hz) against the same
    width of the spectrum around it (380-500 Hz). A tone is hundreds; speech is about one."""
    power = np.abs(np.fft.rfft(second)) ** 2
    freqs = np.fft.rfftfreq(len(second), 1 / rate)
    tone = power[np.abs(freqs - TONE_HZ) <= 3]
    around = power[(np.abs(freqs - TONE_HZ) > 10) & (np.abs(freqs - TONE_HZ) <= 60)]
    return float(tone.sum() / (around.mean() * len(tone)))


class Conference:
    """A browser line in a conference: the caller (sipp trunk, talking; refuses a transfer with 405 and hangs up
    `after_refusal_ms` later), the call-taker's console, and Damkar's desk (sipp behind the gateway, talking).
    Damkar's number is set before the console loads (its choice of agencies comes with the page)."""

    def __init__(self, c: Centre, page, damkar: int, agency_port: int, after_refusal_ms: int) -> None:  # type: ignore[no-untyped-def]
        self.damkar = damkar
        self.desk = _agency_desk(c, agency_port)
        self.result: dict[str, subprocess.CompletedProcess[bytes]] = {}
        self.caller = threading.Thread(target=lambda: self.result.setdefault("done", c.edge.sipp(
            "trunk_call_audio_refer_refused.xml", "-d", str(after_refusal_ms), rows=[CALLER], timeout=60)))
        self.caller.start()
        page.locator("#call-queue li", has_text=CALLER.lstrip("+")).get_by_role("button").first.click()
        expect(page.get_by_test_id("line-call")).to_have_attribute("data-call", "active")
        self.call = c.call_where("the emergency call answered", lambda x: x.status == "answered")
        with c.ctx("ct") as ctx:
            self.incident_id = incident_actions.create_incident(
                ctx, IncidentCreate(category_code="kebakaran", call_id=self.call.id)).id

        # "Sambungkan instansi", from the keyboard: the chooser, Damkar, call it.
        join = page.get_by_test_id("line-join")
        join.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#line-agency")).to_be_focused()
        page.select_option("#line-agency", str(self.damkar))
        page.get_by_test_id("line-join-call").click()
        self.leg = page.get_by_test_id("line-leg")
        expect(self.leg).to_have_attribute("data-state", "talking")
        expect(self.leg).to_contain_text("Damkar: tersambung")
        expect(page.get_by_test_id("line-conference")).to_be_visible()
        wait_for(lambda: "timeline.agency_conference_started" in _timeline(c, self.incident_id), 15,
                 "the conference in the timeline")

    def caller_hung_up(self, c: Centre) -> None:
        self.caller.join(60)
        done = self.result["done"]
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + c.edge.log_text()[-3000:]
        assert self.desk.wait(20) == 0, "the agency's desk did not end as its scenario says"


def _agency_calls(c: Centre, first_state: str) -> list[AgencyCall]:
    def rows() -> list[AgencyCall] | None:
        with unit_of_work(c.engine, write=False) as db:
            out = list(db.scalars(select(AgencyCall).order_by(AgencyCall.id)))
            db.expunge_all()
        return out if out and out[0].state == first_state else None
    return wait_for(rows, 10, f"the agency's call {first_state}")


def test_the_call_taker_conferences_an_agency_from_the_browser_and_leaves_them_talking(
        webrtc_browser, centre: Centre, agency_port: int) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    c = centre
    damkar = _damkar_has_a_number(c)
    browser_line(c, "ct", presence="break")
    context = webrtc_browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta",  # type: ignore[attr-defined]
                                         viewport={"width": 1440, "height": 900})
    try:
        context.grant_permissions(["microphone"], origin=c.url)
        page = login(context, c.url, "ct")
        expect(page.get_by_test_id("line-state")).to_have_attribute("data-state", "registered")
        wait_for(lambda: c.registered("ct"), 10, "the browser's registration to reach the service")
        conf = Conference(c, page, damkar, agency_port, after_refusal_ms=3000)
        call, incident_id, leg = conf.call, conf.incident_id, conf.leg
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "calltaker-browser-conference.png"), full_page=True)

        # A transfer to the agency the trunk refuses (405): said in words, and the conference goes on.
        page.get_by_test_id("line-transfer-attended").click()
        transfer = page.get_by_test_id("line-transfer")
        expect(transfer).to_have_attribute("data-state", "refused")
        expect(transfer).to_have_text("trunk tidak mendukung transfer: gunakan konferensi")
        expect(page.get_by_test_id("line-call")).to_have_attribute("data-call", "active")
        expect(leg).to_have_attribute("data-state", "talking")

        # "Keluar": the caller and the agency keep talking through the browser; the console says what closing does.
        page.get_by_test_id("line-leave").click()
        expect(page.get_by_test_id("line-left-note")).to_contain_text("Menutup konsol")
        page.wait_for_function("document.querySelector('#line-level').value == 0")
        wait_for(lambda: "timeline.agency_operator_left" in _timeline(c, incident_id), 15, "leaving in the timeline")

        # The caller hangs up: the bridge ends, the agency's call with it.
        conf.caller_hung_up(c)
        expect(leg).to_have_attribute("data-state", "ended")
        assert page.js_errors == []
    finally:
        context.close()

    rows = _agency_calls(c, "ended")
    assert [(r.kind, r.state, r.target, r.extension) for r in rows] == [
        ("conference", "ended", DAMKAR_DIAL, "1001"), ("attended_transfer", "refused", DAMKAR_DIAL, "1001")]
    assert [x for x in _timeline(c, incident_id) if x.startswith("timeline.agency")] == [
        "timeline.agency_call_dialled", "timeline.agency_call_answered", "timeline.agency_conference_started",
        "timeline.agency_transfer_requested_attended", "timeline.agency_transfer_refused",
        "timeline.agency_operator_left", "timeline.agency_call_ended"]

    recs = c.recorded(2)
    assert set(recs) == {call.external_ref, rows[0].sip_call_id}
    # The agency's leg: the operator side (the tone and the caller) and the agency's speech.
    agency_leg = c.recording_path(recs[rows[0].sip_call_id]).read_bytes()
    operator_rms, agency_rms = audio.channel_rms(agency_leg)
    assert operator_rms > 500 and agency_rms > 500, (operator_rms, agency_rms)
    # The caller's recording goes on: its operator channel holds the tone and, from the conference, the agency.
    with wave.open(str(c.recording_path(recs[call.external_ref]))) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2).astype(np.float64)
    operator = frames[:, 1]
    seconds = [operator[i:i + 8000] for i in range(0, len(operator) - 8000 + 1, 4000)]
    assert _tone_ratio(seconds[0]) > 100, [_tone_ratio(x) for x in seconds]  # the call-taker, before the agency
    # After "Keluar" (the last second, before the caller's BYE) the agency alone: its speech, and no tone.
    assert _tone_ratio(seconds[-1]) < 20 and np.sqrt(np.mean(seconds[-1] ** 2)) > 500, \
        ([_tone_ratio(x) for x in seconds], [np.sqrt(np.mean(x ** 2)) for x in seconds])


def test_dropping_the_agency_goes_back_to_the_caller_and_a_refused_transfer_or_request_is_said_in_words(
        webrtc_browser, centre: Centre, agency_port: int) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    c = centre
    damkar = _damkar_has_a_number(c)
    browser_line(c, "ct", presence="break")
    with unit_of_work(c.engine) as db:  # another agency with a number when the console loads
        other = db.scalar(select(Agency).where(Agency.code != "DAMKAR", Agency.active.is_(True)).order_by(Agency.id))
        assert other is not None
        other.phone, other_id = "0766 21-110", other.id
    context = webrtc_browser.new_context(locale="id-ID")  # type: ignore[attr-defined]
    try:
        context.grant_permissions(["microphone"], origin=c.url)
        page = login(context, c.url, "ct")
        expect(page.get_by_test_id("line-state")).to_have_attribute("data-state", "registered")
        conf = Conference(c, page, damkar, agency_port, after_refusal_ms=500)
        # "Akhiri instansi": the agency's call ends, the caller and the call-taker talk as before.
        page.get_by_test_id("line-drop-agency").click()
        expect(conf.leg).to_have_attribute("data-state", "ended")
        expect(page.get_by_test_id("line-conference")).to_be_hidden()
        expect(page.get_by_test_id("line-call")).to_have_attribute("data-call", "active")
        expect(page.get_by_test_id("line-hold")).to_be_enabled()
        assert conf.desk.wait(20) == 0
        # The service refuses a request (the other agency was closed meanwhile): its words, not its JSON.
        with unit_of_work(c.engine) as db:
            db.get(Agency, other_id).active = False  # type: ignore[union-attr]
        page.get_by_test_id("line-join").click()
        page.select_option("#line-agency", str(other_id))
        page.get_by_test_id("line-join-call").click()
        error = page.get_by_test_id("line-join-error")
        expect(error).to_have_text("Data yang dikirim tidak valid — Instansi: Tidak dikenal")
        # A blind transfer to Damkar the trunk refuses (405): said in words, the call goes on.
        page.select_option("#line-agency", str(conf.damkar))
        page.get_by_test_id("line-transfer-blind").click()
        transfer = page.get_by_test_id("line-transfer")
        expect(transfer).to_have_attribute("data-state", "refused")
        expect(transfer).to_have_text("trunk tidak mendukung transfer: gunakan konferensi")
        conf.caller_hung_up(c)
        expect(page.get_by_test_id("line-call")).to_have_attribute("data-call", re.compile("ended|idle"))
        assert page.js_errors == []
    finally:
        context.close()
    rows = _agency_calls(c, "ended")
    assert [(r.kind, r.state) for r in rows] == [("conference", "ended"), ("blind_transfer", "refused")]
    assert [x for x in _timeline(c, conf.incident_id) if x.startswith("timeline.agency")] == [
        "timeline.agency_call_dialled", "timeline.agency_call_answered", "timeline.agency_conference_started",
        "timeline.agency_call_ended", "timeline.agency_transfer_requested_blind", "timeline.agency_transfer_refused"]
