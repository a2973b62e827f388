"""The statistics page in a real browser (Debian's chromium): last month's KPIs from the October fixture
(the test clock says 27 November 2026), drawn with Chart.js, in Bahasa Indonesia and in English, with the
period report's downloads. Screenshots: test-artifacts/screenshots/<backend>/stats-*.png."""

from __future__ import annotations

from siaga.db.engine import unit_of_work
from tests.e2e.test_consoles import browse, shot  # noqa: F401 - the fixture is used by name
from tests.integration.kpi_fixture import load_october

OCTOBER = "from=2026-10-01&to=2026-11-01"


def _show_last_month(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#stats[data-loaded='yes']")
    page.select_option("#st-preset", "last_month")
    page.wait_for_function("document.querySelector('#st-offered .value')?.innerText === '13'")


def test_statistics_page_in_both_languages(browse, live_server, engine):  # noqa: F811
    from tests.integration.test_simulated_rows import add_simulated

    with unit_of_work(engine) as db:
        add_simulated(db, load_october(db))  # three simulated calls and one incident: left out, and said so
    page = browse("sup", live_server, "/stats")
    assert not page.js_errors, page.js_errors
    assert page.locator("nav a[aria-current=page]").inner_text() == "Statistik"
    # "This month" first: November per the test clock, so far only c14 (1 November 00:00 WIB).
    assert page.locator("#st-offered .value").inner_text() == "1"
    _show_last_month(page)
    assert page.locator(".st-range").inner_text() == "1 Oktober 2026 – 31 Oktober 2026"
    assert page.locator("#st-answered .value").inner_text() == "9"
    assert page.locator("#st-sl15 .value").inner_text() == "46,2%"
    assert page.locator("#st-sl15").get_attribute("class").split()[-1] == "notmet"
    assert page.locator("#st-avg .value").inner_text() == "12,6 s"
    assert page.locator("#st-slowest .value").inner_text() == "25,0 s"
    assert page.locator("#st-pickup").count() == 1  # the pickup delay's tile (no ring recorded in this fixture)
    assert page.locator("#st-ooh .value").inner_text() == "15,4%"
    assert page.locator("#st-nfpa .value").inner_text() == "50%"
    assert page.locator("#st-simulated").inner_text() == (
        "Tidak termasuk 3 panggilan dan 1 kejadian simulasi (siaga simulate).")
    # The charts hold the same numbers.
    hour = page.evaluate("Chart.getChart(document.getElementById('chart-hour')).data.datasets.map(d => d.data[8])")
    assert hour == [2, 2]  # 08:00 WIB: two calls offered, two answered
    outcomes = page.evaluate("Chart.getChart(document.getElementById('chart-outcomes')).data.datasets[0].data")
    assert outcomes == [2, 1, 1, 4, 1, 1, 1, 1, 1]
    trend = page.evaluate("Chart.getChart(document.getElementById('chart-trend')).data.labels.length")
    assert trend == 31
    stages = page.locator("#st-stages tbody").inner_text()
    assert "Dinkes / PSC 119" in stages and "10,0 s / 98,0 s" in stages
    # The report's downloads follow the period shown.
    href = page.locator("#st-report-pdf").get_attribute("href")
    assert OCTOBER in href and "format=pdf" in href
    pdf = page.context.request.get(live_server + href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
    csv = page.context.request.get(live_server + page.locator("#st-monitoring-csv").get_attribute("href"))
    assert csv.status == 200 and csv.text().count("\ncall,") == 13
    assert not page.js_errors, page.js_errors
    shot(page, "stats-id")

    # A quarter, then a bad custom range: the error is shown, the last figures stay.
    page.select_option("#st-preset", "quarter")
    page.select_option("#st-quarter", "4")
    page.fill("#st-year", "2026")
    page.click("#st-show")
    page.wait_for_function("document.querySelector('#st-offered .value').innerText === '14'")  # + c14, 1 Nov
    page.select_option("#st-preset", "custom")
    page.fill("#st-from", "2026-10-10")
    page.fill("#st-until", "2026-10-01")
    page.click("#st-show")
    page.wait_for_selector("#st-error:visible")
    assert "to" in page.locator("#st-error").inner_text()

    # English: the same figures with English words and number formats.
    page.goto(live_server + "/stats?lang=en")
    page.wait_for_function("window.Live && Live.state === 'live'")
    _show_last_month(page)
    assert page.locator("h1").inner_text() == "112 service statistics"
    assert page.locator(".st-range").inner_text() == "1 October 2026 – 31 October 2026"
    assert page.locator("#st-sl15 .value").inner_text() == "46.2%"
    assert page.locator("#st-sl15 .label").inner_text() == "Answered within 15 s"
    labels = page.evaluate("Chart.getChart(document.getElementById('chart-outcomes')).data.labels")
    assert labels[0] == "Out of hours (missed)"
    assert "lang=en" in page.locator("#st-report-xlsx").get_attribute("href")
    assert not page.js_errors, page.js_errors
    shot(page, "stats-en")


def test_statistics_page_follows_new_calls(browse, live_server, api, clock):  # noqa: F811
    page = browse("disp", live_server, "/stats")
    page.wait_for_selector("#stats[data-loaded='yes']")
    before = page.locator("#st-offered .value").inner_text()
    assert before == "0"
    r = api("phone").post("/api/v1/call-events", json={"event_id": "st-1", "call_ref": "st-1", "type": "offered",
                                                        "at": clock.now().isoformat(), "caller_number": "0812"})
    assert r.status_code == 201, r.text
    page.wait_for_function("document.querySelector('#st-offered .value').innerText === '1'", timeout=10_000)
