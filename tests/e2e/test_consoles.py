"""The consoles end to end, in real browsers (Debian's chromium): a call arrives from the telephony side,
a call-taker turns it into an incident, and the dispatcher board, the agency console, the field unit's
phone and the wallboard follow it live in their own browser contexts until it is closed.
Screenshots of every screen are written to test-artifacts/screenshots/<backend>/."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import BACKEND, PASSWORD

ARTIFACTS = Path(os.environ.get("SIAGA_ARTIFACTS", "test-artifacts")) / "screenshots" / BACKEND
LIVE_MS = 5_000  # "within a second" is measured by benchmarks/console_live.py; here: it arrives without reload


@pytest.fixture
def browse(browser, live_server):  # type: ignore[no-untyped-def]
    """Open a logged-in browser context for a user: browse('ct', live_server) -> page. Closed before
    the server stops (it depends on live_server), so no console stream outlives its server."""
    contexts = []

    def open_as(username: str, base: str, path: str = "/", viewport: dict | None = None, lang: str = "id-ID"):
        context = browser.new_context(locale=lang, timezone_id="Asia/Jakarta",
                                      viewport=viewport or {"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.js_errors = errors  # type: ignore[attr-defined]
        page.goto(f"{base}/?next={path}")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(re.compile(re.escape(base + path.split("?")[0])))
        page.wait_for_function("window.Live && Live.state === 'live'")
        return page

    yield open_as
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def offer_call(api, ref: str, number: str, at: str, lat: float | None = None, lon: float | None = None,
               accuracy: float | None = None, valid: bool = True) -> dict:
    body = {"event_id": f"{ref}-offered", "call_ref": ref, "type": "offered", "at": at, "caller_number": number}
    if lat is not None or not valid:
        body["location"] = {"source": "pidf_lo", "lat": lat, "lon": lon, "accuracy_m": accuracy, "valid": valid,
                            "invalid_reason": "" if valid else "garbled PIDF-LO"}
    r = api("phone").post("/api/v1/call-events", json=body)
    assert r.status_code in (200, 201), r.text
    ring = api("phone").post("/api/v1/call-events", json={**{k: v for k, v in body.items() if k != "location"},
                                                          "event_id": f"{ref}-ringing", "type": "ringing"})
    assert ring.status_code in (200, 201), ring.text
    return ring.json()["call"]


def choose_category(page, code: str, typed: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Type into the call-taker's category combobox (by default the category's whole name) and pick `code`
    from the list it shows."""
    if typed is None:
        typed = page.evaluate("code => Siaga.categoryName(code)", code)
    page.fill("#f-category", typed)
    page.click(f"#category-list li[data-code='{code}']")
    page.wait_for_function("code => Alpine.$data(document.getElementById('incident-form')).form.category_code"
                           " === (Siaga.byCode[code].parent || code)", arg=code)


