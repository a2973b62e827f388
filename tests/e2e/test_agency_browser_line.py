"""An agency operator's browser line (issue 17: "the call-taker conferences in an agency — its desk number
through the trunk, or an agency operator's browser line"), with real parts: two Chromium contexts (fake
microphone: a 440 Hz tone) registered over SIP/WebSocket to the real Kamailio — the call-taker on /calltaker,
Damkar's operator on /agency. A sipp trunk call that talks is taken by the call-taker; Damkar has no desk
number, so "Sambungkan instansi → Damkar" calls its operator's line (line to line through the edge, WebRTC at
both ends through rtpengine); the agency console rings with Answer and Decline, the operator answers and hears
the conference, the call-taker hears the agency; each step is in the incident's timeline; the agency operator
hangs up. The agency line itself is never rung for the 112 call. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading

from playwright.sync_api import expect
from sqlalchemy import select

from siaga.db.engine import unit_of_work
from siaga.domains.agencies.models import Agency
from siaga.domains.calls.models import RingAttempt
from siaga.domains.incidents import actions as incident_actions
from siaga.domains.incidents.schemas import IncidentCreate
from siaga.domains.telephony import actions, schemas
from siaga.domains.telephony.models import AgencyCall
from tests.e2e.test_browser_conference import _timeline
from tests.e2e.test_browser_line import ARTIFACTS, browser_line, login, webrtc_browser, webrtc_centre  # noqa: F401
from tests.sip.harness import Centre, wait_for

CALLER = "+6281277700077"
DAMKAR_EXT = "2001"
expect.set_options(timeout=20_000)


def inbound(leg: str = "") -> str:
    return f"async () => await Alpine.$data(document.getElementById('browser-line')).inbound('{leg}')"


def test_the_call_taker_joins_an_agency_operators_browser_line_and_it_hears_the_caller(
        webrtc_browser, webrtc_centre: Centre) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    c = webrtc_centre
    browser_line(c, "ct", presence="break")
    damkar_user = c.user_id("damkar")
    with unit_of_work(c.engine) as db:  # Damkar has no desk number: only its operator's line can be called
        agency = db.scalar(select(Agency).where(Agency.code == "DAMKAR"))
        assert agency is not None
        agency.phone, damkar = "", agency.id
    with c.ctx("sup") as ctx:  # a supervisor gives Damkar's operator a browser line
        actions.set_line(ctx, damkar_user, schemas.LineIn(extension=DAMKAR_EXT, password="damkar-line-2001"))
        actions.set_device(ctx, damkar_user, schemas.DeviceIn(device="browser"))

    ct_context = webrtc_browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta")  # type: ignore[attr-defined]
    dk_context = webrtc_browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta")  # type: ignore[attr-defined]
    result: dict[str, object] = {}
    caller = threading.Thread(target=lambda: result.update(done=c.edge.sipp(
        "trunk_call_audio.xml", "-d", "20000", rows=[f"{CALLER};1.4667 102.1;35"], timeout=90)))
    try:
        for ctx_ in (ct_context, dk_context):
            ctx_.grant_permissions(["microphone"], origin=c.url)
        # The agency console: its operator's browser line registers, without any of the queue's controls.
        dk = login(dk_context, c.url, "damkar", "agency")
        dk_line = dk.locator("#browser-line")
        expect(dk.get_by_test_id("line-state")).to_have_attribute("data-state", "registered")
        expect(dk_line).to_contain_text("Saluran instansi di peramban")
        expect(dk_line).to_contain_text(DAMKAR_EXT)
        wait_for(lambda: c.registered("damkar"), 10, "the agency line's registration to reach the service")
        assert dk.locator("#browser-line [data-testid=line-join], #browser-line [data-testid=line-hold], "
                      "#browser-line .line-keypad").count() == 0
        assert dk.locator("#telephony button[data-presence]").count() == 0

        ct = login(ct_context, c.url, "ct")
        expect(ct.get_by_test_id("line-state")).to_have_attribute("data-state", "registered")
        wait_for(lambda: c.registered("ct"), 10, "the call-taker's registration to reach the service")

        caller.start()
        row = ct.locator("#call-queue li", has_text=CALLER.lstrip("+"))
        expect(row).to_be_visible()
        row.get_by_role("button").first.click()  # the call-taker takes it: answered in the browser
        expect(ct.get_by_test_id("line-call")).to_have_attribute("data-call", "active")
        call = c.call_where("the emergency call answered", lambda x: x.status == "answered")
        assert call.operator_id == c.user_id("ct")
        with c.ctx("ct") as ctx:
            incident_id = incident_actions.create_incident(
                ctx, IncidentCreate(category_code="kebakaran", call_id=call.id)).id

        # "Sambungkan instansi → Damkar": no desk number, so the browser dials the operator's line.
        ct.get_by_test_id("line-join").click()
        ct.select_option("#line-agency", str(damkar))
        ct.get_by_test_id("line-join-call").click()
        leg = ct.get_by_test_id("line-leg")
        expect(leg).to_have_attribute("data-state", "ringing")

        # The agency console rings, with Answer and Decline; the operator answers.
        expect(dk.get_by_test_id("line-call")).to_have_attribute("data-call", "ringing")
        expect(dk.get_by_test_id("line-decline")).to_be_visible()
        answer = dk.get_by_test_id("line-answer")
        answer.focus()
        dk.keyboard.press("Enter")
        expect(dk.get_by_test_id("line-call")).to_have_attribute("data-call", "active")
        expect(leg).to_have_attribute("data-state", "talking")
        expect(ct.get_by_test_id("line-conference")).to_be_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        dk.screenshot(path=str(ARTIFACTS / "agency-browser-line.png"), full_page=True)

        # Audio both ways, WebRTC at both ends: the agency hears the conference, the call-taker hears the agency.
        dk.wait_for_function(f"async () => {{ const s = await ({inbound()})(); "
                             "return s.packets > 50 && s.energy > 0.001; }", polling=200)
        ct.wait_for_function(f"async () => {{ const s = await ({inbound('agency')})(); "
                             "return s.packets > 50 && s.energy > 0.001; }", polling=200)
        # Mute on the agency console silences its microphone (the level meter drops to zero).
        mute = dk.get_by_test_id("line-mute")
        mute.click()
        expect(mute).to_have_attribute("aria-pressed", "true")
        dk.wait_for_function("document.querySelector('#line-level').value == 0")
        mute.click()
        wait_for(lambda: "timeline.agency_conference_started" in _timeline(c, incident_id), 15,
                 "the conference in the timeline")

        # The agency operator hangs up: the call-taker is back with the caller alone.
        dk.get_by_test_id("line-hangup").click()
        expect(dk.get_by_test_id("line-call")).to_have_attribute("data-call", re.compile("ended|idle"))
        expect(leg).to_have_attribute("data-state", "ended")
        expect(ct.get_by_test_id("line-call")).to_have_attribute("data-call", "active")
        caller.join(90)
        done = result["done"]
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]  # type: ignore[attr-defined]
        expect(ct.get_by_test_id("line-call")).to_have_attribute("data-call", re.compile("ended|idle"))
        assert ct.js_errors == [] and dk.js_errors == []
    finally:
        if caller.is_alive():
            caller.join(90)
        ct_context.close()
        dk_context.close()

    with unit_of_work(c.engine, write=False) as db:
        rows = list(db.scalars(select(AgencyCall).order_by(AgencyCall.id)))
        rung = set(db.scalars(select(RingAttempt.user_id)))
    assert [(r.kind, r.target_kind, r.target, r.extension, r.agency_id) for r in rows] == [
        ("conference", "line", DAMKAR_EXT, "1001", damkar)]
    assert damkar_user not in rung  # the 112 call never rang the agency's line
    assert [x for x in _timeline(c, incident_id) if x.startswith("timeline.agency")] == [
        "timeline.agency_call_dialled_line", "timeline.agency_call_answered", "timeline.agency_conference_started",
        "timeline.agency_call_ended"]
