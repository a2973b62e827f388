"""The agency console's map (issue #15): the board's map, with the incidents this agency is sent to (and only
those) and its own units; an incident the agency is sent to later appears on it without a reload."""

from __future__ import annotations

from tests.conftest import ids
from tests.e2e.test_consoles import LIVE_MS, browse, shot  # noqa: F401 (browse is a fixture)

MAP = "Alpine.$data(document.getElementById('agency-map').closest('[x-data]')).map"


def incident_at(api, agency: str, lat: float, lon: float) -> dict:  # type: ignore[no-untyped-def]
    incident = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "priority": 2,
                                                        "lat": lat, "lon": lon}).json()
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                         json={"agency_ids": [ids(api, "/api/v1/agencies")[agency]]})
    assert r.status_code == 200, r.text
    return incident


def tooltip_at(page, lat: float, lon: float, number: str) -> str:  # type: ignore[no-untyped-def]
    """Point at a place on the map as the operator does, and read the tooltip naming `number` it shows."""
    page.locator("#agency-map").scroll_into_view_if_needed()
    page.evaluate(f"() => {{ {MAP}.map.setView([{lat}, {lon}], 14, {{animate: false}}); }}")
    box = page.locator("#agency-map").bounding_box()
    x, y = page.evaluate(f"() => {{ const p = {MAP}.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }}")
    page.mouse.move(box["x"] + x - 3, box["y"] + y)
    page.mouse.move(box["x"] + x, box["y"] + y, steps=3)
    tip = page.locator(f"#agency-map .leaflet-tooltip:has-text('{number}')")
    tip.wait_for()
    return tip.inner_text()


def test_agency_map_shows_its_incidents_and_units(browse, live_server, api):  # noqa: F811
    mine = incident_at(api, "DAMKAR", 1.4650, 102.1050)
    theirs = incident_at(api, "DINKES", 1.4700, 102.1200)
    agency = browse("damkar", live_server, "/agency", viewport={"width": 390, "height": 844})
    assert agency.locator("#agency-map-h").inner_text() == "Peta kejadian dan unit"
    assert "Kebakaran · P2" in tooltip_at(agency, 1.4650, 102.1050, mine["number"])
    agency.mouse.move(0, 0)
    assert theirs["number"] not in agency.evaluate(
        f"[...{MAP}.incidentMarkers.values()].map(m => m.marker.getTooltip().getContent()).join(' ')")

    units = [u for u in api("damkar").get("/api/v1/units").json() if u["lat"] is not None]
    damkar_id = ids(api, "/api/v1/agencies")["DAMKAR"]
    own = [u["callsign"] for u in units if u["agency_id"] == damkar_id]
    assert own, "the seed has Damkar units with a position"
    labels = agency.locator("#agency-map .unit-icon").all_inner_texts()
    assert set(own) <= set(labels) and all(label in own for label in labels)

    later = incident_at(api, "DAMKAR", 1.4550, 102.0900)
    agency.locator(f".incident-card[data-number='{later['number']}']").wait_for(timeout=LIVE_MS)
    assert later["number"] in tooltip_at(agency, 1.4550, 102.0900, later["number"])
    shot(agency, "agency-map")
    assert agency.js_errors == []
