"""The wallboard: calls waiting, answer times against the 15 s target for today in WIB, open incidents by
category and agency, and the operators whose consoles are open."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from siaga.core.clock import SiteZone
from siaga.core.security import session_digest
from siaga.db.engine import unit_of_work
from siaga.domains.stats.service import start_of_local_day
from siaga.domains.users.models import User, UserSession
from tests.conftest import PASSWORD, START, ids

WIB = SiteZone.named("Asia/Jakarta")  # the test app's default zone

EMPTY = {"calls_waiting": 0, "longest_wait_s": 0, "operators_on_duty": 0, "operators_counted_by": "consoles",
         "calls_offered_today": 0,
         "calls_answered_today": 0, "answered_within_15s_today": 0, "pct_answered_within_15s": None,
         "open_incidents": 0, "open_by_category": {}, "open_by_agency": {}}


def wallboard(api, who: str = "sup") -> dict:  # type: ignore[no-untyped-def]
    r = api(who).get("/api/v1/stats/wallboard")
    assert r.status_code == 200, r.text
    return r.json()


def test_a_quiet_centre(api):
    board = wallboard(api)
    assert board.pop("generated_at").startswith("2026-11-27T01:00:00")
    assert board == EMPTY


def test_today_starts_at_midnight_wib():
    assert start_of_local_day(START, WIB).isoformat() == "2026-11-26T17:00:00+00:00"  # 08:00 WIB → 00:00 WIB
    assert start_of_local_day(START.replace(hour=17), WIB).isoformat() == "2026-11-27T17:00:00+00:00"


def send(api, ref: str, type_: str, at: str) -> None:  # type: ignore[no-untyped-def]
    r = api("phone").post("/api/v1/call-events", json={"event_id": f"{ref}-{type_}", "call_ref": ref,
                                                       "type": type_, "at": at, "caller_number": "0812"})
    assert r.status_code == 201, r.text


def test_calls_waiting_and_todays_answer_times(api):
    # Yesterday in WIB (23:59 WIB on the 26th): not today, even though it is the same UTC date.
    send(api, "yesterday", "offered", "2026-11-26T16:59:00Z")
    send(api, "yesterday", "answered", "2026-11-26T16:59:05Z")
    # Today (WIB): answered in 15 s exactly, 10 s, 30 s; one abandoned; two still waiting.
    send(api, "midnight", "offered", "2026-11-26T17:00:00Z")
    send(api, "midnight", "answered", "2026-11-26T17:00:15Z")
    send(api, "quick", "offered", "2026-11-27T00:59:00Z")
    send(api, "quick", "answered", "2026-11-27T00:59:10Z")
    send(api, "quick", "ended", "2026-11-27T00:59:40Z")
    send(api, "slow", "offered", "2026-11-27T00:59:20Z")
    send(api, "slow", "answered", "2026-11-27T00:59:50Z")
    send(api, "gone", "offered", "2026-11-27T00:59:30Z")
    send(api, "gone", "abandoned", "2026-11-27T00:59:38Z")
    send(api, "waiting", "offered", "2026-11-27T00:59:40Z")
    send(api, "ringing", "offered", "2026-11-27T00:59:45Z")
    send(api, "ringing", "ringing", "2026-11-27T00:59:46Z")
    board = wallboard(api)
    assert board["calls_waiting"] == 2 and board["longest_wait_s"] == 20
    assert board["calls_offered_today"] == 6
    assert board["calls_answered_today"] == 3
    assert board["answered_within_15s_today"] == 2
    assert board["pct_answered_within_15s"] == 33.3


def test_the_longest_wait_grows_with_the_clock_and_ends_when_the_call_is_taken(api, clock):
    send(api, "w", "offered", "2026-11-27T00:59:50Z")
    assert wallboard(api)["longest_wait_s"] == 10
    clock.advance(seconds=25)
    assert wallboard(api)["longest_wait_s"] == 35
    call = api("ct").get("/api/v1/calls?live=true").json()[0]
    assert api("ct").post(f"/api/v1/calls/{call['id']}/claim", json={"version": call["version"]}).status_code == 200
    board = wallboard(api)
    assert board["calls_waiting"] == 0 and board["longest_wait_s"] == 0
    assert board["calls_answered_today"] == 1 and board["answered_within_15s_today"] == 0


def test_open_incidents_by_category_and_by_open_assignment(api):
    agencies = ids(api, "/api/v1/agencies")

    def incident(category: str) -> dict:
        r = api("ct").post("/api/v1/incidents", json={"category_code": category})
        assert r.status_code == 201
        return r.json()

    def assign(inc: dict, agency: str) -> dict:
        r = api("disp").post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": agencies[agency]})
        assert r.status_code == 201
        return r.json()

    fire1, fire2, medical, cancelled = incident("kebakaran"), incident("kebakaran"), incident("medis"), \
        incident("kebakaran")
    assign(fire1, "DAMKAR")
    assign(fire2, "DAMKAR")
    medical = assign(medical, "DINKES")
    declined = medical["assignments"][0]
    r = api("dinkes").post(f"/api/v1/assignments/{declined['id']}/state",
                           json={"state": "declined", "version": declined["version"],
                                 "reason": "Tidak ada ambulans"})
    assert r.status_code == 200, r.text
    cancelled = assign(cancelled, "BPBD")  # its assignment stays open, but the incident is not
    r = api("disp").post(f"/api/v1/incidents/{cancelled['id']}/status",
                         json={"status": "cancelled", "version": cancelled["version"], "note": "Laporan palsu"})
    assert r.status_code == 200, r.text
    board = wallboard(api)
    assert board["open_incidents"] == 3
    assert board["open_by_category"] == {"kebakaran": 2, "medis": 1}
    assert board["open_by_agency"] == {str(agencies["DAMKAR"]): 2}


@pytest.mark.parametrize("who, allowed", [("ct", True), ("disp", True), ("sup", True), ("admin", True),
                                          ("damkar", False), ("phone", False)])
def test_the_wallboard_is_for_the_centre(api, who, allowed):
    assert (api(who).get("/api/v1/stats/wallboard").status_code == 200) is allowed


# --- Operators on duty: a browser console's open event stream marks its session ----------------------

def add_session(db, username: str, key: str, *, seen_ago: float | None, expires_in: float = 3600) -> None:  # type: ignore[no-untyped-def]
    user = db.scalar(select(User).where(User.username == username))
    db.add(UserSession(id=key, user_id=user.id, csrf_token="x", created_at=START,
                       expires_at=START + timedelta(seconds=expires_in), ip="",
                       last_seen_at=None if seen_ago is None else START - timedelta(seconds=seen_ago)))


def test_operators_on_duty_are_distinct_centre_staff_seen_in_the_last_90_seconds(api, engine):
    with unit_of_work(engine) as db:
        add_session(db, "ct", "a", seen_ago=10)
        add_session(db, "ct", "b", seen_ago=5)           # the same call-taker on a second screen
        add_session(db, "disp", "c", seen_ago=89)
        add_session(db, "sup", "d", seen_ago=91)          # console closed a while ago
        add_session(db, "damkar", "e", seen_ago=1)        # agencies are not the centre's operators
        add_session(db, "admin", "f", seen_ago=1)
        add_session(db, "sup", "g", seen_ago=None)        # logged in, no console open
        add_session(db, "sup", "h", seen_ago=1, expires_in=-1)
    assert wallboard(api)["operators_on_duty"] == 2
    with unit_of_work(engine) as db:
        db.scalar(select(User).where(User.username == "disp")).active = False
    assert wallboard(api)["operators_on_duty"] == 1


def browser(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=httpx.Timeout(10, read=30))
    assert client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}).status_code == 200
    return client


def last_seen(engine, client: httpx.Client):  # type: ignore[no-untyped-def]
    with unit_of_work(engine, write=False) as db:
        return db.get(UserSession, session_digest("test", client.cookies["siaga_session"])).last_seen_at


def eventually(check, timeout: float = 10):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_an_open_console_marks_its_operator_on_duty_every_30_seconds_without_holding_a_connection(
        live_server, api, engine, clock):
    ct, disp, damkar = (browser(live_server, u) for u in ("ct", "disp", "damkar"))
    agency_console = damkar.stream("GET", "/api/v1/events")
    assert agency_console.__enter__().status_code == 200
    assert wallboard(api)["operators_on_duty"] == 0  # disp is logged in, but has no console open
    console = ct.stream("GET", "/api/v1/events")
    assert console.__enter__().status_code == 200
    eventually(lambda: last_seen(engine, ct) == START)
    assert wallboard(api)["operators_on_duty"] == 1
    assert last_seen(engine, damkar) == START and last_seen(engine, disp) is None

    # Neither stream keeps a pooled connection: at some instant none is checked out.
    samples = []
    for _ in range(100):
        samples.append(engine.pool.checkedout())
        time.sleep(0.01)
    assert min(samples) == 0

    clock.advance(seconds=20)
    time.sleep(1.5)  # three keepalives: too soon to mark again
    assert last_seen(engine, ct) == START
    clock.advance(seconds=15)
    eventually(lambda: last_seen(engine, ct) == START + timedelta(seconds=35))
    assert wallboard(api)["operators_on_duty"] == 1

    console.__exit__(None, None, None)
    agency_console.__exit__(None, None, None)
    clock.advance(seconds=91)
    assert wallboard(api)["operators_on_duty"] == 0
    for client in (ct, disp, damkar):
        client.close()


def test_where_operators_have_phones_the_wallboard_counts_who_can_answer_as_the_header_does(api, ctx_factory):
    """One meaning of "operator bertugas" on every screen: with operator phones in Siaga, the wallboard counts
    those available or on a call — the telephony bar's count — not the consoles open."""
    from tests.integration.test_telephony_queue import give_line

    give_line(ctx_factory, "ct", "1001")
    give_line(ctx_factory, "sup", "1003", presence="break")
    board = wallboard(api)
    header = api("ct").get("/api/v1/telephony/status").json()
    assert board["operators_counted_by"] == "phones"
    assert board["operators_on_duty"] == header["on_duty"] == 1
