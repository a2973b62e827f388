"""Quality review in a browser: a supervisor finds a sampled call in the "Tinjauan mutu" queue (a prank, with
why it was sampled), reviews it against the checklist, a second supervisor who opened the same call earlier
is told in words that it was reviewed meanwhile, and the call-taker reads the feedback on their own console
page, the phone number in the comment masked."""

from __future__ import annotations

from tests.e2e.test_consoles import browse, shot  # noqa: F401  (browse is a fixture)
from tests.integration.test_quality_review import _calls, _ids_not_random


def test_supervisor_reviews_a_sampled_call_and_the_call_taker_reads_it(browse, live_server, engine):  # noqa: F811
    quick, prank = _ids_not_random(2, start=5000)
    _calls(engine, [(quick, 30, 3, "emergency", "ct", "ended"), (prank, 20, 4, "prank", "ct", "ended")])

    sup = browse("sup", live_server, "/qa")
    row = sup.locator(f"#qa-call-{prank}")
    assert "Iseng" in row.locator(".qa-reasons").inner_text()
    assert sup.locator(f"#qa-call-{quick}").count() == 0  # a quick genuine call outside the random share
    # A second supervisor's screen opens the same call before the first one saves.
    other = browse("sup", live_server, f"/qa/call/{prank}")
    row.locator(".qa-review-link").click()
    sup.wait_for_url(f"**/qa/call/{prank}")
    assert sup.inner_text("#qa-why").strip() == "Iseng"
    for item in ("greeting", "address_confirmed", "right_category"):
        sup.check(f"#qa-item-{item} input[value=pass]")
    sup.check("#qa-item-callback_confirmed input[value=fail]")
    sup.click("#qa-save")
    # every active item needs a result: the missing one is named next to it
    sup.wait_for_selector("[data-error-for='results.instructions_given']:not(:empty)")
    assert sup.locator("#qa-saved").is_hidden()
    sup.check("#qa-item-instructions_given input[value=na]")
    sup.fill("#qa-comment", "Nomor balik 0812-3456-7890 tidak diulang ke penelepon.")
    sup.click("#qa-save")
    sup.wait_for_selector("#qa-saved:visible")
    assert sup.input_value("#qa-comment") == "Nomor balik ****890 tidak diulang ke penelepon."
    assert sup.inner_text("#qa-reviewed-by") == "Peninjau: Test sup · Skor: 75,0%"
    shot(sup, "qa-review")

    other.check("#qa-item-greeting input[value=fail]")
    for item in ("address_confirmed", "callback_confirmed", "right_category", "instructions_given"):
        other.check(f"#qa-item-{item} input[value=pass]")
    other.click("#qa-save")
    other.wait_for_selector("#qa-conflict:visible")
    assert "Supervisor lain sudah meninjau panggilan ini" in other.inner_text("#qa-conflict-text")
    other.click("#qa-reload")
    other.wait_for_selector("#qa-reviewed-by")
    assert other.inner_text("#qa-score") == "75,0%"  # the first review stands; this screen now shows it

    sup.goto(f"{live_server}/qa")
    assert sup.locator(f"#qa-call-{prank}").count() == 0
    assert sup.locator(f"#qa-reviewed-{prank}").count() == 1

    ct = browse("ct", live_server, "/feedback")
    entry = ct.locator(f"#feedback-{prank}")
    assert entry.locator(".qa-feedback-score").inner_text() == "75,0%"
    assert "Nomor balik dikonfirmasi: Gagal" in entry.locator(".qa-feedback-items").inner_text()
    assert entry.locator(".qa-feedback-comment").inner_text() == "Nomor balik ****890 tidak diulang ke penelepon."
    shot(ct, "qa-feedback")
    assert sup.js_errors == [] and other.js_errors == [] and ct.js_errors == []
