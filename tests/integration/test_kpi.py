"""Every KPI against numbers computed by hand from tests/integration/kpi_fixture.py (its docstring lists the
calls and incidents), on both databases."""

from __future__ import annotations

from datetime import date

import pytest

from siaga.core.clock import SiteZone
from siaga.db.engine import unit_of_work
from siaga.domains.kpi import service
from siaga.domains.kpi.definitions import percentile, slowest_10pct_avg
from siaga.domains.kpi.service import PeriodError, make_period
from tests.integration.kpi_fixture import load_october

WIB = SiteZone.named("Asia/Jakarta")  # the Bengkalis fixture's zone
OCTOBER = make_period(date(2026, 10, 1), date(2026, 11, 1), WIB)


@pytest.fixture
def october(engine):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as db:
        ids = load_october(db)
    with unit_of_work(engine, write=False) as db:
        yield db, ids


def test_call_kpis_for_the_month(october):
    db, _ids = october
    total = service.call_counts(db, OCTOBER)["all"]
    # c1..c12 and c15 were offered in October (WIB); c13 (30 Sep 23:59:59) and c14 (1 Nov 00:00) were not.
    assert total.offered == 13
    # Answered: c1 c2 c3 c4 c5 c6 c10 c11 c12 with 4, 12, 16, 25, 10, 20, 15, 3, 8 seconds.
    assert total.answered == 9
    assert total.answer_s_sum == 113.0
    assert total.avg_answer_s == 12.56                    # 113 / 9
    assert (total.answered_10s, total.answered_15s, total.answered_20s) == (4, 6, 8)  # ≤ 10 s is inclusive
    assert total.pct_answered_10s == 30.8                 # 4 / 13 offered
    assert total.pct_answered_15s == 46.2                 # 6 / 13
    assert total.pct_answered_20s == 61.5                 # 8 / 13
    assert total.slowest_10pct_avg_s == 25.0              # ceil(9 / 10) = 1 slowest: 25 s
    assert total.abandoned == 1 and total.abandon_rate == 7.7            # c7: 1 / 13
    assert total.out_of_hours == 2 and total.out_of_hours_share == 15.4  # c8, c9: 2 / 13
    assert total.false_calls == 3 and total.false_call_share == 33.3     # prank, ghost, wrong number / 9 answered
    assert total.answer_rate == 69.2                                     # 9 / 13
    assert total.outcomes == {"emergency": 4, "information": 1, "prank": 1, "ghost": 1, "abandoned": 1,
                              "missed_out_of_hours": 2, "wrong_number": 1, "test": 1, "unclassified": 1}


def test_call_kpis_by_hour_day_of_week_and_calendar(october):
    db, _ids = october
    by_hour = service.call_counts(db, OCTOBER, "hour")
    assert list(by_hour) == list(range(24))  # every hour, quiet ones as zero
    assert {h: c.offered for h, c in by_hour.items() if c.offered} == {
        2: 1, 3: 1, 8: 2, 9: 2, 10: 2, 12: 1, 14: 1, 15: 1, 23: 2}
    assert by_hour[8].slowest_10pct_avg_s == 12.0 and by_hour[8].avg_answer_s == 8.0  # 4 s and 12 s
    assert by_hour[23].answered == 2 and by_hour[23].slowest_10pct_avg_s == 8.0       # c11 3 s, c12 8 s
    assert by_hour[2].answered == 0 and by_hour[2].avg_answer_s is None and by_hour[2].out_of_hours_share == 100.0

    by_dow = service.call_counts(db, OCTOBER, "dow")  # 1 October 2026 is a Thursday (4)
    assert {d: (c.offered, c.answered) for d, c in by_dow.items()} == {
        1: (2, 2), 2: (1, 0), 3: (0, 0), 4: (3, 3), 5: (2, 2), 6: (3, 2), 7: (2, 0)}

    by_day = service.call_counts(db, OCTOBER, "day")
    assert len(by_day) == 31
    assert {d: c.offered for d, c in by_day.items() if c.offered} == {
        "2026-10-01": 3, "2026-10-02": 2, "2026-10-03": 2, "2026-10-04": 2, "2026-10-05": 2, "2026-10-06": 1,
        "2026-10-31": 1}
    by_week = service.call_counts(db, OCTOBER, "week")  # weeks start on Monday
    assert {w: c.offered for w, c in by_week.items()} == {
        "2026-09-28": 9, "2026-10-05": 3, "2026-10-12": 0, "2026-10-19": 0, "2026-10-26": 1}
    assert {m: c.offered for m, c in service.call_counts(db, OCTOBER, "month").items()} == {"2026-10-01": 13}


def test_call_kpis_by_operator_and_category(october):
    db, ids = october
    by_op = service.call_counts(db, OCTOBER, "operator")
    ct, sup = by_op[ids["user:ct"]], by_op[ids["user:sup"]]
    # ct: c1 4, c2 12, c3 16, c6 20, c11 3, c12 8; sup: c4 25, c5 10, c10 15; unanswered calls have none.
    assert (ct.answered, ct.answer_s_sum, ct.avg_answer_s, ct.answered_10s, ct.slowest_10pct_avg_s) == (
        6, 63.0, 10.5, 3, 20.0)
    assert (sup.answered, sup.avg_answer_s, sup.answered_15s, sup.slowest_10pct_avg_s) == (3, 16.67, 2, 25.0)
    assert by_op[None].offered == 4 and by_op[None].answered == 0
    labels = service.labels(db, "operator", by_op, "id")
    assert labels[ids["user:ct"]] == "Test ct" and labels[None] == "(tanpa)"

    by_cat = service.call_counts(db, OCTOBER, "category")
    assert {k: c.offered for k, c in by_cat.items()} == {"kebakaran": 3, "medis": 1, None: 9}


