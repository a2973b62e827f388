"""A console hears only the event kinds it subscribes to: every kind the code emits must be listed."""

from __future__ import annotations

import re
from pathlib import Path

from siaga.events.kinds import EVENT_KINDS

SRC = Path(__file__).resolve().parents[2] / "src" / "siaga"
EMITTED = re.compile(r"""(?:announce_[a-z]+|emit)\([^"\n]*?"([a-z_]+\.[a-z_]+)"(?:\s+if[^"\n]*"([a-z_]+\.[a-z_]+)")?""")


def emitted_kinds() -> set[str]:
    kinds: set[str] = set()
    for path in SRC.rglob("*.py"):
        for match in EMITTED.finditer(path.read_text(encoding="utf-8")):
            kinds.update(k for k in match.groups() if k)
    return kinds


def test_every_emitted_kind_is_listed():
    found = emitted_kinds()
    assert {"incident.created", "incident.escalated", "call.updated", "timeline.added"} <= found  # the scan works
    assert found - set(EVENT_KINDS) == set()


def test_consoles_subscribe_to_the_list():
    js = (SRC / "web" / "static" / "js" / "siaga.js").read_text(encoding="utf-8")
    assert "REF.event_kinds" in js and "const EVENT_KINDS = [" not in js
