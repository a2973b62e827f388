"""The browser consoles under a real shift's load, in Debian's chromium driven by Playwright, on PostgreSQL.

1. Call-taker console, time to interactive with 500 open incidents and 200 units: from the navigation
   start of /calltaker (performance.now() counts from it) until the live store is `live`, holds the 500
   open incidents, and the map's incident layer has all 500 markers and a frame has been painted since.
   Each run is a fresh browser context (empty HTTP cache, the session cookie carried over): the console
   as an operator opens it at the start of a shift. Warm reloads of one tab are reported too.
   Baseline, same run: the same page on the same server and database before the incidents exist
   (0 incidents, the same 200 units). That is the console's fixed cost (reference data, scripts, basemap,
   the event stream), so the ratio is what 500 open incidents add; a GET of the login page would share
   none of that work (no reference data, no script, no snapshot, no map) and its ratio would say nothing.
   Target: median ≤ 2000 ms.
2. Change to screen: a call-taker's browser creates an incident through the API (fetch from the page,
   with its CSRF token) and a dispatcher's board in a second browser context shows the new incident's
   row in #board-incidents. Both times are Date.now() in the two pages (same machine, same clock): the
   request's send and the MutationObserver callback that sees the row (one frame before it is painted).
   Baseline, same run: the API request's own round trip as that page saw it. Target: p99 ≤ 1000 ms.
   Also given: when the incident.created event reached the board's live store (event_in_store_ms) and the
   board's main-thread time in long tasks per change, so a slow figure says whether delivery or drawing.
3. Change to alert: the same changes, until the dispatcher's console raises its new-incident alert (the entry
   in #alert-list; the sound and the desktop notification come from the same call). p50 and p95; target
   p95 ≤ 1000 ms, as for the row.

Needs /usr/bin/chromium (`bash tools/system_deps.sh chromium` as root) and PostgreSQL like the others.

Usage: python benchmarks/console_live.py [--incidents 500] [--units 200] [--runs 7] [--changes 30]"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from _common import TOKENS, bench_database, emit, percentile, server
from sqlalchemy import func, select

from siaga.core.authz import SYSTEM
from siaga.core.clock import Clock
from siaga.core.context import Ctx
from siaga.db.engine import make_engine, unit_of_work
from siaga.settings import Settings

CHROMIUM = "/usr/bin/chromium"
# The same flags as the browser tests (tests/e2e/conftest.py).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PASSWORD = "bench-password-x"  # what _common.seed gives the bench users
BENCH = "console_live"

# Installed before any page script: on every frame, is the console interactive? Then stamp the next frame
# (so the frame in which it became so has been painted), as ms since navigation start.
PROBE = """
(() => {
  const want = %d, grid = %r;
  function ready() {
    const live = window.Live, el = document.querySelector(grid);
    if (!live || live.state !== "live" || live.version < 1 || !el || !window.Alpine) return false;
    if (Object.keys(live.incidents).length !== want) return false;
    const map = Alpine.$data(el).map;
    return !!map && map.incidentLayer.getLayers().length === want;
  }
  function frame() {
    let ok = false;
    try { ok = ready(); } catch (err) { ok = false; }
    if (ok) requestAnimationFrame(() => { window.__interactiveAt = performance.now(); });
    else requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})();
"""

# On the dispatcher's board: the Date.now() at which each incident number's row first appears.
WATCH_BOARD = r"""
() => {
  const seen = window.__seen = {}, applied = window.__applied = {};
  window.__busy = 0;  // main-thread time in long tasks (> 50 ms), ms
  new PerformanceObserver(list => { for (const e of list.getEntries()) window.__busy += e.duration; })
    .observe({type: "longtask"});
  Live.on(event => {
    const n = event.kind === "incident.created" && event.payload.number;
    if (n && !(n in applied)) applied[n] = Date.now();
  });
  // The alert a dispatcher is given for a new incident (static/js/alerts.js): the Date.now() at which its
  // entry appears in #alert-list (the sound and the desktop notification are raised in the same call).
  const alerted = window.__alerted = {};
  new MutationObserver(records => {
    const t = Date.now();
    for (const r of records) for (const node of r.addedNodes) {
      const m = node.nodeType === 1 && node.tagName === "LI" && /[A-Z]+-\d{4}-\d{6}/.exec(node.textContent);
      if (m && !(m[0] in alerted)) alerted[m[0]] = t;
    }
  }).observe(document.getElementById("alert-list"), {childList: true});
  const body = document.querySelector("#board-incidents tbody");
  for (const tr of body.querySelectorAll("tr[data-number]")) seen[tr.dataset.number] = 0;
  const note = (node, t) => {
    if (node.nodeType !== 1 || node.tagName !== "TR") return;
    const n = node.dataset.number;
    if (n && !(n in seen)) seen[n] = t;
  };
  new MutationObserver(records => {
    const t = Date.now();
    for (const r of records) {
      if (r.type === "attributes") note(r.target, t);
      else for (const node of r.addedNodes) note(node, t);
    }
  }).observe(body, {childList: true, subtree: true, attributes: true, attributeFilter: ["data-number"]});
  return Object.keys(seen).length;
}
"""

# On the call-taker's console: create an incident the way the console does (Siaga.api: session cookie,
# X-CSRF-Token from the page's meta tag, an Idempotency-Key).
CREATE = """
async (body) => {
  const t0 = Date.now();
  const r = await Siaga.api("POST", "/api/v1/incidents", body, {"Idempotency-Key": Siaga.idempotencyKey()});
  const t1 = Date.now();
  return {t0, t1, ok: r.ok, status: r.status, number: r.data && r.data.number, problem: r.problem};
}
"""


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        sys.exit(f"console_live: Debian's chromium is missing ({CHROMIUM}); install it as root with "
                 "`bash tools/system_deps.sh chromium` (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        sys.exit("console_live: the Python package playwright is missing: make install (.[test])")


def places(url: str) -> tuple[list[tuple[str, float, float]], list[str]]:
    """Desa/kelurahan with their points (kode, lat, lon) and the active top-level category codes."""
    from siaga.domains.incidents.models import Category
    from siaga.domains.regions.models import Region

    engine = make_engine(url)
    with unit_of_work(engine) as db:
        regions = [(r.kode, r.lat, r.lon) for r in db.scalars(
            select(Region).where(Region.level.in_(("desa", "kelurahan")), Region.lat.is_not(None)))]
        categories = list(db.scalars(select(Category.code).where(Category.parent_code.is_(None),
                                                                 Category.active.is_(True))))
    engine.dispose()
    return regions, categories


def add_units(url: str, total: int, rng: random.Random) -> int:
    """Through the actions layer, as the system: units at the seeded stations until there are `total`."""
    from siaga.domains.agencies.models import Station
    from siaga.domains.units import actions, schemas
    from siaga.domains.units.models import UNIT_TYPES, Unit

    engine = make_engine(url)
    with unit_of_work(engine) as db:
        ctx = Ctx(db=db, actor=SYSTEM, clock=Clock(), settings=Settings())
        stations = [s for s in db.scalars(select(Station).order_by(Station.id)) if s.lat is not None]
        have = db.scalar(select(func.count()).select_from(Unit).where(Unit.active.is_(True))) or 0
        for i in range(total - have):
            s = stations[i % len(stations)]
            actions.create_unit(ctx, schemas.UnitCreate(
                callsign=f"BENCH-{i + 1:03d}", agency_id=s.agency_id, type=UNIT_TYPES[i % len(UNIT_TYPES)],
                station_id=s.id, lat=round(s.lat + rng.uniform(-0.02, 0.02), 6),
                lon=round(s.lon + rng.uniform(-0.02, 0.02), 6)))
        count = db.scalar(select(func.count()).select_from(Unit).where(Unit.active.is_(True))) or 0
    engine.dispose()
    return count


def incident_body(rng: random.Random, regions: list[tuple[str, float, float]], categories: list[str],
                  description: str) -> dict[str, Any]:
    kode, lat, lon = rng.choice(regions)
    return {"category_code": rng.choice(categories), "kode_wilayah": kode,
            "lat": round(lat + rng.uniform(-0.005, 0.005), 6), "lon": round(lon + rng.uniform(-0.005, 0.005), 6),
            "address_text": "Jl. Bench", "patokan": "dekat masjid", "description": description}


def add_incidents(base: str, n: int, rng: random.Random, regions: list[tuple[str, float, float]],
                  categories: list[str]) -> None:
    """Through the HTTP API with the call-taker's token, as a shift would create them."""
    with httpx.Client(base_url=base, timeout=30,
                      headers={"Authorization": f"Bearer {TOKENS['bench_ct']}"}) as http:
        for i in range(n):
            r = http.post("/api/v1/incidents", json=incident_body(rng, regions, categories, f"bench-open-{i}"))
            if r.status_code != 201:
                raise RuntimeError(f"POST /api/v1/incidents: {r.status_code} {r.text[:300]}")
        opened = http.get("/api/v1/snapshot").json()["incidents"]
    if len(opened) < n:
        raise RuntimeError(f"snapshot has {len(opened)} open incidents, expected {n}")


def log_in(browser: Any, base: str, username: str, screen: str) -> dict[str, Any]:
    """Log in through the login form once; the session (cookie) is reused by every later context."""
    context = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta")
    page = context.new_page()
    page.goto(base + "/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/{screen}", timeout=30_000)
    state = context.storage_state()
    context.close()
    return state


def load_times(browser: Any, base: str, session: dict[str, Any], incidents: int, runs: int,
               cold: bool, warmup: int = 0) -> list[dict[str, float]]:
    """Time to interactive of /calltaker, `runs` times: each in a fresh context (cold) or one tab reloaded.
    The first `warmup` loads are not counted (a warm series always skips its first, cold, load)."""
    warmup = max(warmup, 0 if cold else 1)
    probe = PROBE % (incidents, ".ct-grid")
    out: list[dict[str, float]] = []
    context = page = None
    for run in range(warmup + runs):
        if cold or context is None:
            context = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta", storage_state=session)
            context.add_init_script(probe)
            page = context.new_page()
            page.set_default_timeout(60_000)
        assert page is not None
        page.goto(base + "/calltaker", wait_until="commit")
        page.wait_for_function("() => window.__interactiveAt !== undefined", polling=50)
        timing = page.evaluate("""() => {
          const nav = performance.getEntriesByType("navigation")[0];
          const snap = performance.getEntriesByType("resource").find(e => e.name.includes("/api/v1/snapshot"));
          return {tti: window.__interactiveAt, html: nav.responseEnd, dcl: nav.domContentLoadedEventEnd,
                  snapshot: snap ? snap.duration : -1, store: Object.keys(Live.incidents).length};
        }""")
        if timing["store"] != incidents:
            raise RuntimeError(f"console shows {timing['store']} incidents, expected {incidents}")
        if run >= warmup:
            out.append(timing)
        if cold:
            context.close()
    if not cold and context is not None:
        context.close()
    return out


def console_ready(page: Any, incidents: int) -> None:
    page.wait_for_function("n => window.Live && Live.state === 'live' && Object.keys(Live.incidents).length >= n",
                           arg=incidents, polling=50)


def change_to_screen(browser: Any, base: str, ct_session: dict[str, Any], disp_session: dict[str, Any],
                     incidents: int, changes: int, rng: random.Random, regions: list[tuple[str, float, float]],
                     categories: list[str]) -> tuple[list[float], list[float], list[float], list[float], float]:
    """Delays (ms) from the call-taker's POST to the row on the dispatcher's board, the POST round trips, the
    delays to the event's arrival in the board's live store (before the board re-renders it), the delays to the
    dispatcher's new-incident alert on the board, and the board's main-thread time in long tasks per change
    (ms)."""
    ct_context = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta", storage_state=ct_session)
    disp_context = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta", storage_state=disp_session)
    try:
        sender, board = ct_context.new_page(), disp_context.new_page()
        for p in (sender, board):
            p.set_default_timeout(60_000)
        sender.goto(base + "/calltaker")
        board.goto(base + "/board")
        console_ready(sender, incidents)
        console_ready(board, incidents)
        board.wait_for_function("n => document.querySelectorAll('#board-incidents tr[data-number]').length >= n",
                                arg=incidents, polling=50)
        board.evaluate(WATCH_BOARD)
        delays: list[float] = []
        round_trips: list[float] = []
        to_store: list[float] = []
        alert_delays: list[float] = []
        busy_from = 0.0
        for i in range(changes + 2):
            if i == 2:
                busy_from = board.evaluate("window.__busy")
            result = sender.evaluate(CREATE, incident_body(rng, regions, categories, f"bench-change-{i}"))
            if not result["ok"]:
                raise RuntimeError(f"creating an incident from the console: {result['status']} {result['problem']}")
            board.wait_for_function("n => (window.__seen[n] || 0) > 0", arg=result["number"], polling=20,
                                    timeout=15_000)
            board.wait_for_function("n => (window.__alerted[n] || 0) > 0", arg=result["number"], polling=20,
                                    timeout=15_000)
            seen, applied, alerted = board.evaluate("n => [window.__seen[n], window.__applied[n], window.__alerted[n]]",
                                                    result["number"])
            if i >= 2:  # the first two warm up the path
                delays.append(seen - result["t0"])
                alert_delays.append(alerted - result["t0"])
                if applied:
                    to_store.append(applied - result["t0"])
                round_trips.append(result["t1"] - result["t0"])
            time.sleep(rng.uniform(0.2, 0.6))  # not in step with the consoles' 1 s tick
        busy = (board.evaluate("window.__busy") - busy_from) / changes
        return delays, round_trips, to_store, alert_delays, busy
    finally:
        ct_context.close()
        disp_context.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    require_chromium()
    from playwright.sync_api import sync_playwright

    rng = random.Random(112)
    with bench_database("siaga_bench_console") as url:
        units = add_units(url, args.units, rng)
        regions, categories = places(url)
        with server(url, workers=args.workers) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            try:
                ct = log_in(browser, base, "bench_ct", "calltaker")
                disp = log_in(browser, base, "bench_disp", "board")
                # Warm-up loads first: the server's workers and the browser start cold, and the baseline
                # (measured first) must not pay for that.
                empty_cold = load_times(browser, base, ct, 0, args.runs, cold=True, warmup=3)
                empty_warm = load_times(browser, base, ct, 0, args.runs, cold=False)
                add_incidents(base, args.incidents, rng, regions, categories)
                full_cold = load_times(browser, base, ct, args.incidents, args.runs, cold=True, warmup=1)
                full_warm = load_times(browser, base, ct, args.incidents, args.runs, cold=False)
                delays, round_trips, to_store, alert_delays, busy = change_to_screen(
                    browser, base, ct, disp, args.incidents, args.changes, rng, regions, categories)
                version = browser.version
            finally:
                browser.close()

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    tti = [r["tti"] for r in full_cold]
    base_tti = [r["tti"] for r in empty_cold]
    common = {"incidents": args.incidents, "units": units, "runs": args.runs, "workers": args.workers,
              "database": "postgresql", "browser": f"chromium {version}"}
    emit(BENCH, "calltaker_time_to_interactive_p50", statistics.median(tti), "ms", statistics.median(base_tti),
         target=2000, higher_is_better=False, cache="cold", html_ms=round(med(full_cold, "html"), 1),
         dom_content_loaded_ms=round(med(full_cold, "dcl"), 1), snapshot_ms=round(med(full_cold, "snapshot"), 1),
         baseline_is="same page, 0 open incidents", **common)
    emit(BENCH, "calltaker_time_to_interactive_p95", percentile(tti, 95), "ms", percentile(base_tti, 95),
         cache="cold", **common)
    emit(BENCH, "calltaker_time_to_interactive_warm_p50", med(full_warm, "tti"), "ms", med(empty_warm, "tti"),
         cache="warm (reload)", **common)
    change = {"changes": len(delays), "workers": args.workers, "incidents_on_board": f"{args.incidents}+",
              "board_long_tasks_ms_per_change": round(busy, 1), "database": "postgresql",
              "baseline_is": "the POST's own round trip"}
    emit(BENCH, "change_to_screen_p50", percentile(delays, 50), "ms", percentile(round_trips, 50),
         event_in_store_ms=percentile(to_store, 50), **change)
    emit(BENCH, "change_to_screen_p99", percentile(delays, 99), "ms", percentile(round_trips, 99),
         target=1000, higher_is_better=False, event_in_store_ms=percentile(to_store, 99), **change)
    emit(BENCH, "change_to_screen_max", max(delays), "ms", max(round_trips), **change)
    alert = {**change, "alert_is": "the dispatcher's new-incident alert in #alert-list (sound and desktop "
             "notification raised in the same call)"}
    emit(BENCH, "change_to_alert_p50", percentile(alert_delays, 50), "ms", percentile(round_trips, 50), **alert)
    emit(BENCH, "change_to_alert_p95", percentile(alert_delays, 95), "ms", percentile(round_trips, 95),
         target=1000, higher_is_better=False, **alert)


if __name__ == "__main__":
    main()
