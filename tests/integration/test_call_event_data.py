"""An emergency call is never refused for its data, on either database: NaN, Infinity, huge numbers, NUL and
lone surrogates anywhere in a call event are stored alike (kept as marker text), and a location whose numbers
cannot be used is kept, flagged invalid with the reason. A database that cannot be reached answers 503 with
Retry-After, and /readyz says so."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siaga.db.engine import make_engine
from tests.conftest import token_for

ODD_TEXT = ["\x00", "a\x00b", "\ud800", "x\udfffy", "\u202egnp.exe", "\ufeff", "😀", "\U0010ffff", "é", ""]


def send_raw(api, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    """As a PBX might write it: Python's json.dumps writes NaN/Infinity tokens and escapes lone surrogates."""
    return api("phone").post("/api/v1/call-events", content=json.dumps(body),
                             headers={"Content-Type": "application/json"})


def event(event_id: str, ref: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "call_ref": ref, "type": "offered", "at": "2026-11-27T01:00:00Z", **extra}


def finite_everywhere(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(finite_everywhere(v) for v in value)
    return True


def test_nan_and_infinity_in_a_locations_detail_are_stored_as_marker_text(api):
    r = send_raw(api, event("e1", "nan-detail", caller_number="0812", location={
        "source": "pidf_lo", "lat": 1.47, "lon": 102.1, "detail": {"radius": float("nan"), "alt": float("inf"),
                                                                     "deep": [{"x": float("-inf")}]}}))
    assert r.status_code == 201, r.text
    loc = r.json()["call"]["locations"][0]
    assert loc["detail"] == {"radius": "NaN", "alt": "Infinity", "deep": [{"x": "-Infinity"}]}
    assert loc["valid"] is True and loc["lat"] == 1.47  # odd detail is no reason to doubt the position
    stored = api("ct").get(f"/api/v1/calls/{r.json()['call']['id']}").json()
    assert stored["locations"] == r.json()["call"]["locations"]
    again = send_raw(api, event("e1", "nan-detail", caller_number="0812", location={
        "source": "pidf_lo", "lat": 1.47, "lon": 102.1, "detail": {"radius": float("nan")}}))
    assert again.status_code == 200 and again.json()["duplicate"] is True


@pytest.mark.parametrize("numbers, unusable", [
    ({"lat": float("nan"), "lon": 102.1}, ["lat", "lon"]),
    ({"lat": 1.47, "lon": float("inf")}, ["lat", "lon"]),
    ({"lat": 1.47, "lon": 102.1, "accuracy_m": float("nan")}, ["accuracy_m"]),
    ({"lat": 91.0, "lon": 102.1}, ["lat", "lon"]),
    ({"lat": 10**400, "lon": 102.1}, ["lat", "lon"]),
    ({"lat": "utara", "lon": [1]}, ["lat", "lon"]),
])
def test_a_location_with_unusable_numbers_is_kept_flagged_and_the_call_recorded(api, numbers, unusable):
    r = send_raw(api, event("e1", "bad-numbers", caller_number="0813", location={"source": "network", **numbers}))
    assert r.status_code == 201, r.text
    call = r.json()["call"]
    loc = call["locations"][0]
    assert loc["valid"] is False and loc["invalid_reason"].startswith("unusable " + unusable[0])
    assert all(loc[name] is None for name in unusable)
    assert sorted(loc["detail"]["unusable_values"]) == sorted(unusable)
    assert finite_everywhere(loc["detail"])
    assert [c["id"] for c in api("ct").get("/api/v1/calls?live=true").json()] == [call["id"]]


def test_nul_and_lone_surrogates_in_a_call_event_are_replaced_not_refused(api):
    r = send_raw(api, event("e\x00\ud800", "ref\x00", caller_number="08\x0012", location={
        "address_text": "Jl. Sudirman\x00 \udc00", "detail": {"k\x00": "v\ud800"}}))
    assert r.status_code == 201, r.text
    call = r.json()["call"]
    assert call["external_ref"] == "ref\ufffd"
    assert call["locations"][0]["address_text"] == "Jl. Sudirman\ufffd \ufffd"
    assert call["locations"][0]["detail"] == {"k\ufffd": "v\ufffd"}
    again = send_raw(api, event("e\x00\ud800", "ref\x00", caller_number="08\x0012"))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # Elsewhere NUL stays refused (tests/integration/test_incidents_api.py): only the intake takes it.


# --- any JSON, through the real API, on both databases -----------------------------------------------------

ODD_CHARS = st.characters(exclude_categories=()) | st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "😀"])
TEXT = st.text(ODD_CHARS, max_size=12) | st.sampled_from(ODD_TEXT)
NUMBER = (st.floats() | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324])
          | st.integers() | st.integers(min_value=-10**400, max_value=10**400))
