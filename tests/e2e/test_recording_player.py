"""The recording player in Debian's chromium: the call page plays a recording (WAV over HTTP with Range), seeks
and changes speed; the playback is audited once, however often the player seeks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.db.engine import unit_of_work
from siaga.domains.recordings import actions
from siaga.settings import Settings
from tests.e2e.test_consoles import browse  # noqa: F401 (a fixture)
from tests.integration.test_recordings import _call, spool_recording


@pytest.fixture
def settings(db_url: str, session_settings: Settings, tmp_path: Path) -> Settings:
    return session_settings.model_copy(update={"recording_dir": tmp_path / "rec", "telephony_media": True})


def test_a_supervisor_plays_seeks_and_slows_a_recording_on_the_call_page(
        browse, live_server, api, engine, settings, clock) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    call_id = _call(api, "player-1@trunk")
    spool_recording(settings, "player-1@trunk", seconds=4.0)
    assert actions.attach_step(engine, clock, settings) == 1
    page = browse("sup", live_server, f"/call/{call_id}")
    page.wait_for_selector("#recordings audio")
    assert page.locator("#recordings .recording-player a").inner_text() == "Unduh"
    duration = page.evaluate("""() => new Promise((ok, fail) => {
        const a = document.querySelector('#recordings audio');
        a.preload = 'metadata';
        a.addEventListener('loadedmetadata', () => ok(a.duration), {once: true});
        a.addEventListener('error', () => fail('audio error ' + (a.error && a.error.code)), {once: true});
        a.load();
    })""")
    assert abs(duration - 4.0) < 0.1
    # The waveform is drawn, and a click on it seeks there (three quarters in: 3 of 4 s).
    page.wait_for_selector("#recordings canvas.waveform[data-drawn='1']")
    box = page.locator("#recordings canvas.waveform").bounding_box()
    at = page.evaluate("""([x]) => new Promise(ok => {
        const a = document.querySelector('#recordings audio');
        a.addEventListener('seeked', () => ok(a.currentTime), {once: true});
        const c = document.querySelector('#recordings canvas.waveform');
        c.dispatchEvent(new MouseEvent('click', {clientX: c.getBoundingClientRect().left + x, bubbles: true}));
    })""", [box["width"] * 0.75])
    assert abs(at - 3.0) < 0.1, at
    page.select_option("#recordings select", "1.5")
    seeked = page.evaluate("""() => new Promise(ok => {
        const a = document.querySelector('#recordings audio');
        a.addEventListener('seeked', () => ok(a.currentTime), {once: true});
        a.currentTime = 3.0;
    })""")
    assert abs(seeked - 3.0) < 0.05
    assert page.evaluate("document.querySelector('#recordings audio').playbackRate") == 1.5
    assert page.js_errors == []
    with unit_of_work(engine, write=False) as db:
        plays = [json.loads(e.data) for e in
                 db.scalars(select(AuditEntry).where(AuditEntry.action == "recording.play"))]
    assert len(plays) == 1

    # A recording Siaga finished after rtpengine stopped mid-call says so (its end may be missing); the other not.
    spool_recording(settings, "player-1@trunk", seconds=2.0, recovered=True)
    assert actions.attach_step(engine, clock, settings) == 1
    page.reload()
    page.wait_for_selector("#recordings li.recording >> nth=1")
    recovered = page.locator("#recordings li.recording [data-testid=recording-recovered]")
    expect(recovered.nth(1)).to_be_visible()
    expect(recovered.nth(0)).to_be_hidden()
    assert "Dipulihkan setelah rtpengine berhenti" in recovered.nth(1).inner_text()


def test_the_incident_page_shows_its_calls_recording_as_soon_as_it_is_stored(
        browse, live_server, api, engine, settings, clock) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The dispatcher has the incident open while the caller hangs up: the recording appears on the page, and in
    the timeline, when the ticker stores it, without a reload."""
    call_id = _call(api, "player-2@trunk")
    call = api("ct").get(f"/api/v1/calls/{call_id}").json()
    assert api("ct").post(f"/api/v1/calls/{call_id}/claim", json={"version": call["version"]}).status_code == 200
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "call_id": call_id}).json()
    page = browse("disp", live_server, f"/incident/{inc['id']}")
    page.wait_for_selector(f"#linked-calls a[href='/call/{call_id}']")
    page.wait_for_function("() => Alpine.store('live').state === 'live'")
    assert page.locator("#recordings audio").count() == 0
    spool_recording(settings, "player-2@trunk", seconds=2.0)
    actions.attach_step(engine, clock, settings)  # or the page's own server's ticker, whichever comes first
    page.wait_for_selector("#recordings audio")
    assert page.locator("#recordings .recording-player a").count() == 0  # download: supervisors only
    assert "rekaman panggilan tersimpan (0:02)" in page.inner_text("body")
    # The entry names the call whose recording it is (a call page follows it the same way).
    entries = api("ct").get(f"/api/v1/incidents/{inc['id']}/timeline").json()
    assert [e["data"]["call_id"] for e in entries if e["kind"] == "recording"] == [call_id]
    assert page.js_errors == []