def test_call_to_closure_across_every_console(browse, live_server, api, clock):
    base = live_server
    now = clock.now().isoformat()
    damkar = next(a for a in api("admin").get("/api/v1/agencies").json() if a["code"] == "DAMKAR")
    pumper = next(u for u in api("admin").get("/api/v1/units").json() if u["callsign"] == "DMK-BKS-01")

    board = browse("disp", base, "/board")
    agency = browse("damkar", base, "/agency", viewport={"width": 390, "height": 844})  # a phone
    wall = browse("sup", base, "/wallboard", viewport={"width": 1920, "height": 1080})
    ct = browse("ct", base, "/calltaker")
    open_before = int(wall.locator("#wb-open .value").inner_text())

    # A call rings: the queue shows it live; the wallboard counts it waiting.
    offer_call(api, "e2e-call-1", "081234567890", now, lat=1.4650, lon=102.1050, accuracy=150)
    ct.wait_for_selector("#call-queue li:has-text('081234567890')", timeout=LIVE_MS)
    wall.wait_for_function("document.querySelector('#wb-waiting .value').innerText === '1'", timeout=LIVE_MS)
    shot(ct, "calltaker-ringing")

    # One key takes it; the form is ready for the keyboard.
    ct.keyboard.press("a")
    ct.wait_for_selector("#active-call .caller:has-text('081234567890')")
    assert ct.evaluate("document.activeElement.id") == "f-category"
    ct.wait_for_selector("#call-queue li", state="detached")
    wall.wait_for_function("document.querySelector('#wb-waiting .value').innerText === '0'", timeout=LIVE_MS)

    # The caller's fix (just off the harbour of Bengkalis town) is placed against the official boundaries:
    # in no desa, so no desa is filled in, and the nearest one is named with its distance.
    ct.wait_for_selector("#place-at:has-text('Tidak di desa mana pun')")
    assert "m ke Kelurahan Bengkalis Kota" in ct.locator("#place-at").inner_text()
    # A click on the map inside the town fills the desa and says where it is.
    x, y = ct.evaluate("""() => {
        const c = Alpine.$data(document.getElementById('map').closest('[x-data]'));
        const p = c.map.map.latLngToContainerPoint([1.469087, 102.110580]);
        return [p.x, p.y]; }""")
    ct.locator("#map").click(position={"x": x, "y": y})
    ct.wait_for_selector("#place-at:has-text('Kelurahan Bengkalis Kota, Kec. Bengkalis')")
    assert "Bengkalis Kota" in ct.locator("#picked-place").inner_text()
    ct.locator("#f-category").focus()

    # Creating without a category shows the error next to the field, in Indonesian.
    ct.keyboard.press("Control+Enter")
    assert ct.locator("#e-category").inner_text() == "Wajib diisi"

    choose_category(ct, "kebakaran")
    ct.wait_for_selector(".questions .question")
    first_yes = ct.locator(".questions .question input[value=yes]").first
    first_yes.check()
    ct.fill("#f-place", "Senggo")
    ct.wait_for_selector("#place-list li")
    ct.keyboard.press("Enter")
    assert "Senggoro" in ct.locator("#picked-place").inner_text()
    ct.fill("#f-address", "Jl. Senggoro ujung")
    ct.fill("#f-patokan", "dekat SD Negeri 5")
    ct.fill("#f-description", "Rumah kayu terbakar, api besar")
    assert ct.locator("input[name=priority]:checked").count() == 1  # a priority is suggested
    shot(ct, "calltaker-form")

    # The network fails on save: nothing typed is lost; the retry creates exactly one incident.
    ct.route("**/api/v1/incidents", lambda route: route.abort())
    ct.keyboard.press("Control+Enter")
    ct.wait_for_selector("#incident-form .error:visible")
    assert ct.locator("#f-address").input_value() == "Jl. Senggoro ujung"
    ct.unroute("**/api/v1/incidents")
    ct.reload()
    ct.wait_for_function("window.Live && Live.state === 'live'")
    ct.wait_for_selector("#active-call")
    assert ct.locator("#f-address").input_value() == "Jl. Senggoro ujung"  # kept across a reload too
    ct.locator("#f-description").focus()
    ct.keyboard.press("Control+Enter")
    ct.wait_for_selector("#call-incident:visible, #incident-form .error:visible")
    assert not ct.locator("#incident-form .error").is_visible(), ct.locator("#incident-form .error").inner_text()
    number = re.search(r"BKS-\d{4}-\d{6}", ct.locator("#call-incident").inner_text()).group(0)

    # The dispatcher board shows it without a reload.
    board.wait_for_selector(f"#board-incidents tr[data-number='{number}']", timeout=LIVE_MS)
    row = board.locator(f"#board-incidents tr[data-number='{number}']")
    assert "Kebakaran" in row.inner_text() and "Bengkalis" in row.inner_text()
    shot(board, "board")

    # The call-taker records the outcome and closes the call.
    assert ct.locator("#f-outcome").input_value() == "emergency"
    ct.click("#close-call button[type=submit]")
    ct.wait_for_selector("#no-call:visible")
    shot(ct, "calltaker-done")

    # The dispatcher opens the incident and sends it to Damkar.
    board.click(f"#board-incidents tr[data-number='{number}'] a")
    board.wait_for_selector("#assign-agency")
    board.select_option("#agency-pick", str(damkar["id"]))
    board.click("#assign-agency button[type=submit]")
    board.wait_for_selector(".assignment[data-agency='Damkar']")
    incident_url = board.url

    # The agency console (a phone) sees it arrive, acknowledges, sends a unit.
    card = agency.locator(f".incident-card[data-number='{number}']")
    card.wait_for(timeout=LIVE_MS)
    assert "Diberitahu" in card.inner_text()
    shot(agency, "agency-notified")
    card.get_by_role("button", name="Terima").click()
    card.locator(".assignment:has-text('Diterima')").wait_for()
    card.locator("select[id^=unit-pick]").select_option(str(pumper["id"]))
    card.get_by_role("button", name="Kirim").click()
    card.locator(".assignment:has-text('DMK-BKS-01')").wait_for()
    board.wait_for_selector(".assignment[data-agency='Damkar']:has-text('DMK-BKS-01')", timeout=LIVE_MS)

    # The field unit's phone: the assignment, navigation, big buttons.
    field = agency.context.new_page()
    field.js_errors = []
    field.on("pageerror", lambda e: field.js_errors.append(str(e)))
    field.on("console", lambda m: field.js_errors.append(m.text) if "Content Security Policy" in m.text else None)
    field.goto(f"{base}/field?unit={pumper['id']}")
    field.wait_for_function("window.Live && Live.state === 'live'")
    field.wait_for_selector(f"#field-assignment:has-text('{number}')")
    assert "dekat SD Negeri 5" in field.locator("#field-assignment").inner_text()
    # Navigation that needs no internet: a geo: URI the phone's map app opens; the web map beside it.
    href = field.locator("#field-assignment a.nav-btn").get_attribute("href")
    assert href.startswith("geo:") and href.endswith(f"({number})")
    assert "google.com/maps/dir" in field.locator("#field-assignment a.web-nav").get_attribute("href")
    shot(field, "field-unit")
    for button, status in (("BERANGKAT", "en_route"), ("TIBA DI LOKASI", "on_scene")):
        field.get_by_role("button", name=button).click()
        field.wait_for_selector(f"#unit-status[data-status={status}]")
    board.wait_for_selector("#incident-status:has-text('Di lokasi')", timeout=LIVE_MS)
    # A note over the limit is refused with the field named and its limit, and what the crew typed stays.
    long_note = "Api menjalar ke rumah sebelah. " * 170  # 5,270 characters; a note holds 5,000
    field.fill("#field-note", long_note)
    field.locator("#field-note").press("Enter")
    error = field.locator("p.error[role=alert]")
    expect(error).to_contain_text("Teks: Terlalu panjang: paling banyak 5000 karakter")
    assert field.input_value("#field-note") == long_note
    field.fill("#field-note", "")
    field.get_by_role("button", name="SELESAI").click()
    field.wait_for_selector("#unit-status[data-status=returning]")
    field.wait_for_selector("#no-assignment:visible")

    # The agency clears its assignment with an outcome note.
    card.locator("input[id^=text-as]").fill("Api padam, 1 rumah rusak berat")
    card.get_by_role("button", name="Selesai (tutup penugasan)").click()
    board.wait_for_selector(".assignment[data-agency='Damkar']:has-text('Selesai')", timeout=LIVE_MS)

    # The dispatcher resolves and closes it; it leaves the agency console and the wallboard's count.
    board.goto(incident_url)
    board.wait_for_function("window.Live && Live.state === 'live'")
    board.wait_for_selector("#timeline li")
    timeline = board.locator("#timeline").inner_text()
    assert "DMK-BKS-01" in timeline and "Api padam" in timeline
    assert re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d WIB", timeline)
    board.fill("#status-note", "Selesai ditangani Damkar")
    board.get_by_role("button", name="Tandai selesai ditangani").click()
    board.wait_for_selector("#incident-status:has-text('Selesai ditangani')")
    board.get_by_role("button", name="Tutup kejadian").click()
    board.wait_for_selector("#incident-status:has-text('Ditutup')")
    shot(board, "incident-closed")
    card.wait_for(state="detached", timeout=LIVE_MS)
    wall.wait_for_function(f"document.querySelector('#wb-open .value').innerText === '{open_before}'",
                           timeout=LIVE_MS)
    assert wall.locator("#wb-sl .value").inner_text() == "100%"
    shot(wall, "wallboard")
    for page in (ct, board, agency, wall, field):
        assert page.js_errors == []


