"""Pure pieces, property-tested: language negotiation, audit hashing, the status machines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from siaga.core.audit import chain_hash, content_hash
from siaga.core.clock import SiteZone
from siaga.core.i18n import LANGUAGES, negotiate, problem_title
from siaga.domains.agencies.models import UNIT_STATUSES
from siaga.domains.incidents.models import ASSIGNMENT_FINISHED, ASSIGNMENT_TRANSITIONS, INCIDENT_TRANSITIONS
from siaga.domains.units.models import UNIT_TRANSITIONS


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=5)))
def test_negotiate_always_answers_a_supported_language(header, preferred):
    assert negotiate(header, preferred) in LANGUAGES


def test_negotiate_prefers_the_first_supported_language():
    assert negotiate("fr-FR,en;q=0.8,id;q=0.5") == "en"
    assert negotiate("id-ID,id;q=0.9,en;q=0.8") == "id"
    assert negotiate(None) == "id"


def test_a_problem_title_fills_its_parameters_in_the_readers_language():
    assert problem_title("unit_unavailable", "en", callsign="AMB-1", unit_status="assigned") == (
        "Unit AMB-1 is not available (status: assigned)")
    assert problem_title("unit_unavailable", "id", callsign="AMB-1", unit_status="assigned") == (
        "Unit AMB-1 tidak tersedia (status: assigned)")
    assert problem_title("no_such_code", "en") == "no_such_code"


entries = st.fixed_dictionaries({
    "at": st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    "actor_id": st.one_of(st.none(), st.integers(1, 10**9)),
    "actor": st.text(max_size=30), "action": st.text(min_size=1, max_size=30),
    "entity": st.text(min_size=1, max_size=20), "entity_id": st.one_of(st.none(), st.text(max_size=20)),
    "data_text": st.text(max_size=200),
})


@given(entries, st.sampled_from(["at", "actor_id", "actor", "action", "entity", "entity_id", "data_text"]))
def test_changing_any_field_changes_the_content_hash(entry, field):
    before = content_hash(**entry)
    changed = dict(entry)
    if field == "at":
        changed["at"] = entry["at"] + timedelta(microseconds=1)
    elif field == "actor_id":
        changed["actor_id"] = (entry["actor_id"] or 0) + 1
    elif field == "entity_id":
        changed["entity_id"] = (entry["entity_id"] or "") + "x"
    else:
        changed[field] = entry[field] + "x"
    assert content_hash(**changed) != before


@given(st.text(min_size=64, max_size=64, alphabet="0123456789abcdef"), st.integers(1, 10**12),
       st.text(min_size=64, max_size=64, alphabet="0123456789abcdef"))
def test_chain_hash_binds_position_and_predecessor(prev, seq, content):
    h = chain_hash(prev, seq, content)
    assert h != chain_hash(prev, seq + 1, content)
    assert len(h) == 64


def reachable(transitions: dict[str, frozenset[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in transitions[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_every_incident_can_end_closed_or_cancelled_and_only_a_closed_one_reopens():
    for state in INCIDENT_TRANSITIONS:
        if INCIDENT_TRANSITIONS[state]:
            assert reachable(INCIDENT_TRANSITIONS, state) & {"closed", "cancelled"}, state
    assert INCIDENT_TRANSITIONS["cancelled"] == frozenset()
    assert INCIDENT_TRANSITIONS["closed"] == frozenset({"dispatched"})  # reopening, with a note


def test_every_assignment_can_finish():
    for state in ASSIGNMENT_TRANSITIONS:
        finishes = reachable(ASSIGNMENT_TRANSITIONS, state) & set(ASSIGNMENT_FINISHED)
        assert state in ASSIGNMENT_FINISHED or finishes, state


def test_every_unit_can_get_back_to_available_and_out_of_service_only_returns_to_available():
    assert set(UNIT_TRANSITIONS) == set(UNIT_STATUSES)
    for state in UNIT_STATUSES:
        assert "available" in reachable(UNIT_TRANSITIONS, state)
    assert UNIT_TRANSITIONS["out_of_service"] == frozenset({"available"})
    assert all("out_of_service" in UNIT_TRANSITIONS[s] for s in UNIT_STATUSES if s != "out_of_service")


def test_times_show_in_wib():
    wib = SiteZone.named("Asia/Jakarta")
    assert wib.format(datetime(2026, 11, 27, 17, 30, tzinfo=UTC)) == "28-11-2026 00:30:00 WIB"
    assert wib.format(None) == "—"