def test_nfpa_processing(october):
    db, ids = october
    total = service.processing_counts(db, OCTOBER)["all"]
    # I1: c1 answered 08:00:04, first unit 08:02:20 → 136 s; I2: c6 answered 14:00:20, unit 14:01:00 → 40 s;
    # I3 has no unit, I5 no call: not measured. I4 is November's.
    assert (total.incidents, total.measured, total.within_60s) == (4, 2, 1)
    assert total.pct_processed_60s == 50.0 and total.avg_processing_s == 88.0
    by_cat = service.processing_counts(db, OCTOBER, "category")
    assert {k: (p.incidents, p.measured, p.pct_processed_60s) for k, p in by_cat.items()} == {
        "kebakaran": (2, 1, 0.0), "medis": (2, 1, 100.0)}
    by_kec = service.processing_counts(db, OCTOBER, "kecamatan")
    assert {k: p.incidents for k, p in by_kec.items()} == {"14.03.01": 1, "14.03.16": 2, None: 1}
    assert service.labels(db, "kecamatan", by_kec, "id")["14.03.16"] == "Bathin Solapan"
    # By agency: from the incident's first answer to that agency's first unit.
    by_agency = service.processing_counts(db, OCTOBER, "agency")
    damkar, dinkes = by_agency[ids["agency:DAMKAR"]], by_agency[ids["agency:DINKES"]]
    assert (damkar.incidents, damkar.measured, damkar.within_60s) == (2, 1, 0)  # I1 136 s; I3 no unit
    assert (dinkes.incidents, dinkes.measured, dinkes.within_60s) == (3, 2, 1)  # I1 326 s, I2 40 s; I5 no call
    assert dinkes.avg_processing_s == 183.0


def test_agency_stage_times(october):
    db, ids = october
    stages = service.stage_times(db, OCTOBER, "agency")
    damkar = stages[ids["agency:DAMKAR"]].summary()
    assert stages[ids["agency:DAMKAR"]].assignments == 2  # I1 and I3 (I4 is November's)
    assert damkar["acknowledge"] == {"n": 1, "median_s": 30.0, "p90_s": 30.0}
    assert damkar["clear"] == {"n": 1, "median_s": 3600.0, "p90_s": 3600.0}
    assert damkar["response"] == {"n": 1, "median_s": 650.0, "p90_s": 650.0}
    dinkes = stages[ids["agency:DINKES"]].summary()
    # acknowledge: I1 120, I2 10, I5 10 → sorted 10, 10, 120: median 10; p90 at rank 1.8: 10 + 0.8 × 110 = 98
    assert dinkes["acknowledge"] == {"n": 3, "median_s": 10.0, "p90_s": 98.0}
    assert dinkes["dispatch"] == {"n": 3, "median_s": 10.0, "p90_s": 98.0}
    assert dinkes["travel"] == {"n": 3, "median_s": 600.0, "p90_s": 840.0}      # 600, 600, 900
    assert dinkes["clear"] == {"n": 2, "median_s": 1500.0, "p90_s": 1740.0}     # 1200, 1800 (I1 not cleared)
    assert dinkes["response"] == {"n": 3, "median_s": 620.0, "p90_s": 1036.0}   # 620, 620, 1140
    everyone = service.stage_times(db, OCTOBER, "total")["all"]
    assert everyone.assignments == 5 and everyone.summary()["acknowledge"]["n"] == 4


def test_reference_functions_agree_with_the_sql(october):
    db, _ids = october
    waits = [4, 12, 16, 25, 10, 20, 15, 3, 8]
    assert slowest_10pct_avg(waits) == service.call_counts(db, OCTOBER)["all"].slowest_10pct_avg_s
    assert slowest_10pct_avg(list(range(1, 12))) == 10.5  # 11 answered → the 2 slowest: 11 and 10
    assert slowest_10pct_avg([]) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5 and percentile([], 90) is None


def test_empty_period(engine):
    with unit_of_work(engine, write=False) as db:
        total = service.call_counts(db, OCTOBER)["all"]
        assert total.offered == 0 and total.pct_answered_15s is None and total.avg_answer_s is None
        assert total.slowest_10pct_avg_s is None
        assert service.processing_counts(db, OCTOBER)["all"].pct_processed_60s is None
        assert service.stage_times(db, OCTOBER) == {}


@pytest.mark.parametrize("start, end, code", [
    (date(2026, 10, 2), date(2026, 10, 1), "period_order"),
    (date(2026, 10, 1), date(2026, 10, 1), "period_order"),
    (date(2024, 1, 1), date(2026, 1, 2), "period_too_long"),
    (date(2024, 2, 29), date(2026, 3, 2), "period_too_long"),
])
def test_bad_periods(start, end, code):
    with pytest.raises(PeriodError) as exc:
        make_period(start, end, WIB)
    assert exc.value.code == code and exc.value.field == "to"
    assert make_period(date(2024, 1, 1), date(2026, 1, 1), WIB).days == 731  # exactly two years is allowed


def test_period_boundaries_are_wib_midnights():
    assert OCTOBER.start.isoformat() == "2026-09-30T17:00:00+00:00"
    assert OCTOBER.end.isoformat() == "2026-10-31T17:00:00+00:00"
    assert OCTOBER.last_day == date(2026, 10, 31)
    assert service.time_keys(OCTOBER, "week")[0] == "2026-09-28"
    assert service.time_keys(make_period(date(2026, 11, 15), date(2027, 2, 1), WIB), "month") == [
        "2026-11-01", "2026-12-01", "2027-01-01"]
