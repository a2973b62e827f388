"""The incident sheet on paper (issue #15): "Cetak" prints the incident page, and the print stylesheet keeps
the sheet — number, times in the site's zone, category, priority, place with desa/kecamatan and coordinates,
the caller's number masked as the reader sees it, agencies and their states, units, the timeline — and drops
the console's chrome (header, navigation, alert controls, buttons, forms, the map)."""

from __future__ import annotations

import re

from tests.conftest import ids
from tests.e2e.test_consoles import ARTIFACTS, LIVE_MS, browse, offer_call  # noqa: F401 (browse is a fixture)

A4_WIDTH_PX = 794  # 210 mm at 96 dpi


def test_print_sheet_keeps_the_incident_and_drops_the_console(browse, live_server, api, clock):  # noqa: F811
    call = offer_call(api, "print-call-1", "081298765432", clock.now().isoformat())
    incident = api("ct").post("/api/v1/incidents", json={
        "category_code": "kebakaran", "priority": 1, "call_id": call["id"], "lat": 1.469087, "lon": 102.110580,
        "kode_wilayah": "14.03.01.1001", "address_text": "Jl. Ahmad Yani"}).json()
    assert "number" in incident, incident
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                         json={"agency_ids": [ids(api, "/api/v1/agencies")["DAMKAR"]]})
    assert r.status_code == 200, r.text

    page = browse("disp", live_server, f"/incident/{incident['id']}")
    page.wait_for_selector(".assignment[data-agency='Damkar']")
    page.wait_for_selector("#timeline li")
    page.wait_for_selector("#linked-calls .linked-call")
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed++; }; }")
    page.get_by_role("button", name="Cetak").click()
    assert page.evaluate("window.__printed") == 1

    page.set_viewport_size({"width": A4_WIDTH_PX, "height": 1123})
    page.emulate_media(media="print")
    for chrome in ("header.top", "nav", "#alert-controls", "#map", "#print-sheet", "#note-form", "#status-form",
                   "#assign-agency", ".skip"):
        assert not page.locator(chrome).first.is_visible(), f"{chrome} is on paper"
    assert page.locator("button:visible").count() == 0
    assert page.locator("input:visible, select:visible, textarea:visible").count() == 0

    head = page.locator(".print-head")
    assert head.is_visible() and incident["number"] in head.inner_text()
    assert re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d WIB", page.locator("#printed-at").inner_text())
    facts = page.locator(".facts").inner_text()
    assert "Kebakaran" in facts and "Jl. Ahmad Yani" in facts
    assert "Bengkalis Kota" in facts and "Bengkalis" in facts.split("Bengkalis Kota", 1)[1]  # desa, kecamatan
    assert "(1.46909, 102.11058)" in facts
    assert re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d WIB", facts)  # created, in the site's zone
    assert page.locator("h1 .chip:has-text('P1')").is_visible()
    calls = page.locator("#linked-calls").inner_text()
    assert "081298765432" not in calls and "432" in calls  # masked, as the dispatcher sees it
    damkar = page.locator(".assignment[data-agency='Damkar']")
    assert damkar.is_visible() and "Diberitahu" in damkar.inner_text()
    timeline = page.locator("#timeline")
    assert timeline.is_visible() and "WIB" in timeline.inner_text()
    # Fits the width of the paper: nothing cut at the right edge.
    assert page.evaluate("document.documentElement.scrollWidth") <= A4_WIDTH_PX
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "incident-sheet-print.png"), full_page=True)
    page.pdf(path=str(ARTIFACTS / "incident-sheet.pdf"), format="A4", print_background=False)
    assert page.js_errors == []
