"""The period report (JSON, HTML, PDF, XLSX), the KPI API and the monitoring export, over the October
fixture of tests/integration/kpi_fixture.py (the figures are worked out by hand in test_kpi.py); bad periods
and formats are problem+json 422s; `siaga report` writes the same files from the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from siaga.db.engine import unit_of_work
from siaga.domains.calls.privacy import mask_number
from siaga.domains.reports.monitoring import CSV_COLUMNS
from tests import cli
from tests.cli import Ran
from tests.integration.kpi_fixture import load_october

OCT = "from=2026-10-01&to=2026-11-01"


@pytest.fixture
def october(engine):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as db:
        return load_october(db)


def pdf_text(content: bytes) -> str:
    """The PDF's text with every run of whitespace as one space (lines wrap where the layout wants)."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_period_report_json_carries_the_hand_computed_kpis(api, october):
    r = api("sup").get(f"/api/v1/reports/period?{OCT}&format=json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-11-01")
    calls = body["calls"]["total"]
    assert (calls["offered"], calls["answered"], calls["avg_answer_s"]) == (13, 9, 12.56)
    assert calls["pct_answered_15s"] == 46.2
    assert calls["slowest_10pct_avg_s"] == 25.0 and calls["abandon_rate"] == 7.7 and calls["false_call_share"] == 33.3
    assert calls["outcomes"]["missed_out_of_hours"] == 2
    assert body["calls"]["trend_by"] == "day" and len(body["calls"]["day"]) == 31
    assert body["incidents"]["total"] == {"incidents": 4, "measured": 2, "processed_60s": 1, "pct_processed_60s": 50.0,
                                          "avg_processing_s": 88.0}
    dinkes = next(a for a in body["agency_stages"] if a["key"] == october["agency:DINKES"])
    assert dinkes["label"] == "Dinkes / PSC 119" and dinkes["stages"]["acknowledge"]["p90_s"] == 98.0


