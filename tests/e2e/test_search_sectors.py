"""Search sectors in real browsers (the Bathin Solapan case): the dispatcher draws a sector by clicking the
incident's map and gives it to Damkar's team; Damkar's operator, on the same incident page in a browser of
their own, sees it appear without a reload, starts searching it and marks it cleared with a note; the
dispatcher's page and the shared timeline follow, in Indonesian and then in English."""

from __future__ import annotations

from tests.conftest import ids
from tests.e2e.test_consoles import LIVE_MS, shot
from tests.e2e.test_consoles import browse as browse  # noqa: F401  (the fixture, shared)

NAME = "Sektor A — kebun sawit utara"


def test_dispatcher_draws_a_sector_and_an_agency_searches_and_clears_it_live(browse, live_server, api):  # noqa: F811
    agencies = ids(api, "/api/v1/agencies")
    incident = api("ct").post("/api/v1/incidents", json={
        "category_code": "orang_hilang", "subcategory_code": "orang_hilang.anak", "lat": 1.2850, "lon": 101.1950,
        "address_text": "Kebun sawit, Bathin Solapan", "description": "Anak 7 tahun hilang sejak sore"}).json()
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                         json={"agency_ids": [agencies["DAMKAR"], agencies["BPBD"]]})
    assert r.status_code == 200, r.text
    damkar_team = next(a["id"] for a in r.json()["assignments"] if a["agency_id"] == agencies["DAMKAR"])
    path = f"/incident/{incident['id']}"
    disp = browse("disp", live_server, path)
    agency = browse("damkar", live_server, path, viewport={"width": 1280, "height": 900})
    agency.wait_for_selector("#no-sectors:visible")

    # The dispatcher draws: two clicks are not a sector yet, and a sector needs a name.
    disp.click("#sector-draw")
    disp.wait_for_selector("#sector-form:visible")
    assert "mouse" in disp.locator("#sector-hint").inner_text()  # drawing is said to need a mouse or touch
    box = disp.locator("#map").bounding_box()
    corners = [(0.20, 0.25), (0.45, 0.22), (0.48, 0.75), (0.18, 0.70)]  # clear of the zoom buttons and the marker
    for x, y in corners[:2]:
        disp.locator("#map").click(position={"x": box["width"] * x, "y": box["height"] * y})
    disp.wait_for_selector("#sector-points:text-is('2')")
    assert disp.locator("#sector-finish").is_disabled()
    disp.click("#sector-save")
    assert disp.locator("#e-sector-polygon").inner_text().startswith("Tekan Selesai untuk menutup garis batas")
    assert disp.locator("#e-sector-name").inner_text() == "Wajib diisi"
    for x, y in corners[2:]:
        disp.locator("#map").click(position={"x": box["width"] * x, "y": box["height"] * y})
    disp.wait_for_selector("#sector-points:text-is('4')")
    disp.click("#sector-finish")
    disp.wait_for_function("document.activeElement.id === 'sector-name'")  # straight on to the name
    disp.keyboard.type(NAME)
    disp.select_option("#sector-team", str(damkar_team))
    disp.click("#sector-save")
    disp.wait_for_selector("#sector-form", state="hidden")
    row = disp.locator(f"#sector-list li[data-sector='{NAME}']")
    row.wait_for()
    assert "Belum dicari" in row.inner_text() and "Damkar" in row.inner_text() and "ha" in row.inner_text()

    sector = api("disp").get(f"/api/v1/incidents/{incident['id']}/sectors").json()[0]
    assert len(sector["polygon"]) == 4 and sector["assignment_id"] == damkar_team
    assert sector["area_m2"] > 10_000  # a few hundred metres across at zoom 13

    # Damkar's operator sees it arrive, on the list and on the map, without a reload.
    mine = agency.locator(f"#sector-list li[data-sector='{NAME}']")
    mine.wait_for(timeout=LIVE_MS)
    agency.wait_for_selector(f"#map .leaflet-tooltip:has-text('{NAME}')")
    assert agency.locator("#no-sectors").is_hidden()

    # ...starts searching it; the dispatcher's page and the shared log follow.
    mine.get_by_role("button", name=f"Mulai cari — {NAME}").click()
    agency.wait_for_selector(f"#sector-list li[data-sector='{NAME}'][data-status=searching]")
    disp.wait_for_selector(f"#sector-list li[data-sector='{NAME}'][data-status=searching]", timeout=LIVE_MS)
    disp.wait_for_selector(f"#timeline li:has-text('{NAME}: dicari oleh Damkar')", timeout=LIVE_MS)

    # Cleared needs a note: the error shows next to the note field, then the note clears it.
    mine.get_by_role("button", name=f"Bersih — {NAME}").click()
    sector_id = sector["id"]
    assert agency.locator(f"#e-sector-note-{sector_id}").inner_text().startswith("Tulis hasil pencarian")
    agency.wait_for_function(f"document.activeElement.id === 'sector-note-{sector_id}'")
    agency.keyboard.type("tidak ditemukan")
    mine.get_by_role("button", name=f"Bersih — {NAME}").click()
    agency.wait_for_selector(f"#sector-list li[data-sector='{NAME}'][data-status=cleared]")
    disp.wait_for_selector(f"#sector-list li[data-sector='{NAME}'][data-status=cleared]", timeout=LIVE_MS)
    disp.wait_for_selector(f"#timeline li:has-text('{NAME}: bersih — tidak ditemukan')", timeout=LIVE_MS)
    assert "tidak ditemukan" in row.inner_text()
    shot(disp, "incident-search-sectors")
    shot(agency, "incident-search-sectors-agency")

    # The same page in English.
    agency.get_by_role("button", name="English").click()
    agency.wait_for_selector("#sectors-h:has-text('Search sectors')")
    agency.wait_for_function("window.Live && Live.state === 'live'")
    assert "Cleared" in agency.locator(f"#sector-list li[data-sector='{NAME}']").inner_text()
    agency.get_by_role("button", name=f"Reopen — {NAME}").click()
    agency.wait_for_selector(f"#sector-list li[data-sector='{NAME}'][data-status=open]")
    reopened = agency.locator(f"#sector-list li[data-sector='{NAME}']").inner_text()
    assert "Not searched" in reopened and "tidak ditemukan" not in reopened  # the old finding is in the timeline
    disp.wait_for_selector(f"#sector-list li[data-sector='{NAME}'][data-status=open]", timeout=LIVE_MS)
    shot(agency, "en-incident-search-sectors")
    for page in (disp, agency):
        assert page.js_errors == []
