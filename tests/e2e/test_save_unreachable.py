"""A console says when saving is impossible (issue #15): a save that cannot reach the server — no answer at
all (the process stopped, the network is down) or a proxy's 502/503 for a process that is gone — raises a
banner in words, keeps everything typed, and the banner goes when a save gets through again or the event
stream connects again."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_consoles import LIVE_MS, browse, choose_category, offer_call, shot  # noqa: F401 (a fixture)

BANNER = "Tidak dapat menyimpan — server tidak terjangkau"


def test_the_call_taker_is_told_a_save_cannot_reach_the_server_and_keeps_the_form(browse, live_server, api,  # noqa: F811
                                                                                 clock):
    call = offer_call(api, "unreach-1", "081234599999", clock.now().isoformat())
    ct = browse("ct", live_server, "/calltaker")
    banner = ct.locator("#save-blocked")
    expect(banner).to_be_hidden()
    ct.wait_for_selector("#call-queue li:has-text('081234599999')", timeout=LIVE_MS)
    ct.keyboard.press("a")
    choose_category(ct, "kebakaran")
    ct.fill("#f-address", "Jl. Antara gang 3")
    ct.fill("#f-description", "Asap tebal dari dapur")

    # A proxy in front of a process that is gone: 503 with its own HTML page.
    ct.route("**/api/v1/incidents", lambda route: route.fulfill(status=503, content_type="text/html",
                                                                 body="<h1>503 Service Unavailable</h1>"))
    ct.keyboard.press("Control+Enter")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(BANNER)
    expect(ct.locator("#incident-form .error")).to_be_visible()
    expect(ct.locator("#f-address")).to_have_value("Jl. Antara gang 3")
    expect(ct.locator("#f-description")).to_have_value("Asap tebal dari dapur")
    expect(ct.locator("#f-category")).to_have_value("Kebakaran")
    shot(ct, "calltaker-save-unreachable")

    # No answer at all: the same banner, the same form.
    ct.unroute("**/api/v1/incidents")
    ct.route("**/api/v1/incidents", lambda route: route.abort("connectionrefused"))
    ct.click("#create-incident")
    expect(banner).to_be_visible()
    expect(ct.locator("#f-address")).to_have_value("Jl. Antara gang 3")

    # The server answers again: the save goes through and the banner goes.
    ct.unroute("**/api/v1/incidents")
    ct.keyboard.press("Control+Enter")
    expect(ct.locator("#call-incident")).to_contain_text("Kejadian dibuat")
    expect(banner).to_be_hidden()
    incident_id = api("ct").get(f"/api/v1/calls/{call['id']}").json()["incident_id"]
    incident = api("disp").get(f"/api/v1/incidents/{incident_id}").json()
    assert incident["address_text"] == "Jl. Antara gang 3"
    assert incident["description"] == "Asap tebal dari dapur"
    assert ct.js_errors == []  # type: ignore[attr-defined]


def test_a_note_saved_while_offline_is_kept_and_the_banner_goes_when_the_stream_is_back(browse, live_server,  # noqa: F811
                                                                                       api):
    incident = api("disp").post("/api/v1/incidents", json={"category_code": "medis", "address_text": "Duri"}).json()
    page = browse("disp", live_server, f"/incident/{incident['id']}")
    banner = page.locator("#save-blocked")
    page.fill("#note-text", "Keluarga menunggu di depan rumah")

    page.context.set_offline(True)
    page.evaluate("Live.source && Live.source.close(); Live.connect()")  # the drop, as the browser sees it
    page.click("#note-form button[type=submit]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(BANNER)
    expect(page.locator("#note-text")).to_have_value("Keluarga menunggu di depan rumah")

    # Back online: the stream connects again (to this process or another) and the banner goes by itself.
    page.context.set_offline(False)
    page.wait_for_function("Live.state === 'live'", timeout=20_000)
    expect(banner).to_be_hidden()
    expect(page.locator("#note-text")).to_have_value("Keluarga menunggu di depan rumah")
    page.click("#note-form button[type=submit]")
    expect(page.locator("#timeline")).to_contain_text("Keluarga menunggu di depan rumah")
    expect(page.locator("#note-text")).to_have_value("")
    assert page.js_errors == []  # type: ignore[attr-defined]