def test_link_a_second_call_to_the_same_incident(browse, live_server, api, clock):
    """A second caller reports the same fire: the duplicate is offered and one click links the call."""
    existing = api("ct").post("/api/v1/incidents", json={
        "category_code": "kebakaran", "lat": 1.4660, "lon": 102.1040, "address_text": "Pasar Terubuk"}).json()
    offer_call(api, "e2e-dup", "082211112222", clock.now().isoformat(), lat=1.4662, lon=102.1043, accuracy=60)
    ct = browse("ct", live_server, "/calltaker")
    ct.wait_for_selector("#call-queue li:has-text('082211112222')")
    ct.keyboard.press("a")
    ct.wait_for_selector("#active-call")
    choose_category(ct, "kebakaran")
    dup = ct.locator("#duplicates li", has_text=existing["number"])
    dup.wait_for()
    assert "m ·" in dup.inner_text()  # distance from the caller
    dup.get_by_role("button").click()
    ct.wait_for_selector(f"#call-incident:has-text('{existing['number']}')")
    shot(ct, "calltaker-duplicate-linked")
    calls = api("disp").get(f"/api/v1/incidents/{existing['id']}").json()["call_ids"]
    assert len(calls) == 1


def test_a_drill_call_says_so_in_the_queue_and_on_the_call(browse, live_server, api, clock):
    """`siaga simulate --live` sends its calls marked simulated: the call-taker handles them like any other,
    and sees that it is a drill; a real call next to it says nothing of the kind."""
    for ref, number, simulated in (("e2e-drill", "085500001111", True), ("e2e-real", "085500002222", False)):
        r = api("phone").post("/api/v1/call-events", json={
            "event_id": f"{ref}-offered", "call_ref": ref, "type": "offered", "at": clock.now().isoformat(),
            "caller_number": number, "simulated": simulated})
        assert r.status_code == 201, r.text
    ct = browse("ct", live_server, "/calltaker")
    drill = ct.wait_for_selector("#call-queue li:has-text('085500001111')")
    real = ct.wait_for_selector("#call-queue li:has-text('085500002222')")
    assert "LATIHAN" in drill.inner_text() and "LATIHAN" not in real.inner_text()
    drill.query_selector("button").click()
    ct.wait_for_selector("#call-drill:visible")
    assert "panggilan simulasi" in ct.inner_text("#call-drill")


