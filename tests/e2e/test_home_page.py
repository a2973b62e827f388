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
