"""The consoles at an operator's screen sizes (issue #15): the board with 50 open incidents at 1366×768 and
1920×1080 shows every column of its tables beside the map, never under it; unit labels on the map do not
pile up (labels that would overlap are folded into the one shown, "+N", each unit still a dot); the
call-taker's create button is in view at 1366×768 without scrolling."""

from __future__ import annotations

import pytest

from tests.conftest import ids
from tests.e2e.test_consoles import ARTIFACTS, LIVE_MS, browse, choose_category, offer_call, shot  # noqa: F401 (browse is a fixture)


def fifty_open_incidents(api) -> list[dict]:  # type: ignore[no-untyped-def]
    agencies = ids(api, "/api/v1/agencies")
    codes = [c["code"] for c in api("admin").get("/api/v1/categories").json() if not c.get("parent_code")]
    made = []
    for n in range(50):
        r = api("ct").post("/api/v1/incidents", json={
            "category_code": codes[n % len(codes)], "priority": 1 + n % 4,
            "lat": 1.40 + (n % 10) * 0.01, "lon": 102.0 + (n // 10) * 0.02, "kode_wilayah": "14.03.01.1001",
            "address_text": f"Jl. Panjang Sekali Nomor {n} dekat simpang tiga pasar lama", "patokan": "dekat masjid"})
        assert r.status_code == 201, r.text
        incident = r.json()
        if n % 2 == 0:  # many with several agencies: the widest column
            send = [agencies["DAMKAR"], agencies["DINKES"], agencies["POLRES"]] if n % 4 == 0 else [agencies["BPBD"]]
            assert api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                                    json={"agency_ids": send}).status_code == 200
        made.append(incident)
    return made


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366x768", "1920x1080"])
def test_board_with_fifty_incidents_shows_every_column_beside_the_map(browse, live_server, api, size):  # noqa: F811
    made = fifty_open_incidents(api)
    width, height = size
    board = browse("disp", live_server, "/board", viewport={"width": width, "height": height})
    board.wait_for_function(f"document.querySelectorAll('#board-incidents tbody tr').length === {len(made)}",
                            timeout=LIVE_MS)
    shot(board, f"board-50-{width}x{height}")
    map_box = board.locator("#map").bounding_box()
    assert map_box["width"] > 200 and map_box["height"] > 200
    for table in ("#board-incidents", "#board-units"):
        cells = board.evaluate(f"""() => [...document.querySelectorAll('{table} th, {table} tbody tr:first-child td')]
            .map(c => {{ const r = c.getBoundingClientRect();
                        return [c.textContent.trim().slice(0, 20), r.left, r.right]; }})""")
        assert cells
        for text, left, right in cells:
            assert right <= map_box["x"] + 0.5, f"{table}: {text!r} runs under the map ({right} > {map_box['x']})"
            assert left >= 0 and right > left
    # The whole page is as wide as the screen: nothing to scroll sideways for.
    assert board.evaluate("document.documentElement.scrollWidth") <= width
    assert board.js_errors == []


def visible_labels(page) -> list[dict]:  # type: ignore[no-untyped-def]
    return page.evaluate("""() => [...document.querySelectorAll('#map .unit-icon:not(.unit-folded) span')]
        .map(s => { const r = s.getBoundingClientRect();
                    return {text: s.textContent, more: s.dataset.more || '',
                            l: r.left, t: r.top, r: r.right, b: r.bottom}; })""")


def test_unit_labels_on_the_map_do_not_pile_up(browse, live_server, api):  # noqa: F811
    placed = [u for u in api("disp").get("/api/v1/units").json() if u["lat"] is not None and u["active"]]
    board = browse("disp", live_server, "/board", viewport={"width": 1366, "height": 768})
    board.wait_for_function(f"document.querySelectorAll('#map .unit-icon').length === {len(placed)}")
    for zoom in (9, 11, 13):
        board.evaluate(f"() => {{ Alpine.$data(document.getElementById('map').closest('[x-data]')).map.map"
                       f".setView([1.4667, 102.1085], {zoom}, {{animate: false}}); }}")
        labels = visible_labels(board)
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                overlap = a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]
                assert not overlap, f"zoom {zoom}: {a['text']} and {b['text']} overlap"
        # Every unit is still on the map: shown, or folded into a label that counts it.
        folded = board.locator("#map .unit-icon.unit-folded").count()
        assert sum(int(x["more"] or "0") for x in labels) == folded
        assert len(labels) + folded == len(placed)
    # Three Damkar units share the Bengkalis station: even close up one label stands for them, "+2".
    assert any(x["more"] == "+2" and x["text"].startswith("DMK-BKS-0") for x in visible_labels(board))
    shot(board, "board-unit-labels")
    assert board.js_errors == []


def test_create_button_is_in_view_at_1366x768(browse, live_server, api, clock):  # noqa: F811
    ct = browse("ct", live_server, "/calltaker", viewport={"width": 1366, "height": 768})
    offer_call(api, "layout-call-1", "081234500001", clock.now().isoformat(), lat=1.4650, lon=102.1050,
               accuracy=150)
    ct.wait_for_selector("#call-queue li:has-text('081234500001')", timeout=LIVE_MS)
    ct.keyboard.press("a")
    ct.wait_for_selector("#active-call .caller:has-text('081234500001')")
    choose_category(ct, "kebakaran")
    ct.wait_for_selector(".questions .question")  # the longest form: the guided questions are shown
    ct.evaluate("window.scrollTo(0, 0)")
    button = ct.locator("#create-incident")
    box = button.bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1366
    # In view and not covered: the point at its centre is the button.
    assert ct.evaluate(f"document.elementFromPoint({box['x'] + box['width'] / 2}, {box['y'] + box['height'] / 2})"
                       ".closest('#create-incident') !== null")
    shot(ct, "calltaker-1366x768")
    button.click(no_wait_after=True)
    ct.wait_for_selector("#call-incident:visible, #incident-form .error:visible")
