"""Guided questions in the browser: the admin edits them on the plan page (reword, add, move, stop asking),
and the call-taker, with a call open on that category, asks what was saved without reloading."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_consoles import LIVE_MS, choose_category, offer_call, shot
from tests.e2e.test_consoles import browse as browse  # noqa: F401  (the fixture, shared)


def saved(page, action, method: str = "PUT", path: str = "/api/v1/"):  # type: ignore[no-untyped-def]
    """Do `action` and return the status of the API write it makes."""
    with page.expect_response(lambda r: path in r.url and r.request.method == method) as response:
        action()
    return response.value.status


def test_the_admin_edits_the_questions_and_the_call_taker_asks_them(browse, live_server, api, clock):
    ct = browse("ct", live_server, "/calltaker")
    offer_call(api, "e2e-gq-1", "081277770001", clock.now().isoformat())
    ct.wait_for_selector("#call-queue li:has-text('081277770001')", timeout=LIVE_MS)
    ct.keyboard.press("a")
    ct.wait_for_selector("#active-call .caller:has-text('081277770001')")
    choose_category(ct, "kebakaran")
    asked = ct.locator(".questions .question .q-text")
    expect(asked.filter(has_text="Apakah ada korban luka atau luka bakar?")).to_have_count(1)
    expect(asked.filter(has_text="Apa yang terbakar?")).to_have_count(1)

    admin = browse("admin", live_server, "/plan")
    admin.select_option("#q-category", "kebakaran")
    item = admin.locator("#question-list li[data-question='kebakaran.korban']")
    # Reworded: saved, and the call-taker's open form asks the new words at once.
    item.locator(".q-text-id").fill("Ada yang terluka atau kena luka bakar?")
    assert saved(admin, lambda: item.locator(".q-save").click()) == 200
    expect(item.locator(".q-saved")).to_be_visible()
    expect(asked.filter(has_text="Ada yang terluka atau kena luka bakar?")).to_have_count(1, timeout=LIVE_MS)
    expect(asked.filter(has_text="Apakah ada korban luka atau luka bakar?")).to_have_count(0)
    # An empty question is refused next to the question, and nothing is stored.
    item.locator(".q-text-id").fill("  ")
    assert saved(admin, lambda: item.locator(".q-save").click()) == 422
    expect(item.locator(".field-error")).to_contain_text("Terlalu pendek")
    # Retiring the question a response rule needs is refused, naming the rule.
    trapped = admin.locator("#question-list li[data-question='kebakaran.terjebak']")
    trapped.locator(".q-active").uncheck()
    assert saved(admin, lambda: trapped.locator(".q-save").click()) == 409
    expect(trapped.locator(".field-error")).to_contain_text("terjebak")
    # A question no rule needs stops being asked.
    what = admin.locator("#question-list li[data-question='kebakaran.objek']")
    what.locator(".q-active").uncheck()
    assert saved(admin, lambda: what.locator(".q-save").click()) == 200
    expect(what).to_have_class("q-item retired")
    # A new question, raising the priority to P1 on 'yes', then moved up one place; the refused change
    # above stays on screen as typed (the checkbox still unticked) for the admin to fix.
    admin.fill("#nq-id", "kebakaran.rentan")
    admin.fill("#nq-text-id", "Apakah ada anak-anak atau lansia di dalam?")
    admin.fill("#nq-text-en", "Are there children or elderly people inside?")
    admin.select_option("#nq-raise-to", "1")
    assert saved(admin, lambda: admin.click("#question-form button[type=submit]"), "POST") == 201
    new = admin.locator("#question-list li[data-question='kebakaran.rentan']")
    expect(new).to_be_visible()
    expect(trapped.locator(".q-active")).not_to_be_checked()
    order = admin.locator("#question-list li").evaluate_all("els => els.map(e => e.dataset.question)")
    assert order[-1] == "kebakaran.rentan"
    assert saved(admin, lambda: new.locator(".q-up").click()) == 200
    expect(admin.locator("#question-list li").nth(len(order) - 2)).to_have_attribute("data-question",
                                                                                      "kebakaran.rentan")
    shot(admin, "plan-questions")

    # The call-taker asks exactly what the database holds, in its order: the retired one gone, the new one
    # before the last, and answering it suggests P1.
    expected = [q["question"]["text_id"] for q in api("admin").get(
        "/api/v1/guided-questions?category_code=kebakaran").json() if q["active"]]
    expect(asked).to_have_count(len(expected), timeout=LIVE_MS)
    assert asked.all_inner_texts() == expected
    assert expected[-2] == "Apakah ada anak-anak atau lansia di dalam?" and "Apa yang terbakar?" not in expected
    vulnerable = ct.locator(".questions .question").filter(has_text="Apakah ada anak-anak atau lansia di dalam?")
    vulnerable.locator("input[value=yes]").check()
    expect(ct.locator("input[name=priority][value='1']")).to_be_checked()
    shot(ct, "calltaker-edited-questions")
    assert not admin.js_errors and not ct.js_errors


def test_a_supervisor_reads_the_questions_but_cannot_edit_them(browse, live_server):
    sup = browse("sup", live_server, "/plan")
    sup.select_option("#q-category", "medis")
    item = sup.locator("#question-list li[data-question='medis.sadar']")
    expect(item.locator(".q-text-id")).to_be_disabled()
    assert not item.locator(".q-save").is_visible() and not sup.locator("#question-form").is_visible()
