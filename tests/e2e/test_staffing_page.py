"""The staffing page in a browser: a supervisor reads the operators needed per hour from the trial's history
(simulated: counted only when asked for), and a period that ends before it starts is refused next to the
form."""

from __future__ import annotations

from playwright.sync_api import expect

from siaga.core.authz import SYSTEM
from siaga.core.context import Ctx
from siaga.db.engine import unit_of_work
from siaga.domains.simulate import actions, scenario
from tests.e2e.test_consoles import browse, shot  # noqa: F401  (browse is a fixture)


def test_supervisor_reads_staffing_from_the_trial_history(browse, live_server, engine, clock, settings):  # noqa: F811
    trial = scenario.load("trial-2025")
    with unit_of_work(engine) as db:
        actions.write_history(Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings), trial, trial.roster,
                              trial.seed, trial.start, trial.end)
    page = browse("sup", live_server, "/staffing")
    page.wait_for_selector("#st-summary")  # the default period (the last eight weeks) has no calls
    page.fill("#st-from", "2025-07-01")
    page.fill("#st-to", "2025-10-19")
    page.click("#staffing-form button[type=submit]")
    # The trial's history is simulated: left out of the figures unless asked for, and said so.
    page.wait_for_selector("#st-simulated-note:visible")
    assert page.inner_text("#st-simulated-note") == "6.870 panggilan simulasi tidak dihitung"
    assert page.inner_text("#st-summary .tile .value >> nth=0") == "0"
    page.check("#st-simulated")
    page.click("#staffing-form button[type=submit]")
    page.wait_for_function("document.querySelector('#st-summary .tile .value').textContent === '6.870'")
    expect(page.locator("#st-simulated-note")).to_be_hidden()  # Alpine's x-show: a frame later
    assert page.locator("#st-grid tbody tr").count() == 24
    assert page.locator("#st-roster tbody tr").count() == 3
    assert "Erlang A" in page.inner_text("#st-peak")
    # The pickup delay measured in that history (4–14 s): callers hang up while it rings, so 90% is out of reach.
    expect(page.locator("#st-pickup .warn")).to_be_visible()
    assert "1.0" in page.inner_text("#st-pickup")
    assert "Target tak tercapai" in page.inner_text("#st-pickup .warn")
    monday_20 = page.locator("#st-grid tbody tr").nth(20).locator("td").nth(0)
    assert monday_20.inner_text().strip() == "1"
    shot(page, "staffing")
    page.fill("#st-from", "2025-10-20")
    page.click("#staffing-form button[type=submit]")
    page.wait_for_function("document.querySelector('#st-error').textContent.length > 0")
    assert page.js_errors == []
