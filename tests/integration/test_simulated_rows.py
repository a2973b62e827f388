"""Rows made by `siaga simulate` (calls marked `simulated`, incidents whose every call is simulated) stay
out of the KPIs, the period report, the monitoring export, the wallboard's "today" and the staffing history
unless asked for (`include_simulated` / `--include-simulated`), and the reports say how
many were left out. Both databases.

On top of the hand-computed October of kpi_fixture.py (13 calls offered, 4 incidents, NFPA (4, 2, 1)):
  s1 sim-0a1b2c3d4e-0000001  Fri 02 Oct 09:00:00, answered after 30 s, emergency → incident S1 (kebakaran,
     created 09:01:00; DAMKAR notified 09:01:10, acknowledged 09:01:20, unit dispatched 09:01:10 + 60 s)
  s2 sim-0a1b2c3d4e-0000002  Fri 02 Oct 09:30:00, abandoned
  s3 sim-live-t9-0000001     Thu 01 Oct 07:59:00, answered after 2 s, linked to the REAL incident I1 (so I1
     stays real: it has real calls) — with simulated rows counted, I1's first answer moves to 07:59:02."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from siaga.core.clock import SiteZone
from siaga.db.engine import unit_of_work
from siaga.domains.agencies.models import Agency
from siaga.domains.calls.models import Call
from siaga.domains.incidents.models import Assignment, Incident, UnitAssignment
from siaga.domains.kpi import service as kpi
from siaga.domains.units.models import Unit
from siaga.domains.users.models import User
from tests.integration.kpi_fixture import load_october, wib
from tests.integration.test_reports import siaga

OCT = {"from": "2026-10-01", "to": "2026-11-01"}
OCTOBER = kpi.make_period(date(2026, 10, 1), date(2026, 11, 1), SiteZone.named("Asia/Jakarta"))


def add_simulated(db, ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    ct = db.scalar(select(User.id).where(User.username == "ct"))
    damkar = db.scalar(select(Agency.id).where(Agency.code == "DAMKAR"))
    unit = db.scalar(select(Unit.id).where(Unit.agency_id == damkar).order_by(Unit.id))
    s1_incident = Incident(number="BKS-2026-800001", category_code="kebakaran", priority=2, status="closed",
                           kode_wilayah="14.03.01", created_at=wib(10, 2, 9, 1), created_by=ct, answers={},
                           description="[simulasi trial-2025]")
    db.add(s1_incident)
    db.flush()
    dispatched = wib(10, 2, 9, 1, 10) + timedelta(seconds=60)
    a = Assignment(incident_id=s1_incident.id, agency_id=damkar, state="cleared", notified_at=wib(10, 2, 9, 1, 10),
                   acknowledged_at=wib(10, 2, 9, 1, 20), dispatched_at=dispatched,
                   on_scene_at=dispatched + timedelta(minutes=10), cleared_at=dispatched + timedelta(minutes=40))
    db.add(a)
    db.flush()
    db.add(UnitAssignment(assignment_id=a.id, incident_id=s1_incident.id, unit_id=unit, active=False,
                          dispatched_at=dispatched, on_scene_at=a.on_scene_at, cleared_at=a.cleared_at))
    for ref, offered, answer_s, outcome, incident in (
            ("sim-0a1b2c3d4e-0000001", wib(10, 2, 9, 0), 30, "emergency", s1_incident.id),
            ("sim-0a1b2c3d4e-0000002", wib(10, 2, 9, 30), None, "abandoned", None),
            ("sim-live-t9-0000001", wib(10, 1, 7, 59), 2, "emergency", ids["I1"])):
        answered = offered + timedelta(seconds=answer_s) if answer_s is not None else None
        db.add(Call(external_ref=ref, caller_number="081299990000", status="ended" if answered else "abandoned",
                    offered_at=offered, answered_at=answered, ended_at=(answered or offered) + timedelta(seconds=40),
                    operator_id=ct if answered else None, outcome=outcome, incident_id=incident, notes="simulasi",
                    simulated=True))
    db.flush()
    ids["S1"] = s1_incident.id


@pytest.fixture
def october(engine):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as db:
        ids = load_october(db)
        add_simulated(db, ids)
    return ids


def test_kpis_leave_simulated_rows_out_and_count_them(engine, october):
    with unit_of_work(engine, write=False) as db:
        calls = kpi.call_counts(db, OCTOBER)["all"]
        assert (calls.offered, calls.answered, calls.abandoned) == (13, 9, 1)  # kpi_fixture's hand figures
        p = kpi.processing_counts(db, OCTOBER)["all"]
        assert (p.incidents, p.measured, p.within_60s, p.avg_processing_s) == (4, 2, 1, 88.0)  # I1 still 136 s
        assert kpi.stage_times(db, OCTOBER, "total")["all"].assignments == 5
        assert kpi.simulated_counts(db, OCTOBER) == kpi.SimulatedCounts(calls=3, incidents=1, included=False)

        calls = kpi.call_counts(db, OCTOBER, include_simulated=True)["all"]
        assert (calls.offered, calls.answered, calls.abandoned) == (16, 11, 2)
        p = kpi.processing_counts(db, OCTOBER, include_simulated=True)["all"]
        # I1: 07:59:02 → 08:02:20 = 198 s; I2 40 s; S1: 09:00:30 → 09:02:10 = 100 s.
        assert (p.incidents, p.measured, p.within_60s, p.avg_processing_s) == (5, 3, 1, 112.7)
        assert kpi.stage_times(db, OCTOBER, "total", include_simulated=True)["all"].assignments == 6


def test_the_kpi_api_and_the_period_report(api, october):
    body = api("sup").get("/api/v1/reports/kpis", params=OCT).json()
    assert body["groups"]["total"]["calls"][0]["offered"] == 13
    assert body["simulated"] == {"included": False, "calls": 3, "incidents": 1}
    body = api("sup").get("/api/v1/reports/kpis", params={**OCT, "include_simulated": "true"}).json()
    assert body["groups"]["total"]["calls"][0]["offered"] == 16
    assert body["simulated"] == {"included": True, "calls": 3, "incidents": 1}

    report = api("sup").get("/api/v1/reports/period", params={**OCT, "format": "json"}).json()
    assert report["calls"]["total"]["offered"] == 13 and report["incidents"]["total"]["incidents"] == 4
    assert report["simulated"] == {"included": False, "calls": 3, "incidents": 1}
    assert (report["to"], report["last_day"]) == ("2026-11-01", "2026-10-31")
    page = api("sup").get("/api/v1/reports/period", params={**OCT, "format": "html", "lang": "en"}).text
    assert "Excludes 3 simulated calls and 1 simulated incidents" in page
    page = api("sup").get("/api/v1/reports/period", params={**OCT, "format": "html", "include_simulated": "true"}).text
    assert "Termasuk 3 panggilan dan 1 kejadian simulasi" in page
    xlsx = api("sup").get("/api/v1/reports/period", params={**OCT, "format": "xlsx", "lang": "en"}).content
    summary = load_workbook(io.BytesIO(xlsx))["Summary"]
    assert summary["B8"].value == 13
    assert any("Excludes 3 simulated calls" in str(c.value) for row in summary.iter_rows() for c in row)


def test_a_period_without_simulated_rows_says_nothing_about_them(api, october):
    page = api("sup").get("/api/v1/reports/period", params={"from": "2026-11-01", "to": "2026-12-01",
                                                            "format": "html", "lang": "en"}).text
    assert "simulated" not in page


def test_the_monitoring_export(api, october):
    rows = list(csv.DictReader(io.StringIO(api("sup").get("/api/v1/reports/monitoring", params=OCT).text)))
    assert sum(r["record_type"] == "call" for r in rows) == 13
    incidents = {r["incident_number"]: r for r in rows if r["record_type"] == "incident"}
    assert len(incidents) == 4 and "BKS-2026-800001" not in incidents
    i1 = incidents["BKS-2026-900001"]
    assert i1["calls"] == "2" and i1["first_answer_at"] == "2026-10-01T08:00:04+07:00"  # its real calls only
    text = api("sup").get("/api/v1/reports/monitoring", params={**OCT, "include_simulated": "true"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sum(r["record_type"] == "call" for r in rows) == 16
    assert sum(r["record_type"] == "incident" for r in rows) == 5
    doc = json.loads(api("sup").get("/api/v1/reports/monitoring", params={**OCT, "format": "json"}).content)
    assert len(doc["calls"]) == 13 and len(doc["incidents"]) == 4
    assert doc["simulated"] == {"included": False, "calls": 3, "incidents": 1} and doc["last_day"] == "2026-10-31"


def test_the_staffing_history(api, october):
    body = api("sup").get("/api/v1/staffing", params={"from": "2026-10-01", "to": "2026-10-31"}).json()
    assert (body["calls_offered"], body["calls_answered"], body["simulated_calls"]) == (13, 9, 3)
    assert body["simulated_included"] is False
    body = api("sup").get("/api/v1/staffing", params={"from": "2026-10-01", "to": "2026-10-31",
                                                      "include_simulated": "true"}).json()
    assert (body["calls_offered"], body["calls_answered"], body["simulated_included"]) == (16, 11, True)


def test_the_wallboard_counts_todays_real_calls(api, engine, clock):
    now = clock.now()  # 27 Nov 2026, 08:00 WIB
    with unit_of_work(engine) as db:
        for ref, ago in (("pbx-today-1", 3600), ("sim-live-t8-0000001", 1800), ("sim-live-t8-0000002", 60)):
            offered = now - timedelta(seconds=ago)
            db.add(Call(external_ref=ref, caller_number="081200001111", status="ended", offered_at=offered,
                        answered_at=offered + timedelta(seconds=5), ended_at=offered + timedelta(seconds=50),
                        outcome="information", notes="", simulated=ref.startswith("sim-")))
    board = api("sup").get("/api/v1/stats/wallboard").json()
    assert (board["calls_offered_today"], board["calls_answered_today"], board["answered_within_15s_today"]) == (
        1, 1, 1)


def test_the_mark_is_the_column_not_the_reference(engine, api):
    """A phone system whose call ids happen to begin with `sim-` is counted like any other; a drill sent
    through the call-events API with `simulated: true` (as `siaga simulate --live` does) is left out."""
    december = kpi.make_period(date(2026, 12, 1), date(2027, 1, 1), OCTOBER.zone)
    with unit_of_work(engine) as db:
        for n, ref in enumerate(("sim-from-a-real-pbx-1", "SIM-PBX-1", "pbx-sim-3", None)):
            db.add(Call(external_ref=ref, caller_number="", status="abandoned", offered_at=wib(12, 2, 10, n),
                        outcome="abandoned", notes=""))
    for ref, simulated in (("drill-1", True), ("sim-real-2", False)):
        r = api("phone").post("/api/v1/call-events", json={
            "event_id": f"{ref}-offered", "call_ref": ref, "type": "offered",
            "at": wib(12, 3, 10, 0).isoformat(), "caller_number": "081277770000", "simulated": simulated})
        assert r.status_code == 201, r.text
        assert r.json()["call"]["simulated"] is simulated
    # A later event of the drill does not change what the call is.
    r = api("phone").post("/api/v1/call-events", json={
        "event_id": "drill-1-ended", "call_ref": "drill-1", "type": "ended", "at": wib(12, 3, 10, 1).isoformat()})
    assert r.json()["call"]["simulated"] is True
    with unit_of_work(engine, write=False) as db:
        assert kpi.simulated_counts(db, december).calls == 1
        assert kpi.call_counts(db, december)["all"].offered == 5
        assert kpi.call_counts(db, december, include_simulated=True)["all"].offered == 6


def test_the_command_line_leaves_them_out_and_says_so(db_url, october, tmp_path):
    r = siaga(db_url, tmp_path, "report", "--month", "2026-10", "--format", "json", "--out", "-")
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(r.stdout)["calls"]["total"]["offered"] == 13
    assert "Left out: 3 simulated calls and 1 simulated incidents" in " ".join(r.stderr.decode().split())
    r = siaga(db_url, tmp_path, "report", "--month", "2026-10", "--format", "json", "--out", "-",
              "--include-simulated")
    assert json.loads(r.stdout)["calls"]["total"]["offered"] == 16
    r = siaga(db_url, tmp_path, "report", "--month", "2026-10", "--format", "csv", "--out", "-")
    assert sum(1 for row in csv.DictReader(io.StringIO(r.stdout.decode())) if row["record_type"] == "call") == 13
    r = siaga(db_url, tmp_path, "staffing", "--from", "2026-10-01", "--to", "2026-10-31", "--json")
    assert r.returncode == 0, r.stderr.decode()
    assert (json.loads(r.stdout)["calls_offered"], json.loads(r.stdout)["simulated_calls"]) == (13, 3)
    r = siaga(db_url, tmp_path, "staffing", "--from", "2026-10-01", "--to", "2026-10-31")
    assert "Left out: 3 simulated calls" in " ".join(r.stdout.decode().split())
    r = siaga(db_url, tmp_path, "staffing", "--from", "2026-10-01", "--to", "2026-10-31", "--json",
              "--include-simulated")
    assert json.loads(r.stdout)["calls_offered"] == 16
