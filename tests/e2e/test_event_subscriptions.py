"""The console in a real browser listens for exactly the event kinds the server can emit: SSE hands a named
event only to a listener for that name, so a kind it did not subscribe to would be dropped without a trace."""

from __future__ import annotations

import re

from siaga.events.kinds import EventKind
from tests.conftest import PASSWORD

# Recorded before any page script runs: every name siaga.js subscribes its EventSource to.
RECORD_SUBSCRIPTIONS = """
window.__subscribed = [];
const addListener = EventSource.prototype.addEventListener;
EventSource.prototype.addEventListener = function (name, listener, options) {
  window.__subscribed.push(name);
  return addListener.call(this, name, listener, options);
};
"""


def test_the_console_subscribes_to_every_event_kind(page, live_server):
    page.add_init_script(RECORD_SUBSCRIPTIONS)
    page.goto(f"{live_server}/?next=/board")
    page.fill("#username", "disp")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(live_server + "/board")))
    page.wait_for_function("window.Live && Live.state === 'live'")
    subscribed = page.evaluate("window.__subscribed")
    assert set(subscribed) - {"message", "reset"} == {kind.value for kind in EventKind}
