"""Words, not codes (issue #15): unit types on the response plan's admin page and in the incident's plan, and
the escalation entries of the timeline, read in the reader's language — Bahasa Indonesia, then English after
the header's language button — never as the codes the records store (`pumper`, `escalated`, `timeline.…`)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.test_consoles import browse, shot  # noqa: F401 (browse is a fixture)

UNIT_TYPE_CODES = re.compile(r"\b(pumper|water_tanker|rescue_truck|ambulance|rescue_boat|patrol_car|patrol_motorcycle"
                             r"|command_car|tow_truck|utility_truck)\b")
RAW_KEYS = re.compile(r"\b(created|guided_answers|escalated|assignment|unit_status|stood_down)\b|timeline\.|_")


def test_unit_types_on_the_plan_page_read_as_words_in_both_languages(browse, live_server):  # noqa: F811
    page = browse("admin", live_server, "/plan")
    units = page.locator("#rules td.rule-units")
    expect(units.first).to_be_visible()
    expect(page.locator("#rules")).to_contain_text("1× Mobil pompa")
    expect(page.locator("#rules")).to_contain_text("Mobil tangki air")
    for text in units.all_inner_texts():
        assert not UNIT_TYPE_CODES.search(text), text
    # The admin types codes in the rule form: the page says which code is which vehicle.
    expect(page.locator("#r-unit-types")).to_contain_text("pumper = Mobil pompa")

    page.get_by_role("button", name="English").click()
    expect(page.locator("#rules")).to_contain_text("1× Pumper")
    expect(page.locator("#rules")).to_contain_text("Water tanker")
    for text in page.locator("#rules td.rule-units").all_inner_texts():
        assert not UNIT_TYPE_CODES.search(text), text
    expect(page.locator("#r-unit-types")).to_contain_text("pumper = Pumper")
    shot(page, "plan-unit-types-en")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_an_escalated_incident_reads_in_the_readers_language(browse, live_server, api, clock, engine,  # noqa: F811
                                                             settings):
    from siaga.domains.dispatch.escalation import fire_due

    incident = api("ct").post("/api/v1/incidents", json={
        "category_code": "kebakaran", "priority": 1, "address_text": "Jl. Bantan",
        "answers": {"kebakaran.korban": True}}).json()
    proposal = api("disp").get(f"/api/v1/incidents/{incident['id']}/proposal").json()
    sent = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                            json={"agency_ids": [a["agency_id"] for a in proposal["agencies"]]})
    assert sent.status_code == 200, sent.text
    clock.advance(seconds=61)
    assert fire_due(engine, clock, settings) >= 1  # nobody acknowledged: the supervisor is alerted

    page = browse("sup", live_server, f"/incident/{incident['id']}")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("belum menerima")
    expect(timeline).to_contain_text("supervisor diberi tahu")
    kinds = page.locator("#timeline .tl-kind").all_inner_texts()
    assert kinds and not any(RAW_KEYS.search(k) for k in kinds), kinds
    texts = page.locator("#timeline .tl-text").all_inner_texts()
    assert not any(UNIT_TYPE_CODES.search(t) or "timeline." in t for t in texts), texts
    expect(page.locator("#assignments .chip.overdue").first).to_contain_text("Eskalasi")

    page.get_by_role("button", name="English").click()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("has not acknowledged in time: the supervisor was alerted")
    kinds = page.locator("#timeline .tl-kind").all_inner_texts()
    assert kinds and not any(RAW_KEYS.search(k) for k in kinds), kinds
    texts = page.locator("#timeline .tl-text").all_inner_texts()
    assert not any(UNIT_TYPE_CODES.search(t) or "timeline." in t or "belum" in t for t in texts), texts
    shot(page, "incident-escalated-en")
    assert page.js_errors == []  # type: ignore[attr-defined]