def test_garbled_location_still_answered_and_flagged(browse, live_server, api, clock):
    offer_call(api, "e2e-garbled", "083300001111", clock.now().isoformat(), valid=False)
    ct = browse("ct", live_server, "/calltaker")
    ct.wait_for_selector("#call-queue li:has-text('083300001111')")
    ct.keyboard.press("a")
    ct.wait_for_selector("#active-call .warn:has-text('Lokasi dari jaringan rusak')")


def test_reconnecting_is_visible_and_nothing_is_missed(browse, live_server, api):
    board = browse("disp", live_server, "/board")
    assert not board.locator("#stale-banner").is_visible()
    board.context.set_offline(True)
    board.evaluate("Live.source && Live.source.close(); Live.connect()")  # the drop, as the browser sees it
    board.wait_for_selector("#stale-banner:visible")
    assert "menyambung ulang" in board.locator("#conn").inner_text()
    created = api("ct").post("/api/v1/incidents", json={"category_code": "bencana_alam",
                                                         "address_text": "Desa Sebauk"}).json()
    board.context.set_offline(False)
    board.wait_for_selector(f"#board-incidents tr[data-number='{created['number']}']", timeout=20_000)
    board.wait_for_selector("#stale-banner", state="hidden")


def test_english_consoles(browse, live_server):
    """Every screen in English once the user picks it; the choice is stored and followed on the next page."""
    page = browse("sup", live_server, "/board")
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("h1:has-text('Open incidents')")
    for path, text in (("/calltaker", "Incoming calls"), ("/board", "Units by status"),
                       ("/wallboard", "Calls waiting"), ("/field", "Choose your unit")):
        page.goto(live_server + path)
        page.wait_for_selector(f"text={text}")
        shot(page, "en" + path.replace("/", "-"))
    page.get_by_role("button", name="Bahasa Indonesia").click()
    page.wait_for_selector("text=Pilih unit Anda")


