"""The pickup delay (issue #17) on both databases: the first `ringing` event sets call.ringing_at, answered −
ringing_at is measured per call, and shows as median / 90th percentile in the KPIs, the period report (JSON,
HTML, PDF) and `siaga staffing`'s pickup model."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime

from pypdf import PdfReader
from sqlalchemy import select

from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import Call

PERIOD = "from=2026-11-02&to=2026-11-09"
WEEK = {"from": "2026-11-02", "to": "2026-11-08"}


def send(api, ref: str, kind: str, at: str, event_id: str | None = None) -> None:  # type: ignore[no-untyped-def]
    r = api("phone").post("/api/v1/call-events", json={"event_id": event_id or f"{ref}-{kind}", "call_ref": ref,
                                                       "type": kind, "at": at, "caller_number": "081234567890"})
    assert r.status_code == 201, r.text


def seed(api) -> None:  # type: ignore[no-untyped-def]
    # Monday 2 Nov 2026, 08:xx WIB. Three calls ring at an operator and are picked up after 3, 12 and 5 s.
    for ref, minute, pickup in (("p1", 10, 3), ("p2", 20, 12), ("p3", 30, 5)):
        send(api, ref, "offered", f"2026-11-02T01:{minute}:00Z")
        send(api, ref, "ringing", f"2026-11-02T01:{minute}:04Z")  # waited 4 s in the queue first
        send(api, ref, "ringing", f"2026-11-02T01:{minute}:06Z", f"{ref}-ringing-again")  # a later ring: not the first
        send(api, ref, "answered", f"2026-11-02T01:{minute}:{4 + pickup:02d}Z")
        send(api, ref, "ended", f"2026-11-02T01:{minute + 1}:00Z")
        send(api, ref, "ringing", f"2026-11-02T01:{minute + 2}:00Z", f"{ref}-ringing-late")  # after the end
    # Rang, and the caller hung up during the ring.
    send(api, "p4", "offered", "2026-11-02T01:40:00Z")
    send(api, "p4", "ringing", "2026-11-02T01:40:01Z")
    send(api, "p4", "abandoned", "2026-11-02T01:40:09Z")
    # Answered without a ring reported (e.g. a PBX that sends none): answered, not measured.
    send(api, "p5", "offered", "2026-11-02T01:50:00Z")
    send(api, "p5", "answered", "2026-11-02T01:50:07Z")
    send(api, "p5", "ended", "2026-11-02T01:51:00Z")


def test_the_first_ring_is_kept_and_the_pickup_measured(api, engine):
    seed(api)
    with unit_of_work(engine, write=False) as db:
        rows = {r.external_ref: r for r in db.scalars(select(Call).where(Call.external_ref.like("p%")))}
    assert rows["p1"].ringing_at == datetime(2026, 11, 2, 1, 10, 4, tzinfo=UTC)
    assert {ref: (rows[ref].answered_at - rows[ref].ringing_at).total_seconds() for ref in ("p1", "p2", "p3")} == \
        {"p1": 3.0, "p2": 12.0, "p3": 5.0}
    assert rows["p4"].ringing_at is not None and rows["p4"].answered_at is None
    assert rows["p5"].ringing_at is None


def test_kpis_and_period_report_show_median_and_p90(api):
    seed(api)
    r = api("disp").get(f"/api/v1/reports/kpis?{PERIOD}&by=total&by=hour&lang=en")
    assert r.status_code == 200, r.text
    total = r.json()["groups"]["total"]["calls"][0]
    # 3, 5, 12 s: median 5 s, 90th percentile 5 + 0.8 × (12 − 5) = 10.6 s; p5 rang nowhere, p4 was not answered.
    assert (total["pickup_measured"], total["pickup_median_s"], total["pickup_p90_s"]) == (3, 5.0, 10.6)
    assert r.json()["groups"]["hour"]["calls"][8]["pickup_median_s"] == 5.0
    assert r.json()["groups"]["hour"]["calls"][9]["pickup_median_s"] is None
    body = api("sup").get(f"/api/v1/reports/period?{PERIOD}&format=json").json()
    assert (body["calls"]["total"]["pickup_median_s"], body["calls"]["total"]["pickup_p90_s"]) == (5.0, 10.6)
    html = api("sup").get(f"/api/v1/reports/period?{PERIOD}&format=html", headers={"Accept-Language": "id"}).text
    assert 'id="kpi-pickup_median_s"' in html and 'id="kpi-pickup_p90_s"' in html and "Jeda angkat" in html
    pdf = api("sup").get(f"/api/v1/reports/period?{PERIOD}&format=pdf&lang=en").content
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Pickup delay (median)" in text and "10.6 s" in text and "Pickup delay: from the first ring" in text


def test_staffing_uses_the_measured_pickup(api):
    seed(api)
    body = api("sup").get("/api/v1/staffing", params=WEEK).json()
    assert (body["pickup_source"], body["pickup_s"], body["pickup_measured"]) == ("measured", 5.0, 3)
    assert body["pickup_stay"] == 0.75  # of the four calls that rang, three were answered
    assert body["pickup_ceiling"] == 0.75  # so no roster answers 90% within 15 s
    hour = next(h for h in body["hours"] if (h["weekday"], h["hour"]) == (0, 8))
    assert 0 < hour["answered_within"] <= 0.75


def test_staffing_without_a_measured_pickup_uses_the_default(api, settings):
    send(api, "q1", "offered", "2026-11-03T01:00:00Z")
    send(api, "q1", "answered", "2026-11-03T01:00:05Z")
    send(api, "q1", "ended", "2026-11-03T01:02:05Z")
    send(api, "q2", "offered", "2026-11-03T02:00:00Z")
    send(api, "q2", "abandoned", "2026-11-03T02:00:25Z")
    body = api("sup").get("/api/v1/staffing", params=WEEK).json()
    assert (body["pickup_source"], body["pickup_s"], body["pickup_measured"]) == (
        "default", settings.pickup_default_seconds, 0)
    # stay from the exponential patience: e^(−D/p), p = (5 + 25) s seen / 1 hang-up = 30 s
    assert body["pickup_stay"] == round(math.exp(-settings.pickup_default_seconds / 30.0), 4)
