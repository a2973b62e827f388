"""The bridge's table of event handlers matches what the edge sends: every kind the Kamailio configuration
emits has a handler (a kind without one would be logged and dropped: a lost call), no handler waits for a
kind the edge never sends, and an event that cannot be handled is skipped without touching anything."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import siaga.domains.telephony as telephony
from siaga.core.clock import FixedClock
from siaga.domains.telephony.bridge import HANDLERS, EdgeBridge
from siaga.settings import Settings

CONFIG = Path(telephony.__file__).parent / "kamailio.cfg.j2"


def kinds_the_edge_sends() -> set[str]:
    return set(re.findall(r'jansson_set\("string", "ev", "([a-z_]+)"', CONFIG.read_text()))


def test_every_kind_the_edge_sends_has_a_handler_and_no_other():
    sent = kinds_the_edge_sends()
    assert "invite" in sent and "bye" in sent  # the pattern still reads the configuration
    # and the caller's key presses, which rtpengine's DTMF log gives the bridge's own listener (DtmfListener)
    assert set(HANDLERS) == sent | {"dtmf"}


def bridge() -> EdgeBridge:
    return EdgeBridge(engine=None, clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)), settings=Settings(database_url="sqlite://"))  # type: ignore[arg-type]


def test_unknown_kinds_and_call_events_without_a_call_are_skipped_and_hold_nothing():
    b = bridge()
    assert b._work({"ev": "reboot", "cid": "abc"}) is None
    assert b._work({"ev": "invite"}) is None  # no call reference: nothing to hold, nothing to record
    assert b._work({}) is None
    assert b.held == {}


def test_an_invite_is_held_until_it_is_answered_or_ends():
    b = bridge()
    work = b._work({"ev": "invite", "cid": "call-1", "at": "1767225600.5", "ti": "1", "tl": "2"})
    assert callable(work) and "call-1" in b.held
    assert callable(b._work({"ev": "answered", "cid": "call-1", "ext": "101"}))
    assert "call-1" not in b.held
    b._work({"ev": "invite", "cid": "call-2", "ti": "3", "tl": "4"})
    assert callable(b._work({"ev": "cancel", "cid": "call-2", "matched": "0"}))
    assert "call-2" not in b.held
    # the edge could not match the CANCEL to the held INVITE: the bridge answers the INVITE itself
    assert b._later and b._later[-1]["cmd"] == "reject" and b._later[-1]["code"] == "487"
