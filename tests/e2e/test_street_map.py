"""The consoles' map in a real browser (Debian's chromium): after `siaga map import` it draws the street basemap
from the server's PMTiles archive (range requests answered 206, vector tiles painted on canvases, the
OpenStreetMap attribution shown) and opens on the site's regency; without an archive it keeps the built-in
coastline basemap and never asks for one. Screenshots go to test-artifacts/screenshots/<backend>/."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from siaga.web.basemap import ROUTE
from tests.conftest import PASSWORD
from tests.e2e.test_consoles import shot
from tests.helsinki_site import REGENCY, cli_env, helsinki_path, onboard, require_tilemaker

MAP = "Alpine.$data(document.getElementById('map').closest('[x-data]')).map"
# Tile canvases that protomaps-leaflet has painted: some pixels drawn, and not all of one colour.
PAINTED = """() => [...document.querySelectorAll('.leaflet-tile-pane canvas')].filter(c => {
  if (!c.width) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const colours = new Set();
  for (let i = 0; i < d.length; i += 4 * 97) if (d[i + 3]) colours.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
  return colours.size > 3;
}).length"""


@pytest.fixture
def settings(request, db_url, session_settings, tmp_path):  # type: ignore[no-untyped-def]
    """The session's settings with a data folder of this test's own (and, parametrised, another region)."""
    return session_settings.model_copy(update={"data_dir": tmp_path / "data", **getattr(request, "param", {})})


def console(browser, base: str, path: str = "/board"):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.archive_responses = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.on("console", lambda m: page.errors.append(m.text)  # type: ignore[attr-defined]
            if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: page.archive_responses.append((r.status, r.request.headers.get("range")))  # type: ignore[attr-defined]
            if r.url.endswith(ROUTE) else None)
    page.goto(f"{base}/?next={path}")
    page.fill("#username", "disp")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base + path)))
    return context, page


@pytest.mark.parametrize("settings", [{"region_code": REGENCY}], indirect=True)
def test_the_console_map_draws_the_imported_street_map(browser, live_server, ctx_factory, db_url, settings):
    require_tilemaker()
    with ctx_factory("admin") as ctx:
        onboard(ctx)
    imported = subprocess.run([sys.executable, "-m", "siaga", "map", "import", str(helsinki_path())],
                              env=cli_env(db_url, settings.data_dir), capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr
    context, page = console(browser, live_server)
    try:
        page.wait_for_function(f"{MAP} && {MAP}.streets !== null")
        page.wait_for_function(f"({PAINTED})() >= 2")
        # The archive was read by byte ranges, each answered with those bytes.
        ranged = [(status, rng) for status, rng in page.archive_responses if rng]
        assert ranged and all(status == 206 for status, _ in ranged), page.archive_responses
        assert ranged[0][1] == "bytes=0-16383"  # the PMTiles header and root directory first
        attribution = page.locator(".leaflet-control-attribution").inner_text()
        assert "© OpenStreetMap contributors" in attribution
        # It opened on the site's regency (Helsinki's test regency), not on Bengkalis.
        lat, lon = page.evaluate(f"(() => {{ const c = {MAP}.map.getCenter(); return [c.lat, c.lng]; }})()")
        assert 60.16 < lat < 60.18 and 24.93 < lon < 24.96
        # The street map sits under the markers: the tile pane below the overlays.
        assert page.evaluate("getComputedStyle(document.querySelector('.leaflet-tile-pane')).zIndex") == "200"
        assert page.errors == []  # no script error, nothing the page's CSP refused
        shot(page, "street-map-board")
    finally:
        context.close()


def test_without_an_archive_the_builtin_basemap_stays_and_none_is_asked_for(browser, live_server, settings):
    context, page = console(browser, live_server)
    try:
        page.wait_for_function(f"{MAP} && document.querySelector('.leaflet-land-pane canvas')")
        page.wait_for_function("document.querySelector('.leaflet-control-attribution').innerText.includes('GSHHG')")
        assert page.evaluate(f"{MAP}.streets") is None
        assert page.evaluate("typeof window.protomapsL") == "undefined"  # the library is not even loaded
        assert page.archive_responses == []
        assert "OpenStreetMap" not in page.locator(".leaflet-control-attribution").inner_text()
        lat, lon = page.evaluate(f"(() => {{ const c = {MAP}.map.getCenter(); return [c.lat, c.lng]; }})()")
        assert 0.9 < lat < 2.2 and 100.9 < lon < 102.6  # Bengkalis, from its official outline's bbox
        assert page.errors == []
        shot(page, "builtin-basemap-board")
    finally:
        context.close()
