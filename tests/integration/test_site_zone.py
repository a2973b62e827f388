"""A site in another zone (WITA: Asia/Makassar, UTC+8) beside the default WIB one, on the same database: its
wallboard's "today", KPI hours, staffing hours, incident-number years, response-plan hours, pages and
reports are its own local time. Each zone gets its own app (the session's app and settings are shared)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, token_for

# The test clock says 2026-11-27 01:00 UTC: 08:00 WIB, 09:00 WITA.


@pytest.fixture
def zoned(settings, clock, engine):  # type: ignore[no-untyped-def]
    """zoned('Asia/Makassar')('sup') → an API client of an app whose site is in that zone."""
    from siaga.app import create_app

    clients: list[TestClient] = []

    def for_zone(name: str):  # type: ignore[no-untyped-def]
        app = create_app(settings.model_copy(update={"timezone": name}), clock=clock, engine=engine)

        def client(username: str | None = None, browser: bool = False) -> TestClient:
            headers = {"Authorization": f"Bearer {token_for(username)}"} if username and not browser else {}
            c = TestClient(app, headers=headers, raise_server_exceptions=False, follow_redirects=False)
            clients.append(c)
            if browser:
                assert c.post("/login", data={"username": username, "password": PASSWORD}).status_code == 303
            return c

        return client

    yield for_zone
    for c in clients:
        c.close()


def send(client: TestClient, ref: str, kind: str, at: str) -> None:
    r = client.post("/api/v1/call-events", json={"event_id": f"{ref}-{kind}", "call_ref": ref, "type": kind,
                                                 "at": at, "caller_number": "081234567890"})
    assert r.status_code == 201, r.text


def test_the_wallboards_today_starts_at_the_sites_midnight(api, zoned):
    wita = zoned("Asia/Makassar")
    # 26 Nov 16:30 UTC: 00:30 WITA on the 27th (today), 23:30 WIB on the 26th (yesterday).
    send(wita("phone"), "early", "offered", "2026-11-26T16:30:00Z")
    send(wita("phone"), "early", "answered", "2026-11-26T16:30:05Z")
    assert wita("sup").get("/api/v1/stats/wallboard").json()["calls_offered_today"] == 1
    assert api("sup").get("/api/v1/stats/wallboard").json()["calls_offered_today"] == 0


def test_kpi_hours_and_days_are_the_sites(api, zoned):
    wita = zoned("Asia/Makassar")
    send(api("phone"), "a", "offered", "2026-11-02T01:10:00Z")  # Monday 08:10 WIB, 09:10 WITA
    send(api("phone"), "b", "offered", "2026-10-31T16:30:00Z")  # 31 Oct 23:30 WIB, but 1 Nov 00:30 WITA
    params = {"from": "2026-11-01", "to": "2026-12-01", "by": ["hour", "day"]}

    def offered(client: TestClient) -> tuple[str, dict, dict]:
        body = client.get("/api/v1/reports/kpis", params=params).json()
        hours = {row["key"]: row["offered"] for row in body["groups"]["hour"]["calls"] if row["offered"]}
        days = {row["key"]: row["offered"] for row in body["groups"]["day"]["calls"] if row["offered"]}
        return body["timezone"], hours, days

    assert offered(wita("sup")) == ("Asia/Makassar (WITA, UTC+8)", {0: 1, 9: 1}, {"2026-11-01": 1, "2026-11-02": 1})
    assert offered(api("sup")) == ("Asia/Jakarta (WIB, UTC+7)", {8: 1}, {"2026-11-02": 1})


def test_kpi_hours_of_a_zone_half_an_hour_off_utc(zoned):
    """India (UTC+05:30): the database groups by UTC quarter-hour so 06:50 and 07:10 local stay apart."""
    ist = zoned("Asia/Kolkata")
    send(ist("phone"), "a", "offered", "2026-11-02T01:20:00Z")  # 06:50 IST
    send(ist("phone"), "b", "offered", "2026-11-02T01:40:00Z")  # 07:10 IST
    send(ist("phone"), "c", "offered", "2026-11-02T01:59:59Z")  # 07:29:59 IST
    body = ist("sup").get("/api/v1/reports/kpis", params={"from": "2026-11-01", "to": "2026-11-08",
                                                          "by": "hour"}).json()
    assert {row["key"]: row["offered"] for row in body["groups"]["hour"]["calls"] if row["offered"]} == {6: 1, 7: 2}


def test_staffing_hours_of_the_week_are_the_sites(api, zoned):
    wita = zoned("Asia/Makassar")
    send(api("phone"), "a", "offered", "2026-11-02T01:10:00Z")  # Monday 08:10 WIB, 09:10 WITA
    send(api("phone"), "z", "offered", "2026-11-08T15:30:00Z")  # Sunday 22:30 WIB, 23:30 WITA
    week = {"from": "2026-11-02", "to": "2026-11-08"}

    def busy(client: TestClient) -> set[tuple[int, int]]:
        return {(h["weekday"], h["hour"]) for h in client.get("/api/v1/staffing", params=week).json()["hours"]
                if h["calls"]}

    assert busy(wita("sup")) == {(0, 9), (6, 23)}
    assert busy(api("sup")) == {(0, 8), (6, 22)}


def test_incident_numbers_follow_the_sites_new_year(api, zoned, clock):
    clock.set(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 WITA on 1 Jan 2027; 23:30 WIB on 31 Dec
    wita = zoned("Asia/Makassar")
    in_wita = wita("ct").post("/api/v1/incidents", json={"category_code": "kebakaran"})
    in_wib = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran"})
    assert in_wita.status_code == in_wib.status_code == 201, (in_wita.text, in_wib.text)
    assert re.fullmatch(r"BKS-2027-\d{6}", in_wita.json()["number"])
    assert re.fullmatch(r"BKS-2026-\d{6}", in_wib.json()["number"])


def test_response_plan_hours_are_the_sites_local_hours(api, zoned):
    wita = zoned("Asia/Makassar")

    def proposal(site) -> set[str]:  # type: ignore[no-untyped-def]
        """The plan is evaluated when the proposal is asked for, at the asking site's local hour."""
        incident = api("ct").post("/api/v1/incidents", json={"category_code": "medis"}).json()
        r = site("disp").get(f"/api/v1/incidents/{incident['id']}/proposal")
        assert r.status_code == 200, r.text
        return {a["code"] for a in r.json()["agencies"]}

    before = proposal(api)
    assert "BPBD" not in before and proposal(wita) == before
    rule = api("admin").post("/api/v1/response-rules", json={
        "name": "Medis jam 09 → BPBD", "category_code": "medis", "hour_from": 9, "hour_to": 10,
        "agency_codes": ["BPBD"]})
    assert rule.status_code == 201, rule.text
    assert proposal(wita) == {"BPBD"}  # 09:00 WITA: inside the window
    assert proposal(api) == before  # 08:00 WIB: outside it