def test_agency_sees_only_its_own_incidents(browse, live_server, api):
    dinkes = next(a for a in api("admin").get("/api/v1/agencies").json() if a["code"] == "DINKES")
    theirs = api("disp").post("/api/v1/incidents", json={"category_code": "medis", "address_text": "Duri"}).json()
    other = api("disp").post("/api/v1/incidents", json={"category_code": "kebakaran", "address_text": "Rupat"}).json()
    api("disp").post(f"/api/v1/incidents/{theirs['id']}/assignments", json={"agency_id": dinkes["id"]})
    page = browse("dinkes", live_server, "/agency")
    page.wait_for_selector(f".incident-card[data-number='{theirs['number']}']")
    assert page.locator(f".incident-card[data-number='{other['number']}']").count() == 0
    page.goto(f"{live_server}/incident/{other['id']}")
    assert page.locator("h1").inner_text() == "403 / 404"
    page.goto(f"{live_server}/board")
    assert page.locator("h1").inner_text() == "403 / 404"


def test_consoles_work_at_200_percent_zoom_and_keep_labels(browse, live_server):
    """At 200 % zoom (half the CSS width) the call-taker screen is one column, and every form control
    has an accessible name."""
    page = browse("ct", live_server, "/calltaker", viewport={"width": 720, "height": 900})
    page.evaluate("document.body.style.zoom = '2'")
    page.click("details.manual summary")
    page.fill("#manual-number", "081200000001")
    page.click("details.manual button[type=submit]")
    page.wait_for_selector("#incident-form")
    unlabeled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !el.getAttribute('aria-labelledby'))
        .map(el => el.outerHTML.slice(0, 80))""")
    assert unlabeled == []
    shot(page, "calltaker-zoom200")


def test_caller_hanging_up_keeps_the_call_until_its_outcome_is_recorded(browse, live_server, api, clock):
    offer_call(api, "e2e-hangup", "084400002222", clock.now().isoformat())
    ct = browse("ct", live_server, "/calltaker")
    ct.wait_for_selector("#call-queue li:has-text('084400002222')")
    ct.keyboard.press("a")
    ct.wait_for_selector("#active-call")
    ct.fill("#f-address", "Jl. Hangtuah")
    ct.locator("#f-address").blur()
    ended = api("phone").post("/api/v1/call-events", json={
        "event_id": "e2e-hangup-ended", "call_ref": "e2e-hangup", "type": "ended", "at": clock.now().isoformat()})
    assert ended.status_code in (200, 201)
    ct.wait_for_selector("#active-call .caller:has-text('Selesai')")  # still here, marked ended
    ct.reload()
    ct.wait_for_selector("#active-call .caller:has-text('084400002222')")
    assert ct.locator("#f-address").input_value() == "Jl. Hangtuah"
    ct.click("#close-call button[type=submit]")
    assert ct.locator("#e-outcome").inner_text() == "Pilih hasil panggilan sebelum menutup."
    ct.select_option("#f-outcome", "ghost")
    ct.click("#close-call button[type=submit]")  # a silent call: the protocol comes first
    ct.wait_for_selector("#e-outcome:has-text('Mendengarkan suara latar')")
    for box in ct.locator("#ghost-protocol input[type=checkbox]").all():
        box.check()
    ct.click("#close-call button[type=submit]")
    ct.wait_for_selector("#no-call:visible")
    ct.wait_for_selector("#callbacks li:has-text('+6284400002222')")  # a silent call goes on the callback list
    ct.reload()
    ct.wait_for_selector("#no-call:visible")


def test_response_plan_and_escalation_in_the_browser(browse, live_server, api, clock, engine, settings):
    """The dispatcher sends the plan's agencies with one button; a missed deadline shows on the board."""
    from siaga.domains.dispatch.escalation import fire_due

    incident = api("ct").post("/api/v1/incidents", json={
        "category_code": "kebakaran", "priority": 1,
        "answers": {"kebakaran.korban": True, "kebakaran.bahan_berbahaya": True}}).json()
    board = browse("sup", live_server, "/board")
    disp = browse("disp", live_server, f"/incident/{incident['id']}")
    disp.wait_for_selector("#plan label:has-text('Damkar')")
    disp.wait_for_function("document.querySelectorAll('#plan input:checked').length === 3")  # Damkar, BPBD, Dinkes
    disp.get_by_role("button", name="Kirim ke instansi terpilih").click()
    disp.wait_for_selector("#assignments .assignment >> nth=2")
    disp.wait_for_function("document.querySelectorAll('#plan input:disabled').length === 3")
    row = board.locator(f"#board-incidents tr[data-number='{incident['number']}']")
    # The row was on the board before the agencies were sent: wait for it to change, not just to exist
    expect(row).to_contain_text("terima", timeout=LIVE_MS)  # each agency's acknowledge deadline counts down
    clock.advance(seconds=61)
    assert fire_due(engine, clock, settings) == 3
    board.wait_for_selector(f"#board-incidents tr.overdue[data-number='{incident['number']}']", timeout=LIVE_MS)
    expect(row).to_contain_text("⚠", timeout=LIVE_MS)
    disp.wait_for_selector("#assignments .chip.overdue")
    shot(board, "board-escalated")
    shot(disp, "incident-plan")


