"""People notice what needs them (issue #15): each console raises an alert — a line in the console, a sound
scheduled through WebAudio, a desktop notification — for what is new to it and its role, never for what a
snapshot or a reconnect shows again; a browser that blocks audio until a click says so and offers the click;
the volume and mute are the user's, kept on the server across reloads and browsers; a refused desktop
permission is said in the console. The desktop notifications are the browser's own (permission granted or
not by the context); `SiagaAlerts.log` is the page's record of what it raised and whether the sound played."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import ids
from tests.e2e.test_consoles import LIVE_MS, browse, offer_call  # noqa: F401 (browse is a fixture)

# Counts every desktop notification the page makes, keeping the browser's own Notification underneath.
COUNT_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  if (!Real) return;
  class Counted extends Real {
    constructor(title, options) { super(title, options); window.__notes.push({title, body: (options || {}).body}); }
  }
  window.Notification = Counted;
})();
"""


def new_incident(api, **extra):  # type: ignore[no-untyped-def]
    r = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "priority": 1, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def log(page) -> list[dict]:  # type: ignore[no-untyped-def]
    return page.evaluate("JSON.parse(JSON.stringify(SiagaAlerts.log))")


def enable_sound(page) -> None:  # type: ignore[no-untyped-def]
    """A click on the page, as an operator gives: allowed to start audio under any autoplay policy."""
    if page.locator("#alert-enable-sound").is_visible():
        page.click("#alert-enable-sound")
    else:
        page.locator("header.top strong").first.click()
        page.evaluate("SiagaAlerts.enableSound()")
    page.wait_for_function("SiagaAlerts.audio && SiagaAlerts.audio.state === 'running'")


def test_dispatcher_is_alerted_of_a_new_incident_once_never_for_what_it_had(browse, live_server, api):  # noqa: F811
    before = new_incident(api)
    board = browse("disp", live_server, "/board")
    board.context.grant_permissions(["notifications"])
    board.add_init_script(COUNT_NOTIFICATIONS)
    board.reload()
    board.wait_for_function("window.Live && Live.state === 'live'")
    enable_sound(board)
    board.wait_for_selector(f"#board-incidents tr[data-number='{before['number']}']")
    assert log(board) == []  # what the board opened on is known, not announced
    assert board.locator("#alert-list li").count() == 0

    incident = new_incident(api)
    item = board.locator(f"#alert-list li:has-text('{incident['number']}')")
    item.wait_for(timeout=LIVE_MS)
    assert "Kejadian baru" in item.inner_text()
    entries = log(board)
    assert [(e["kind"], e["key"], e["sound"], e["desktop"]) for e in entries] == [
        ("incident", incident["id"], True, True)]
    notes = board.evaluate("window.__notes")
    assert notes[0]["title"] == "Kejadian baru" and incident["number"] in notes[0]["body"]

    # A change to it, and a reconnect that reloads the snapshot, announce nothing again.
    api("ct").post(f"/api/v1/incidents/{incident['id']}/notes", json={"text": "api membesar"})
    board.evaluate("Live.connect()")
    board.wait_for_function("Live.state === 'live'")
    other = new_incident(api)
    board.locator(f"#alert-list li:has-text('{other['number']}')").wait_for(timeout=LIVE_MS)
    assert [e["key"] for e in log(board)] == [incident["id"], other["id"]]
    assert board.js_errors == []


def test_escalation_alerts_the_dispatcher(browse, live_server, api, clock, engine, settings):  # noqa: F811
    from siaga.domains.dispatch.escalation import fire_due

    incident = new_incident(api)
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                         json={"agency_ids": [ids(api, "/api/v1/agencies")["DAMKAR"]]})
    assert r.status_code == 200, r.text
    board = browse("disp", live_server, "/board")
    enable_sound(board)
    clock.advance(seconds=61)  # P1: 60 s to acknowledge
    assert fire_due(engine, clock, settings) == 1
    item = board.locator("#alert-list li.alert-escalation")
    item.wait_for(timeout=LIVE_MS)
    assert "Eskalasi" in item.inner_text() and incident["number"] in item.inner_text()
    assert [(e["kind"], e["sound"]) for e in log(board)] == [("escalation", True)]


