"""The first page a newcomer sees after `make run`: log in, land on the role's screen, log out."""

from __future__ import annotations

import os

from tests.conftest import PASSWORD, token_for


def test_login_shows_open_incidents_then_logout(page, live_server, api):
    created = api("ct").post("/api/v1/incidents", json={
        "category_code": "kebakaran", "priority": 1, "address_text": "Jl. Ahmad Yani",
        "patokan": "dekat Masjid Agung"}).json()
    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "Masuk"
    page.get_by_label("Nama pengguna").fill("disp")
    page.get_by_label("Kata sandi").fill("salah")
    page.get_by_role("button", name="Masuk").click()
    assert "salah" in page.locator("#login-error").inner_text()
    assert page.get_by_label("Nama pengguna").input_value() == "disp"  # what was typed is kept
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(live_server + "/board")  # a dispatcher lands on the dispatch board
    row = page.locator(f"#board-incidents tr[data-number='{created['number']}']")
    text = row.inner_text()
    assert created["number"] in text and "Kebakaran" in text and "dekat Masjid Agung" in text
    row.get_by_role("link").click()
    page.wait_for_selector("dl.facts")
    assert "27-11-2026 08:00:00 WIB" in page.locator("dl.facts").inner_text()  # 01:00 UTC in Western Indonesia Time
    if os.environ.get("SIAGA_SCREENSHOTS"):
        page.screenshot(path=os.environ["SIAGA_SCREENSHOTS"] + "/home.png", full_page=True)
    page.get_by_role("button", name="Keluar").click()
    assert page.locator("h1").inner_text() == "Masuk"
    assert token_for("disp")


def test_english_is_selectable(page, live_server):
    page.goto(live_server + "/?lang=en")
    assert page.locator("h1").inner_text() == "Log in"
    assert page.get_by_label("Username").is_visible()


def test_api_docs_work_without_the_internet(page, live_server):
    """Swagger UI comes from our own static files; any request to another host would fail here."""
    foreign = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server) else None)
    page.goto(live_server + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Siaga 112" in page.locator(".swagger-ui .info .title").inner_text()
    assert foreign == []


def test_no_console_asks_for_anything_that_is_not_there(browser, live_server, api):
    """Every screen of every role, loaded in a browser: not one request the page makes answers 4xx or 5xx
    (no missing favicon, script, style, map tile or API call), and the header carries the icon."""
    from siaga.web.ui import SCREENS
    from tests.conftest import TEST_USERS

    roles = {user: role for user, role, _agency in TEST_USERS}
    screens = {user: [f"/{name}" for name, (allowed, _word) in SCREENS.items() if roles[user] in allowed]
               for user in ("ct", "disp", "sup", "admin", "damkar")}
    incident = api("disp").post("/api/v1/incidents", json={"category_code": "kebakaran", "lat": 1.468,
                                                          "lon": 102.103}).json()
    screens["disp"].append(f"/incident/{incident['id']}")
    failures = []
    for user, paths in screens.items():
        context = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta")
        page = context.new_page()
        page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("requestfailed", lambda r: None if r.failure == "net::ERR_ABORTED"  # left by navigating on
                else failures.append(f"failed {r.url}: {r.failure}"))
        page.goto(f"{live_server}/?next={paths[0]}")
        page.fill("#username", user)
        page.fill("#password", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        for path in paths:
            page.goto(live_server + path)
            page.wait_for_load_state("networkidle")
            assert page.locator("link[rel=icon]").count() == 1
        context.close()
    assert failures == []
