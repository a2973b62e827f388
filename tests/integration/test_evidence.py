"""The evidence pack for the police: a PDF with every call of a number (WIB times, outcomes, operators,
notes), the measures and callbacks, and the audit-chain hashes; supervisors only; its export audited."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.core.clock import SiteZone
from siaga.db.engine import unit_of_work
from tests import cli
from tests.cli import Ran

WIB = SiteZone.named("Asia/Jakarta")  # the test app's default zone

NUMBER = "081277770042"
FULL = "+6281277770042"
PERIOD = {"from": "2026-11-01", "to": "2026-12-01"}


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def flat(text: str) -> str:
    return " ".join(text.split())


def make_calls(api, clock) -> list[dict]:  # type: ignore[no-untyped-def]
    calls = []
    for number, outcome, notes in ((NUMBER, "prank", "Penelepon tertawa lalu menutup"),
                                   ("+6281277770042", "emergency", "Kebakaran rumah di Jl. Sudirman")):
        ref = f"ev-{len(calls)}"
        r = api("phone").post("/api/v1/call-events", json={
            "event_id": ref + "-o", "call_ref": ref, "type": "offered", "at": clock.now().isoformat(),
            "caller_number": number})
        assert r.status_code in (200, 201), r.text
        c = r.json()["call"]
        clock.advance(seconds=5)
        c = api("ct").post(f"/api/v1/calls/{c['id']}/claim", json={"version": c["version"]}).json()
        clock.advance(seconds=65)
        r = api("ct").patch(f"/api/v1/calls/{c['id']}", json={"version": c["version"], "outcome": outcome,
                                                               "notes": notes, "end": True})
        assert r.status_code == 200, r.text
        calls.append(r.json())
        clock.advance(hours=2)
    return calls


def test_the_evidence_pack_holds_calls_measures_callbacks_and_hashes(api, engine, clock):
    calls = make_calls(api, clock)
    r = api("sup").post(f"/api/v1/callers/{NUMBER}/measures", json={
        "kind": "flag", "reason": "Panggilan iseng berulang", "legal_basis": "Pasal 28 UU ITE"})
    assert r.status_code == 201, r.text
    r = api("ct").post(f"/api/v1/calls/{calls[0]['id']}/callbacks", json={"result": "no_answer", "note": "tidak aktif"})
    assert r.status_code == 201, r.text

    r = api("sup").get(f"/api/v1/callers/{NUMBER}/evidence", params=PERIOD)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    text = flat(pdf_text(r.content))
    assert "Pemerintah Kabupaten Bengkalis" in text and FULL in text
    for c in calls:
        offered = WIB.format(datetime.fromisoformat(c["offered_at"]))
        assert offered in text and offered.endswith("WIB")
    assert "Iseng (prank)" in text and "Darurat" in text
    assert "Kebakaran rumah di Jl. Sudirman" in text and "ct" in text
    assert "1:05" in text  # answered → ended
    assert "Panggilan iseng berulang" in text and "Pasal 28 UU ITE" in text
    assert "tidak diangkat" in text
    assert "UTUH" in text and "intact" in text and "siaga audit verify" in text
    with unit_of_work(engine, write=False) as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.entity == "call",
                                                    AuditEntry.entity_id == str(calls[1]["id"]))
                           .order_by(AuditEntry.seq.desc())).first()
        assert entry is not None
        compact = text.replace(" ", "")
        assert entry.hash in compact
        exports = db.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.export")).all()
    assert len(exports) == 1
    assert exports[0].actor_id is not None and exports[0].data_dict == {
        "number": FULL, "from": "2026-11-01", "to": "2026-12-01", "by": "sup"}


def test_only_supervisors_and_bad_input_is_a_422_naming_the_field(api):
    assert api("ct").get(f"/api/v1/callers/{NUMBER}/evidence", params=PERIOD).status_code == 403
    assert api("disp").get(f"/api/v1/callers/{NUMBER}/evidence", params=PERIOD).status_code == 403
    for params, field in (({"from": "2026-11-10", "to": "2026-11-01"}, "query.to"),
                          ({"from": "2025-01-01", "to": "2026-11-01"}, "query.to"),
                          ({"from": "2026-13-01", "to": "2026-11-01"}, "query.from"),
                          ({"to": "2026-11-01"}, "query.from")):
        r = api("sup").get(f"/api/v1/callers/{NUMBER}/evidence", params=params)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["errors"][0]["field"] == field
    r = api("sup").get("/api/v1/callers/anonymous/evidence", params=PERIOD)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.number"


def siaga(url: str, *args: str, cwd: Path) -> Ran:
    return cli.run(*args, env={"SIAGA_DATABASE_URL": url}, cwd=cwd)


@pytest.mark.slow
def test_the_cli_writes_the_pdf_and_says_what_is_wrong(api, clock, db_url, engine, tmp_path):
    calls = make_calls(api, clock)
    out = tmp_path / "bukti.pdf"
    done = siaga(db_url, "callers", "evidence", NUMBER, "--from", "2026-11-01", "--to", "2026-11-30",
                 "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = flat(pdf_text(out.read_bytes()))
    assert FULL in text and WIB.format(datetime.fromisoformat(calls[0]["offered_at"])) in text
    with unit_of_work(engine, write=False) as db:
        assert db.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.export")) is not None
    # --to is the last day, included (as in `siaga report`): the calls of 27 November are in a pack that
    # ends on 27 November.
    one_day = siaga(db_url, "callers", "evidence", NUMBER, "--from", "2026-11-27", "--to", "2026-11-27",
                    "--out", str(tmp_path / "day.pdf"), cwd=tmp_path)
    assert one_day.returncode == 0, one_day.stderr
    assert "both included" in one_day.stdout
    assert WIB.format(datetime.fromisoformat(calls[0]["offered_at"])) in flat(pdf_text(
        (tmp_path / "day.pdf").read_bytes()))
    bad = siaga(db_url, "callers", "evidence", NUMBER, "--from", "2026-11-10", "--to", "2026-11-01", cwd=tmp_path)
    assert bad.returncode == 1 and "--to" in bad.stderr and "Traceback" not in bad.stderr
    bad = siaga(db_url, "callers", "evidence", NUMBER, "--from", "yesterday", "--to", "2026-11-01", cwd=tmp_path)
    assert bad.returncode == 1 and "--from" in bad.stderr