def test_call_taker_hears_a_ringing_call_and_agency_a_new_assignment(browse, live_server, api, clock):  # noqa: F811
    ct = browse("ct", live_server, "/calltaker")
    agency = browse("damkar", live_server, "/agency", viewport={"width": 390, "height": 844})
    for page in (ct, agency):
        enable_sound(page)
    offer_call(api, "alert-call-1", "081234567890", clock.now().isoformat())
    ct.locator("#alert-list li.alert-call").wait_for(timeout=LIVE_MS)
    assert "Panggilan masuk" in ct.locator("#alert-list li.alert-call").inner_text()
    assert [(e["kind"], e["sound"]) for e in log(ct)] == [("call", True)]

    incident = new_incident(api)
    assert agency.locator("#alert-list li").count() == 0  # not this agency's (yet)
    api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                     json={"agency_ids": [ids(api, "/api/v1/agencies")["DAMKAR"]]})
    item = agency.locator(f"#alert-list li.alert-assignment:has-text('{incident['number']}')")
    item.wait_for(timeout=LIVE_MS)
    assert "Penugasan baru" in item.inner_text()
    assert [e["kind"] for e in log(agency)] == ["assignment"]
    assert [e["kind"] for e in log(ct)] == ["call"]  # a call-taker is not paged for incidents
    assert ct.js_errors == [] and agency.js_errors == []


# Headless chromium plays audio whatever --autoplay-policy says, so the test gives the page the policy of a
# desktop browser: its AudioContext starts suspended, and resumes only under a real user activation (the
# browser's own navigator.userActivation, which Playwright's clicks give and a script cannot).
AUTOPLAY_POLICY = """
(() => {
  const Real = window.AudioContext;
  window.AudioContext = class extends Real {
    constructor(...args) { super(...args); this.__held = true; super.suspend(); }
    get state() { return this.__held ? "suspended" : super.state; }
    resume() {
      if (!navigator.userActivation.isActive) return Promise.resolve();
      this.__held = false;
      return super.resume().then(() => this.dispatchEvent(new Event("statechange")));
    }
  };
})();
"""


def test_blocked_audio_is_said_and_the_click_turns_it_on(browse, live_server, api):  # noqa: F811
    page = browse("disp", live_server, "/board", viewport={"width": 1366, "height": 768})
    page.add_init_script(AUTOPLAY_POLICY)
    page.reload()
    page.wait_for_function("window.Live && Live.state === 'live'")
    banner = page.locator("#alert-sound-blocked")
    banner.wait_for(state="visible")
    assert "memblokir suara" in banner.inner_text()

    first = new_incident(api)
    page.locator(f"#alert-list li:has-text('{first['number']}')").wait_for(timeout=LIVE_MS)
    assert [(e["sound"], e["blocked"]) for e in log(page)] == [(False, True)]  # said, never silently lost
    assert banner.is_visible()

    page.click("#alert-enable-sound")
    banner.wait_for(state="hidden")
    second = new_incident(api)
    page.locator(f"#alert-list li:has-text('{second['number']}')").wait_for(timeout=LIVE_MS)
    assert [e["sound"] for e in log(page)] == [False, True]
    assert page.js_errors == []


def test_mute_and_volume_follow_the_user_to_another_browser(browse, live_server, api):  # noqa: F811
    board = browse("disp", live_server, "/board")
    assert board.get_attribute("#alert-mute", "aria-pressed") == "false"
    with board.expect_response(lambda r: r.url.endswith("/api/v1/me/alerts") and r.request.method == "PUT") as resp:
        board.fill("#alert-volume", "30")  # the slider's change saves it
    assert resp.value.status == 200
    with board.expect_response(lambda r: r.url.endswith("/api/v1/me/alerts") and r.request.method == "PUT") as resp:
        board.click("#alert-mute")
    assert resp.value.status == 200
    assert board.get_attribute("#alert-mute", "aria-pressed") == "true"
    assert api("disp").get("/api/v1/me/alerts").json() == {"volume": 30, "muted": True}

    board.reload()
    board.wait_for_function("window.Live && Live.state === 'live'")
    assert board.get_attribute("#alert-mute", "aria-pressed") == "true"
    assert board.locator("#alert-volume").input_value() == "30"
    elsewhere = browse("disp", live_server, "/board")  # another desk: a context of its own
    assert elsewhere.get_attribute("#alert-mute", "aria-pressed") == "true"
    assert elsewhere.locator("#alert-volume").input_value() == "30"
    assert api("sup").get("/api/v1/me/alerts").json()["muted"] is False  # one user's choice, not everyone's

    # Muted: an alert still shows in the console, without sound.
    incident = new_incident(api)
    elsewhere.locator(f"#alert-list li:has-text('{incident['number']}')").wait_for(timeout=LIVE_MS)
    assert [(e["sound"], e["muted"]) for e in log(elsewhere)] == [(False, True)]
    assert not elsewhere.locator("#alert-sound-blocked").is_visible()


def test_refused_desktop_notifications_are_said(browse, live_server):  # noqa: F811
    board = browse("disp", live_server, "/board")
    button = board.locator("#alert-desktop")
    assert button.is_visible()
    board.evaluate("""() => { Notification.requestPermission = async () => 'denied'; }""")
    button.click()
    denied = board.locator("#alert-desktop-denied")
    denied.wait_for(state="visible")
    assert "ditolak" in denied.inner_text()
    expect(button).to_be_hidden()  # Alpine hides an x-show element a frame later
