"""A phone number typed into an incident's description reaches the agency console and an agency operator's
incident page masked, in a real browser, as the caller's structured number does; a supervisor's incident
page shows the description whole."""

from __future__ import annotations

from tests.e2e.test_consoles import browse as browse  # noqa: F401  (the fixture, shared)

TYPED = "api di dapur, hubungi Pak Budi 0812-7777-1234, 3 orang"
MASKED = "api di dapur, hubungi Pak Budi ****234, 3 orang"


def test_the_agency_console_shows_a_typed_number_masked(browse, live_server, api):  # noqa: F811
    damkar = next(a for a in api("admin").get("/api/v1/agencies").json() if a["code"] == "DAMKAR")
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "description": TYPED}).json()
    r = api("disp").post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": damkar["id"]})
    assert r.status_code == 201, r.text
    agency = browse("damkar", live_server, "/agency")
    card = agency.locator(f".incident-card[data-number='{inc['number']}']")
    card.wait_for()
    assert MASKED in card.inner_text() and "7777" not in card.inner_text()
    agency.goto(f"{live_server}/incident/{inc['id']}")
    agency.wait_for_function("document.body.innerText.includes('****234')")
    assert "7777" not in agency.locator("body").inner_text()
    sup = browse("sup", live_server, f"/incident/{inc['id']}")
    sup.wait_for_function("document.body.innerText.includes('0812-7777-1234')")
    assert not agency.js_errors and not sup.js_errors
