"""The call-taker console shows a caller's key press live, in words, and will not record the call as ghost
when the caller pressed the silent-caller key (5): it says why and to treat it as a silent emergency."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from siaga.core.context import Ctx
from siaga.db.engine import unit_of_work
from siaga.domains.telephony import actions
from siaga.domains.telephony.bridge import EDGE_ACTOR
from tests.e2e.test_consoles import browse, offer_call  # noqa: F401  (the fixture)


def test_a_caller_pressing_5_shows_on_the_call_and_blocks_a_ghost_close(  # type: ignore[no-untyped-def]
        browse, live_server, api, clock, engine, settings) -> None:  # noqa: F811
    offer_call(api, "e2e-dtmf", "084400005555", clock.now().isoformat())
    ct = browse("ct", live_server, "/calltaker")
    ct.wait_for_selector("#call-queue li:has-text('084400005555')")
    ct.keyboard.press("a")
    ct.wait_for_selector("#active-call")
    expect(ct.locator("#call-keys")).to_be_hidden()
    with unit_of_work(engine) as db:  # what the bridge does when rtpengine reports the key
        actions.key_pressed(Ctx(db=db, actor=EDGE_ACTOR, clock=clock, settings=settings), "e2e-dtmf", 5,
                            datetime.now(UTC))
    expect(ct.locator("#call-keys")).to_have_text("Penelepon menekan 5: kemungkinan tidak dapat berbicara")
    ct.select_option("#f-outcome", "ghost")
    for box in ct.locator("#ghost-protocol input[type=checkbox]").all():
        box.check()
    ct.click("#close-call button[type=submit]")
    expect(ct.locator("#e-outcome")).to_contain_text("penelepon menekan 5")
    expect(ct.locator("#e-outcome")).to_contain_text("darurat diam")
    expect(ct.locator("#active-call")).to_be_visible()  # not closed
    ct.select_option("#f-outcome", "emergency")
    ct.click("#close-call button[type=submit]")
    expect(ct.locator("#active-call")).to_have_count(0)
    assert ct.js_errors == []