ANY_JSON = st.recursive(st.none() | st.booleans() | NUMBER | TEXT,
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                        max_leaves=12)
POSITION = st.none() | NUMBER | st.sampled_from([1.47, 102.1, 45.0, -90.0, 180.0])
LOCATION = st.fixed_dictionaries({
    "source": st.sampled_from(["pidf_lo", "aml", "network"]), "lat": POSITION, "lon": POSITION,
    "accuracy_m": POSITION, "detail": ANY_JSON, "address_text": TEXT, "invalid_reason": TEXT,
})
EVENT = st.fixed_dictionaries({
    "type": st.sampled_from(["offered", "ringing", "location", "answered", "ended"]),
    "caller_number": TEXT, "operator_username": st.none() | TEXT,
    "location": st.none() | LOCATION, "locations": st.lists(LOCATION, max_size=3),
})
_ids = itertools.count()


def usable(loc: dict[str, Any]) -> bool:
    def ok(value: Any, low: float, high: float) -> bool:
        return value is None or (not isinstance(value, bool) and isinstance(value, int | float)
                                 and low <= value <= high)  # NaN compares False, ±Infinity out of range
    return ok(loc["lat"], -90, 90) and ok(loc["lon"], -180, 180) and ok(loc["accuracy_m"], 0, 1_000_000)


@given(data=EVENT, odd_ids=TEXT)
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_json_in_a_call_event_is_recorded_and_unusable_locations_are_flagged(api, data, odd_ids):
    n = next(_ids)
    body = {"event_id": f"prop-{n}-{odd_ids}", "call_ref": f"prop-{n}-{odd_ids}", "at": "2026-11-27T01:00:00Z",
            **data}
    r = send_raw(api, body)
    assert r.status_code == 201, r.text
    call = r.json()["call"]
    sent = ([data["location"]] if data["location"] else []) + data["locations"]
    stored = api("ct").get(f"/api/v1/calls/{call['id']}").json()
    assert stored["locations"] == call["locations"]
    assert len(stored["locations"]) == len(sent)
    for given_loc, loc in zip(sent, sorted(stored["locations"], key=lambda x: x["id"]), strict=True):
        assert finite_everywhere(loc)
        if not usable(given_loc):
            assert loc["valid"] is False and "unusable" in loc["invalid_reason"]
    again = send_raw(api, body)
    assert again.status_code == 200 and again.json()["duplicate"] is True


# --- the database out of reach ---------------------------------------------------------------------------

@pytest.fixture(params=["postgresql", "sqlite"])
def cut_off_app(request, settings, clock, tmp_path):  # type: ignore[no-untyped-def]
    """An app whose database cannot be reached: PostgreSQL on a closed port, or SQLite on a directory."""
    from siaga.app import create_app

    url = "postgresql://siaga@127.0.0.1:1/siaga" if request.param == "postgresql" else f"sqlite:///{tmp_path}"
    engine = make_engine(url)
    yield request.param, TestClient(create_app(settings, clock=clock, engine=engine), raise_server_exceptions=False)
    engine.dispose()


def test_a_call_event_while_the_database_is_down_is_503_with_retry_after(cut_off_app):
    database, client = cut_off_app
    r = client.post("/api/v1/call-events", json=event("e1", "down"),
                    headers={"Authorization": f"Bearer {token_for('phone')}"})
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "database_unavailable" and r.json()["params"] == {"database": database}
    assert int(r.headers["retry-after"]) > 0
    r = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {token_for('ct')}",
                                             "Accept-Language": "en"})
    assert r.status_code == 503 and r.json()["title"].startswith(f"The database ({database}) cannot be reached")


def test_readyz_says_the_database_is_down(cut_off_app):
    database, client = cut_off_app
    r = client.get("/readyz")
    assert r.status_code == 503 and "retry-after" in r.headers
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "database_unavailable" and r.json()["params"]["database"] == database
    assert database in r.json()["title"]


@pytest.mark.timeout(60)  # a hang guard: without a connect timeout this waits for as long as the kernel does
def test_readyz_answers_when_the_database_server_accepts_and_never_speaks(settings, clock):
    """A PostgreSQL host that is half there (a hung server, a firewall that swallows the handshake) must not
    hold /readyz and every request: the connection attempt gives up and the answer is 503."""
    import socket

    from siaga.app import create_app

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the TCP handshake; nobody ever reads or writes
    try:
        engine = make_engine(f"postgresql://siaga@127.0.0.1:{silent.getsockname()[1]}/siaga", connect_timeout=2)
        client = TestClient(create_app(settings, clock=clock, engine=engine), raise_server_exceptions=False)
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["code"] == "database_unavailable", r.text
        engine.dispose()
    finally:
        silent.close()


def test_readyz_is_ready_when_the_database_answers(api, engine):
    r = api().get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"ready": True, "database": engine.dialect.name, "edge": "not_bridged"}
