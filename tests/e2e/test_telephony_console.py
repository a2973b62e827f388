"""A real SIP call reaches a call-taker's console: Kamailio + sipp (trunk and desk phone) + the app +
Debian's chromium. The call-taker goes on duty from the header, the phone rings and answers, and the call
is on their screen with its network location — without a click on "claim"."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import Engine

from siaga.db.engine import unit_of_work
from siaga.domains.telephony.models import OperatorLine
from tests.conftest import BACKEND, PASSWORD
from tests.sip.harness import running_centre, wait_for

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots" / BACKEND


def test_call_taker_goes_on_duty_and_a_sip_call_lands_on_their_screen(browser, engine: Engine, db_url: str,
                                                                       tmp_path: Path) -> None:
    with running_centre(engine, db_url, tmp_path) as centre:
        centre.line("ct", presence="offline")
        centre.phone("ct")
        context = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta",
                                      viewport={"width": 1440, "height": 900})
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{centre.url}/?next=/calltaker")
            page.fill("#username", "ct")
            page.fill("#password", PASSWORD)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_url(re.compile(re.escape(centre.url + "/calltaker")))
            page.wait_for_function("window.Live && Live.state === 'live'")
            # The phone's registration reaches the console as an event: wait for it to say so.
            expect(page.get_by_test_id("tel-edge")).to_contain_text("Telepon tersambung")
            off = page.locator("#telephony button[data-presence=offline]")
            assert off.get_attribute("aria-pressed") == "true"
            page.locator("#telephony button[data-presence=available]").click()
            page.wait_for_selector("#telephony button[data-presence=available][aria-pressed=true]")
            with unit_of_work(engine, write=False) as db:
                assert db.get(OperatorLine, centre.user_id("ct")).presence == "available"  # type: ignore[union-attr]

            done = centre.edge.sipp("trunk_call.xml", "-d", "6000", rows=["+6281277788899;1.4667 102.1;35"],
                                    timeout=30)
            assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
            # Answered on the desk phone: the call is this call-taker's current call on screen.
            page.wait_for_function("document.body.innerText.includes('6281277788899')")
            wait_for(lambda: any(c.operator_id == centre.user_id("ct") for c in centre.calls()), 5, "the answer")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "calltaker-sip-call.png"), full_page=True)
            assert errors == []
        finally:
            context.close()