def test_period_report_pdf_in_indonesian_and_english(api, october):
    r = api("sup").get(f"/api/v1/reports/period?{OCT}&format=pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert 'filename="siaga112-laporan-2026-10-01_2026-10-31.pdf"' in r.headers["content-disposition"]
    text = pdf_text(r.content)
    for expected in ("Laporan Kinerja Layanan Darurat 112", "Kabupaten Bengkalis", "1 Oktober 2026 – 31 Oktober 2026",
                     "Ringkasan", "Panggilan menurut hasil", "Di luar jam layanan (tak terjawab)",
                     "Dari 13 panggilan masuk, 9 dijawab (69,2%)", "2 di luar jam layanan", "1 ditutup penelepon",
                     "12,6 s", "46,2%", "33,3%", "Belum tercapai", "Waktu tahapan per instansi", "Dinkes / PSC 119",
                     "Bathin Solapan", "Definisi"):
        assert expected in text, expected
    en = pdf_text(api("sup").get(f"/api/v1/reports/period?{OCT}&format=pdf&lang=en").content)
    for expected in ("112 Emergency Service Performance Report", "1 October 2026 – 31 October 2026",
                     "Of 13 calls offered, 9 were answered (69.2%)", "Out of hours (missed)", "46.2%", "Not met",
                     "Agency stage times", "Definitions"):
        assert expected in en, expected


def test_period_report_xlsx_cells(api, october):
    r = api("sup").get(f"/api/v1/reports/period?{OCT}&format=xlsx&lang=en")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "Summary" and wb.sheetnames[-1] == "Definitions"
    summary = {row[0]: row[1:] for row in wb["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Calls offered"][0] == 13 and summary["Calls answered"][0] == 9
    assert summary["Average answer time"][0] == 12.56
    within15 = summary["Answered within 15 s"]
    assert within15[0] == pytest.approx(0.462) and within15[1] == pytest.approx(0.9) and within15[3] == "Not met"
    assert summary["Processed within 60 s (answer → unit dispatched)"][0] == pytest.approx(0.5)
    outcomes = {row[0]: row[1:] for row in wb["Calls by outcome"].iter_rows(min_row=4, values_only=True)}
    assert outcomes["Out of hours (missed)"] == (2, pytest.approx(0.154))
    assert outcomes["Prank"] == (1, pytest.approx(0.077))
    hours = list(wb["Calls by hour of day (WIB)"].iter_rows(min_row=2, values_only=True))  # title, header
    assert hours[0][:3] == ("Hour", "Offered", "Answered") and len(hours) == 25
    assert hours[1 + 8][:3] == ("08:00", 2, 2) and hours[1 + 8][7] == 12.0  # slowest 10% at 08:00: 12 s
    stages = list(wb["Agency stage times"].iter_rows(min_row=4, values_only=True))
    assert ("Dinkes / PSC 119", "Notified → acknowledged", 3, 10.0, 98.0) in stages
    assert wb["Calls by hour of day (WIB)"]["D10"].number_format == "0.0%"


def test_period_report_html_page(api, october):
    r = api("sup").get(f"/api/v1/reports/period?{OCT}&format=html", headers={"Accept-Language": "id"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert '<html lang="id">' in page and "<svg" in page and "Tercapai" not in page.split('id="kpi-offered"')[1][:200]
    assert 'id="kpi-pct_answered_15s"' in page and "46,2%" in page


def test_kpis_api_for_the_statistics_page(api, october):
    r = api("disp").get(f"/api/v1/reports/kpis?{OCT}&by=total&by=hour&by=agency&by=category&lang=en")
    assert r.status_code == 200, r.text
    groups = r.json()["groups"]
    assert groups["total"]["calls"][0]["pct_answered_20s"] == 61.5
    assert [h["key"] for h in groups["hour"]["calls"]] == list(range(24))
    assert groups["hour"]["calls"][8]["label"] == "08:00"
    assert groups["agency"]["calls"] is None  # calls have no agency
    damkar = next(a for a in groups["agency"]["stages"] if a["key"] == october["agency:DAMKAR"])
    assert damkar["stages"]["clear"] == {"n": 1, "median_s": 3600.0, "p90_s": 3600.0}
    assert {c["label"]: c["incidents"] for c in groups["category"]["incidents"]} == {"Fire": 2,
                                                                                      "Medical emergency": 2}


def test_monitoring_export_csv(api, october):
    r = api("sup").get(f"/api/v1/reports/monitoring?{OCT}&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    calls = [row for row in rows if row["record_type"] == "call"]
    incidents = [row for row in rows if row["record_type"] == "incident"]
    assert len(calls) == 13 and len(incidents) == 4
    assert all(row["caller_masked"].startswith("****") and len(row["caller_masked"]) == 7 for row in calls)
    assert not any("0812345" in line for line in r.text.splitlines())  # no number leaks
    first = calls[0]
    assert first["occurred_at"] == "2026-10-01T08:00:00+07:00" and first["answered_at"] == "2026-10-01T08:00:04+07:00"
    assert first["answer_s"] == "4.0" and first["outcome"] == "emergency" and first["false_call"] == "false"
    assert first["incident_number"] == "BKS-2026-900001"
    prank = next(row for row in calls if row["outcome"] == "prank")
    assert prank["false_call"] == "true"
    i1 = next(row for row in incidents if row["incident_number"] == "BKS-2026-900001")
    assert (i1["category"], i1["kode_wilayah"], i1["kecamatan"], i1["agencies"]) == (
        "kebakaran", "14.03.01.1001", "14.03.01", "DAMKAR;DINKES")
    assert (i1["calls"], i1["processing_s"], i1["first_answer_at"]) == ("2", "136.0", "2026-10-01T08:00:04+07:00")
    assert i1["first_unit_dispatched_at"] == "2026-10-01T08:02:20+07:00"


def test_monitoring_export_json(api, october):
    r = api("sup").get(f"/api/v1/reports/monitoring?{OCT}&format=json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = json.loads(r.content)
    assert (doc["format"], doc["version"], doc["centre"]) == ("siaga112-monitoring", 1,
                                                               {"kode_wilayah": "14.03", "name": "Kabupaten Bengkalis"})
    assert len(doc["calls"]) == 13 and len(doc["incidents"]) == 4
    false_codes = {o["code"] for o in doc["taxonomy"]["call_outcomes"] if o["false_call"]}
    assert false_codes == {"prank", "ghost", "wrong_number"}
    assert any(c["code"] == "kebakaran" for c in doc["taxonomy"]["categories"])
    i2 = next(i for i in doc["incidents"] if i["category"] == "medis" and i["calls"] == 1)
    assert i2["agencies"] == ["DINKES"] and i2["processing_s"] == 40.0 and i2["kecamatan"] == "14.03.16"
    waiting = next(c for c in doc["calls"] if c["outcome"] is None)
    assert waiting["answered_at"] is None and waiting["status"] == "ringing"


def test_an_empty_export_is_still_well_formed(api):
    doc = json.loads(api("admin").get("/api/v1/reports/monitoring?from=2030-01-01&to=2030-02-01&format=json").content)
    assert doc["calls"] == [] and doc["incidents"] == []
    text = api("admin").get("/api/v1/reports/monitoring?from=2030-01-01&to=2030-02-01").text
    assert text.strip() == ",".join(CSV_COLUMNS)
    r = api("admin").get("/api/v1/reports/period?from=2030-01-01&to=2030-02-01&format=pdf")
    assert r.status_code == 200 and "Tidak ada data" in pdf_text(r.content)


def test_mask_number():
    assert mask_number("081234567890") == "****890"
    assert mask_number("+62 812-3456-7123") == "****123"
    assert mask_number("112") == "***" and mask_number("") == "" and mask_number("anonymous") == ""


@pytest.mark.parametrize("path", ["/api/v1/reports/period", "/api/v1/reports/monitoring", "/api/v1/reports/kpis"])
@pytest.mark.parametrize("query, field, code", [
    ("from=2026-11-01&to=2026-10-01", "query.to", "period_order"),
    ("from=2026-10-01&to=2026-10-01", "query.to", "period_order"),
    ("from=2024-01-01&to=2026-01-02", "query.to", "period_too_long"),
    ("from=1900-01-01&to=1900-02-01", "query.from", "out_of_range"),
    ("from=2026-13-01&to=2026-11-01", "query.from", None),
    ("to=2026-11-01", "query.from", "missing"),
    ("from=2026-10-01&to=2026-11-01&format=docx", "query.format", "literal_error"),
])
def test_bad_input_is_a_problem_json_422(api, path, query, field, code):
    if "format=docx" in query and path.endswith("kpis"):
        query = query.replace("format=docx", "by=planet")
        field = "query.by.0"
    r = api("sup").get(f"{path}?{query}", headers={"Accept-Language": "en"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "validation_failed" and problem["title"] == "The submitted data is not valid"
    assert any(e["field"] == field and (code is None or e["code"] == code) for e in problem["errors"]), problem


def test_who_may_read_reports(api):
    for who, allowed in (("sup", True), ("admin", True), ("disp", True), ("ct", False), ("damkar", False),
                         ("phone", False)):
        r = api(who).get(f"/api/v1/reports/kpis?{OCT}")
        assert (r.status_code == 200) is allowed, (who, r.status_code)


# --- the command line ----------------------------------------------------------------------------------------

def siaga(url: str, cwd: Path, *args: str) -> Ran:
    return cli.run(*args, env={"SIAGA_DATABASE_URL": url}, cwd=cwd, binary=True)


def test_cli_writes_pdf_xlsx_csv_and_json(db_url, october, tmp_path):
    r = siaga(db_url, tmp_path, "report", "--month", "2026-10", "--format", "pdf")
    assert r.returncode == 0, r.stderr.decode()
    pdf = tmp_path / "siaga112-laporan-2026-10-01_2026-10-31.pdf"
    assert "Dari 13 panggilan masuk" in pdf_text(pdf.read_bytes())
    assert b"Period 2026-10-01 .. 2026-10-31" in r.stderr
    out = tmp_path / "oct.xlsx"
    r = siaga(db_url, tmp_path, "report", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "xlsx",
              "--lang", "en", "--out", str(out))
    assert r.returncode == 0, r.stderr.decode()
    assert load_workbook(out)["Summary"]["B8"].value == 13
    r = siaga(db_url, tmp_path, "report", "--quarter", "2026-Q4", "--format", "csv", "--out", "-")
    assert r.returncode == 0, r.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(r.stdout.decode())))
    assert sum(1 for row in rows if row["record_type"] == "call") == 14  # c14 (1 Nov) is in Q4 too
    r = siaga(db_url, tmp_path, "report", "--month", "2026-10", "--format", "json", "--out", "-")
    assert json.loads(r.stdout)["calls"]["total"]["offered"] == 13
    r = siaga(db_url, tmp_path, "report", "--month", "2026-10", "--kind", "monitoring", "--format", "json",
              "--out", "-")
    assert len(json.loads(r.stdout)["calls"]) == 13


@pytest.mark.parametrize("args, message", [
    (("--from", "2026-11-01", "--to", "2026-10-01"), "--to 2026-10-01 is before --from 2026-11-01"),
    (("--from", "2024-01-01", "--to", "2026-06-01"), "at most 2 years"),
    (("--from", "2024-01-01", "--to", "2026-01-01"), "--to at most 2025-12-31"),
    (("--from", "01/10/2026", "--to", "2026-11-01"), "--from must be a date YYYY-MM-DD"),
    (("--month", "2026-13"), "--month must be YYYY-MM"),
    (("--month", "2026-10", "--format", "docx"), "--format must be one of"),
    (("--month", "2026-10", "--format", "csv", "--kind", "report"), "has no CSV form"),
    (("--to", "2026-10-01"), "from is required"),
])
def test_cli_bad_input_is_a_readable_error(db_url, tmp_path, args, message):
    r = siaga(db_url, tmp_path, "report", *args)
    stderr = r.stderr.decode()
    assert r.returncode == 1 and message in " ".join(stderr.split()), stderr
    assert "Traceback" not in stderr


def test_cli_report_and_staffing_both_count_the_to_day(db_url, october, tmp_path):
    """--to is the last day, included, in both commands: c12 (Sat 31 Oct 23:59 WIB) is counted, c14 (1 Nov
    00:00 WIB) is not."""
    for first, last, offered in (("2026-10-31", "2026-10-31", 1), ("2026-10-01", "2026-10-31", 13)):
        r = siaga(db_url, tmp_path, "report", "--from", first, "--to", last, "--format", "json", "--out", "-")
        assert r.returncode == 0, r.stderr.decode()
        body = json.loads(r.stdout)
        assert body["calls"]["total"]["offered"] == offered
        assert (body["from"], body["last_day"]) == (first, last)
        assert f"Period {first} .. {last}".encode() in r.stderr
        r = siaga(db_url, tmp_path, "staffing", "--from", first, "--to", last, "--json")
        assert r.returncode == 0, r.stderr.decode()
        body = json.loads(r.stdout)
        assert body["calls_offered"] == offered and (body["period_from"], body["period_to"]) == (first, last)
    # The heading of the report shows the last day itself.
    r = siaga(db_url, tmp_path, "report", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "html",
              "--lang", "en", "--out", "-")
    assert "1 October 2026 – 31 October 2026" in r.stdout.decode()
    # Yesterday's habit (--to the first of the next month) now includes that day, and the command says so.
    r = siaga(db_url, tmp_path, "report", "--from", "2026-10-01", "--to", "2026-11-01", "--format", "json",
              "--out", "-")
    assert json.loads(r.stdout)["calls"]["total"]["offered"] == 14
    assert "2026-11-01 is in the period" in " ".join(r.stderr.decode().split())
    help_text = " ".join(siaga(db_url, tmp_path, "report", "--help").stdout.decode().split())
    assert "included" in help_text and "--to 2026-10-31 is October" in help_text


def test_cli_before_migration_says_what_to_do(tmp_path):
    r = siaga(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path, "report", "--month", "2026-10")
    assert r.returncode == 1 and "siaga db upgrade" in r.stderr.decode()


def test_statistics_page_is_for_dispatchers_supervisors_and_admins(api):
    for who in ("sup", "disp", "admin"):
        page = api(who).get("/stats")
        assert page.status_code == 200, who
        assert "vendor/chart.js@4.6.1/chart.umd.min.js" in page.text and 'href="/stats"' in page.text
    assert api("ct").get("/stats").status_code == 403
    assert api("damkar").get("/stats").status_code == 403
    assert 'href="/stats"' not in api("ct").get("/calltaker").text  # not in a call-taker's nav
    assert api().get("/stats", follow_redirects=False).status_code == 303
