"""The call-taker's screen by keyboard alone (issue #15): at 1366×768 a ringing call becomes a created incident
in at most 12 keypresses — A takes the call, the category is found by typing part of its name in a combobox
(Enter picks), Tab goes to the location before the optional questions, Enter picks the place, Ctrl+Enter
creates — and the create button is in view the whole time, without scrolling. Every keypress is counted in the
page itself (keydown events other than a bare modifier: Ctrl+Enter is one), and no pointer touches the page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_consoles import LIVE_MS, browse, offer_call, shot  # noqa: F401 (browse is a fixture)

MAX_KEYPRESSES = 12
SENGGORO = "14.03.01.2010"

COUNT_INPUT = """() => {
    window.__keys = []; window.__pointers = 0;
    window.addEventListener('keydown', e => {
        if (!['Control', 'Shift', 'Alt', 'Meta'].includes(e.key)) window.__keys.push(e.key);
    }, true);
    for (const kind of ['pointerdown', 'mousedown', 'click'])
        window.addEventListener(kind, e => { if (e.isTrusted) window.__pointers++; }, true);
}"""


def in_view(page, selector: str, width: int, height: int) -> bool:  # type: ignore[no-untyped-def]
    """The element is inside the viewport as the page stands (not scrolled) and not covered by anything."""
    box = page.locator(selector).bounding_box()
    if box is None or page.evaluate("window.scrollY") != 0:
        return False
    inside = box["y"] >= 0 and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width
    return inside and page.evaluate(
        f"document.elementFromPoint({box['x'] + box['width'] / 2}, {box['y'] + box['height'] / 2})"
        f"?.closest('{selector}') != null")


def test_a_ringing_call_becomes_an_incident_in_twelve_keypresses(browse, live_server, api, clock):  # noqa: F811
    width, height = 1366, 768
    ct = browse("ct", live_server, "/calltaker", viewport={"width": width, "height": height})
    ct.evaluate(COUNT_INPUT)
    call = offer_call(api, "kbd-call-1", "081234512345", clock.now().isoformat())  # no location from the network
    ct.wait_for_selector("#call-queue li:has-text('081234512345')", timeout=LIVE_MS)

    pressed: list[str] = []

    def press(key: str) -> None:
        pressed.append(key)
        ct.keyboard.press(key)

    def type_(text: str) -> None:
        for ch in text:
            press(ch)

    press("a")  # take the ringing call
    category = ct.get_by_role("combobox", name="Kategori", exact=True)
    expect(category).to_be_focused()
    expect(category).to_have_attribute("aria-controls", "category-list")

    type_("keb")  # part of its name, not its first letter
    expect(category).to_have_attribute("aria-expanded", "true")
    expect(category).to_have_attribute("aria-activedescendant", "category-opt-0")
    first = ct.locator("#category-opt-0")
    expect(first).to_have_attribute("aria-selected", "true")
    expect(first).to_contain_text("Kebakaran")
    expect(ct.get_by_role("listbox").get_by_role("option")).not_to_have_count(0)
    press("Enter")
    expect(category).to_have_value("Kebakaran")
    expect(category).to_have_attribute("aria-expanded", "false")
    ct.wait_for_selector(".questions .question")  # the optional questions are asked now, below
    assert in_view(ct, "#create-incident", width, height), "the create button is out of view at 1366×768"

    press("Tab")  # the location comes next, before the optional questions
    expect(ct.locator("#f-place")).to_be_focused()
    type_("seng")
    expect(ct.locator("#place-0")).to_contain_text("Senggoro")
    press("Enter")
    expect(ct.locator("#picked-place")).to_contain_text("Senggoro")
    assert in_view(ct, "#create-incident", width, height), "the create button is out of view at 1366×768"

    press("Control+Enter")
    created = ct.locator("#call-incident")
    expect(created).to_contain_text("Kejadian dibuat")
    shot(ct, "calltaker-keyboard-created")

    counted = ct.evaluate("window.__keys")
    assert len(counted) == len(pressed), (counted, pressed)  # the page saw exactly the keys sent
    assert len(pressed) <= MAX_KEYPRESSES, f"{len(pressed)} keypresses: {pressed}"
    assert ct.evaluate("window.__pointers") == 0  # keyboard only

    incident_id = api("ct").get(f"/api/v1/calls/{call['id']}").json()["incident_id"]
    assert incident_id is not None
    incident = api("disp").get(f"/api/v1/incidents/{incident_id}").json()
    assert incident["category_code"] == "kebakaran"
    assert incident["kode_wilayah"] == SENGGORO
    assert incident["priority"] == 1  # suggested by the category, not typed
    assert incident["number"] in created.inner_text()
    assert ct.js_errors == []  # type: ignore[attr-defined]


def test_the_category_combobox_finds_names_in_the_readers_language(browse, live_server):  # noqa: F811
    """In English, "house" finds the building fire (a subcategory picks its category too); ↓ on an empty field
    lists every category, Escape closes the list and keeps what was chosen; a name typed in full and left
    counts as picked; an emptied field clears the category."""
    page = browse("ct", live_server, "/calltaker")
    page.get_by_role("button", name="English").click()
    page.wait_for_function("REF.lang === 'en' && window.Live && Live.state === 'live'")
    page.click("details.manual summary")
    page.fill("#manual-number", "0812 3456 7000")
    page.click("details.manual button[type=submit]")
    category = page.get_by_role("combobox", name="Category", exact=True)
    expect(category).to_be_focused()
    page.keyboard.type("house")
    expect(page.locator("#category-opt-0")).to_contain_text("Building / house fire")
    page.keyboard.press("Enter")
    expect(category).to_have_value("Fire")
    expect(page.locator("#f-sub")).to_have_value("kebakaran.bangunan")

    page.keyboard.press("Control+a")
    page.keyboard.press("Backspace")
    page.keyboard.press("ArrowDown")  # every category
    expect(page.locator("#category-list [role=option]")).to_have_count(
        page.evaluate("REF.categories.filter(c => !c.parent).length"))
    page.keyboard.press("Escape")
    expect(category).to_have_attribute("aria-expanded", "false")
    expect(category).to_have_value("Fire")  # Escape changed nothing

    page.fill("#f-category", "medical emergency")
    page.keyboard.press("Tab")
    expect(category).to_have_value("Medical emergency")
    assert page.evaluate("Alpine.$data(document.getElementById('incident-form')).form.category_code") == "medis"
    page.fill("#f-category", "")
    page.keyboard.press("Tab")
    assert page.evaluate("Alpine.$data(document.getElementById('incident-form')).form.category_code") == ""
    assert page.js_errors == []  # type: ignore[attr-defined]