def test_admin_edits_the_response_plan_in_the_browser(browse, live_server, api):
    page = browse("admin", live_server, "/plan")
    page.wait_for_selector("#rules tbody tr")
    page.wait_for_selector("#findings li:has-text('lainnya')")  # "other" has no base rule: reported
    page.click("#rule-form button[type=submit]")  # nothing filled in
    page.wait_for_selector("#rule-form .error:visible")
    assert page.locator("#rule-form .field-error:visible").count() >= 1
    page.fill("#r-name", "Lainnya → Satpol PP")
    page.select_option("#r-category", "lainnya")
    page.locator("#rule-form label:has-text('Satpol PP') input").check()
    page.click("#rule-form button[type=submit]")
    page.wait_for_selector("#rules td:has-text('Lainnya → Satpol PP')")
    page.wait_for_selector("#findings li:has-text('lainnya')", state="detached")
    incident = api("ct").post("/api/v1/incidents", json={"category_code": "lainnya"}).json()
    codes = {a["code"] for a in api("disp").get(f"/api/v1/incidents/{incident['id']}/proposal").json()["agencies"]}
    assert codes == {"SATPOLPP"}
    shot(page, "plan")
    supervisor = browse("sup", live_server, "/plan")
    supervisor.wait_for_selector("#rules tbody tr")
    assert not supervisor.locator("#rule-form").is_visible()  # supervisors read, admins edit



def test_an_incident_without_a_location_says_so_until_it_is_set(browse, live_server, api):
    """An emergency is never refused for want of a place, but no screen lets it pass unnoticed: the board,
    the incident page and the agency console show "Lokasi belum diketahui" until a location is set, and
    drop it live when one is."""
    dinkes = next(a for a in api("admin").get("/api/v1/agencies").json() if a["code"] == "DINKES")
    nowhere = api("disp").post("/api/v1/incidents", json={"category_code": "medis"}).json()
    somewhere = api("disp").post("/api/v1/incidents", json={"category_code": "medis", "address_text": "Duri"}).json()
    api("disp").post(f"/api/v1/incidents/{nowhere['id']}/assignments", json={"agency_id": dinkes["id"]})
    board = browse("disp", live_server, "/board")
    row = board.locator(f"tr:has-text('{nowhere['number']}') .no-location")
    row.wait_for()
    assert row.inner_text() == "Lokasi belum diketahui"
    assert not board.locator(f"tr:has-text('{somewhere['number']}') .no-location").is_visible()
    agency = browse("dinkes", live_server, "/agency")
    agency.locator(f".incident-card[data-number='{nowhere['number']}'] .no-location").wait_for()
    page = browse("disp", live_server, f"/incident/{nowhere['id']}")
    page.locator(".no-location").wait_for()

    api("disp").patch(f"/api/v1/incidents/{nowhere['id']}", json={"kode_wilayah": "14.03.01.1001",
                                                                    "version": nowhere["version"]}).raise_for_status()
    row.wait_for(state="hidden", timeout=LIVE_MS)
    agency.locator(f".incident-card[data-number='{nowhere['number']}'] .no-location").wait_for(
        state="hidden", timeout=LIVE_MS)
    page.locator(".no-location").wait_for(state="hidden", timeout=LIVE_MS)