def test_pages_and_fragments_show_the_sites_zone(api, zoned):
    wita = zoned("Asia/Makassar")
    created = wita("ct").post("/api/v1/incidents", json={"category_code": "kebakaran"}).json()
    browser = wita("disp", browser=True)
    fragment = browser.get(f"/incident/{created['id']}/timeline")
    assert fragment.status_code == 200 and "27-11-2026 09:00:00 WITA" in fragment.text
    assert "WIB" not in fragment.text
    page = browser.get(f"/incident/{created['id']}")
    ref = json.loads(re.search(r'<script type="application/json" id="siaga-ref">(.*?)</script>', page.text,
                               re.S).group(1))
    assert ref["zone"] == {"name": "Asia/Makassar", "label": "WITA"}
    assert ref["words"]["created"] == "Dibuat (WITA)"
    stats = wita("sup", browser=True).get("/stats").text
    assert "Semua waktu dalam WITA (UTC+08:00)." in stats and "WIB" not in stats


def test_reports_and_exports_are_in_the_sites_zone(api, zoned):
    wita = zoned("Asia/Makassar")
    send(api("phone"), "a", "offered", "2026-11-02T01:10:00Z")
    period = {"from": "2026-11-01", "to": "2026-12-01"}
    export = wita("sup").get("/api/v1/reports/monitoring", params={**period, "format": "json"}).json()
    assert export["timezone"] == "Asia/Makassar (WITA, UTC+8)"
    assert [c["occurred_at"] for c in export["calls"]] == ["2026-11-02T09:10:00+08:00"]
    report = wita("sup").get("/api/v1/reports/period", params={**period, "format": "json", "lang": "en"}).json()
    assert report["timezone"] == "Asia/Makassar (WITA, UTC+8)"
    html = wita("sup").get("/api/v1/reports/period", params={**period, "format": "html", "lang": "en"}).text
    assert "27 November 2026 09:00 WITA" in html and "Calls by hour of day (WITA)" in html and "WIB" not in html
