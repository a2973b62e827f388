"""Resolving an incident in the browser stands its agencies down (issue #15): the dispatcher clicks "Tandai
selesai ditangani" on the incident page, which then shows every agency stood down and says so in the
timeline; the agency's console, open meanwhile, marks its assignment stood down without a reload."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import ids
from tests.e2e.test_consoles import LIVE_MS, browse, shot  # noqa: F401 (browse is a fixture)


def test_resolving_in_the_browser_stands_every_agency_down(browse, live_server, api, clock, engine, settings):  # noqa: F811
    from siaga.domains.dispatch.escalation import fire_due

    agencies = ids(api, "/api/v1/agencies")
    incident = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "priority": 1}).json()
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                         json={"agency_ids": [agencies["DAMKAR"], agencies["DINKES"]]})
    assert r.status_code == 200, r.text
    dinkes = next(a for a in r.json()["assignments"] if a["agency_id"] == agencies["DINKES"])
    assert api("dinkes").post(f"/api/v1/assignments/{dinkes['id']}/state",
                              json={"state": "acknowledged", "version": dinkes["version"]}).status_code == 200

    agency = browse("damkar", live_server, "/agency", viewport={"width": 390, "height": 844})
    card = agency.locator(f".incident-card[data-number='{incident['number']}']")
    card.wait_for(timeout=LIVE_MS)
    assert "Diberitahu" in card.inner_text()
    disp = browse("disp", live_server, f"/incident/{incident['id']}")
    disp.wait_for_selector(".assignment[data-agency='Damkar']")
    disp.get_by_role("button", name="Tandai selesai ditangani").click()
    disp.wait_for_selector("#incident-status:has-text('Selesai ditangani')")
    for name in ("Damkar", "Dinkes / PSC 119"):
        disp.wait_for_selector(f".assignment[data-agency='{name}'] .chip:has-text('Dihentikan pusat')",
                               timeout=LIVE_MS)
    disp.wait_for_selector("#timeline li:has-text('tugas Damkar, Dinkes / PSC 119 dihentikan')", timeout=LIVE_MS)
    card.locator(".assignment .chip:has-text('Dihentikan pusat')").wait_for(timeout=LIVE_MS)
    # Nothing left for the agency to do (Alpine hides an x-show element a frame after the chip's text changes).
    expect(card.get_by_role("button", name="Terima")).to_have_count(0)
    shot(disp, "incident-stood-down")
    shot(agency, "agency-stood-down")

    clock.advance(hours=1)
    assert fire_due(engine, clock, settings) == 0  # no agency paged, no supervisor alerted
    for page in (disp, agency):
        assert page.js_errors == []