def test_a_mistyped_manual_number_is_refused_in_words(browse, live_server):
    """A number typed by hand that is no number ("abc") is refused with how to write one, in Bahasa
    Indonesia; the call-taker corrects it and the call is recorded."""
    page = browse("ct", live_server, "/calltaker")
    page.click("details.manual summary")
    page.fill("#manual-number", "abc")
    page.click("details.manual button[type=submit]")
    page.get_by_text("Bukan nomor telepon: tulis seperti 0812 3456 7890").wait_for()
    assert page.locator("#incident-form").count() == 0
    page.fill("#manual-number", "0812 3456 7890")
    page.click("details.manual button[type=submit]")
    page.wait_for_selector("#incident-form")


@pytest.mark.parametrize(("where", "first"), [((1.4662, 102.1043), "Masjid Agung Istiqomah Bengkalis"),
                                              ((1.2900, 101.2300), "Masjid Agung Duri")])
def test_place_search_offers_the_place_nearest_the_caller_first(browse, live_server, api, clock, where, first):
    """Two patokan answer "Masjid Agung", 100 km apart: the one near the caller's fix comes first."""
    number = f"0822333{int(where[1] * 100):05d}"
    offer_call(api, f"e2e-near-{where[1]}", number, clock.now().isoformat(), lat=where[0], lon=where[1], accuracy=80)
    ct = browse("ct", live_server, "/calltaker")
    ct.wait_for_selector(f"#call-queue li:has-text('{number}')")
    ct.keyboard.press("a")
    ct.wait_for_selector("#active-call")
    ct.fill("#f-place", "masjid agung")
    ct.dispatch_event("#f-place", "input")
    ct.wait_for_selector("#place-list li")
    assert ct.locator("#place-list li").first.inner_text().startswith(first)


def test_the_wallboard_counts_late_incidents_and_its_operators_as_the_header_does(browse, live_server, api, clock):
    """The wallboard's late tile follows the board's own rule (an assignment past its deadline); its
    operator count is the one the header shows."""
    damkar = next(a for a in api("admin").get("/api/v1/agencies").json() if a["code"] == "DAMKAR")
    fire = api("disp").post("/api/v1/incidents", json={"category_code": "kebakaran", "address_text": "Pasar"}).json()
    api("disp").post(f"/api/v1/incidents/{fire['id']}/assignments", json={"agency_id": damkar["id"]}).raise_for_status()
    wall = browse("sup", live_server, "/wallboard", viewport={"width": 1920, "height": 1080})
    assert wall.locator("#wb-late .value").inner_text() == "0"
    clock.advance(seconds=3600)  # nobody acknowledged it in an hour
    wall.reload()
    wall.wait_for_function("document.querySelector('#wb-late .value').innerText === '1'", timeout=LIVE_MS)
    assert "alert" in wall.locator("#wb-late").get_attribute("class")
    wall.wait_for_function("document.querySelector('#wb-operators .value').innerText !== '—'", timeout=LIVE_MS)
    # No operator phones in this centre (the phone case: tests/integration/test_wallboard.py): consoles open
    # are counted and the tile says so; the header, which speaks of phones, shows no count to disagree with.
    assert api("sup").get("/api/v1/telephony/status").json()["lines"] == []
    assert wall.locator("#wb-operators .sub").inner_text() == "konsol terbuka"
    assert not wall.locator("#tel-on-duty").is_visible()


def test_text_over_its_limit_is_refused_with_the_limit_never_cut(browse, live_server):
    """A description pasted longer than the 5,000 characters an incident keeps is not cut short by the field:
    saving is refused next to the field with the limit, and everything typed is still there to shorten."""
    page = browse("ct", live_server, "/calltaker")
    page.click("details.manual summary")
    page.fill("#manual-number", "0812 3456 7890")
    page.click("details.manual button[type=submit]")
    page.wait_for_selector("#incident-form")
    choose_category(page, "kebakaran")
    long_text = "Rumah kayu terbakar. " * 250  # 5,250 characters
    page.fill("#f-description", long_text)
    assert page.locator("#f-description").input_value() == long_text  # nothing cut while typing
    page.keyboard.press("Control+Enter")
    page.get_by_text("Terlalu panjang: paling banyak 5000 karakter").wait_for()
    assert page.locator("#f-description").input_value() == long_text
