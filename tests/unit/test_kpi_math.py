"""The pure parts of the KPIs and reports: the vectorised "slowest 10%" against its reference definition on
random groups, percentiles, WIB calendar keys of UTC hours, number formats of both languages, SVG charts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.core.clock import SiteZone
from siaga.domains.kpi import service
from siaga.domains.kpi.definitions import CallCounts, percentile, slowest_10pct_avg, slowest_10pct_count
from siaga.domains.kpi.sql import local_of_cell
from siaga.domains.reports import charts, fmt

WIB = SiteZone.named("Asia/Jakarta")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 120_000).map(lambda ms: ms / 1000)), max_size=200))
def test_vectorised_slowest_decile_equals_the_definition(calls):
    groups = 5
    index = np.array([g for g, _w in calls], dtype=np.int64)
    waits = np.array([w for _g, w in calls], dtype=np.float64)
    by_wait = np.argsort(-waits, kind="stable")
    result = service._slowest_decile(index, by_wait, waits[by_wait], groups)
    for g in range(groups):
        expected = slowest_10pct_avg([w for gg, w in calls if gg == g])
        if expected is None:
            assert np.isnan(result[g])
        else:
            assert round(float(result[g]), 2) == expected


def test_slowest_share_rounds_up():
    assert [slowest_10pct_count(n) for n in (0, 1, 9, 10, 11, 20, 21)] == [0, 1, 1, 1, 2, 2, 3]


def test_percentile_interpolates_linearly():
    assert percentile([5.0], 90) == 5.0
    assert percentile([10.0, 10.0, 120.0], 90) == 98.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90) == 9.1
    assert np.isclose(percentile(list(map(float, range(101))), 50), np.percentile(range(101), 50))


def test_utc_hours_map_to_wib_calendar_keys():
    sunday_night = local_of_cell("2026-10-04 16", WIB)  # 23:00 WIB Sunday 4 October
    monday = local_of_cell(datetime(2026, 10, 4, 17), WIB)  # PostgreSQL gives a naive UTC timestamp
    assert (service._time_key("day", sunday_night), service._time_key("hour", sunday_night),
            service._time_key("dow", sunday_night)) == ("2026-10-04", 23, 7)
    assert (service._time_key("day", monday), service._time_key("hour", monday), service._time_key("dow", monday),
            service._time_key("week", monday), service._time_key("month", monday)) == (
        "2026-10-05", 0, 1, "2026-10-05", "2026-10-01")
    assert service._time_key("week", sunday_night) == "2026-09-28"


def test_call_counts_add_up():
    a = CallCounts(offered=3, answered=2, answered_10s=1, answer_s_sum=20.0, outcomes={"prank": 1, "emergency": 1})
    a.add(CallCounts(offered=1, answered=1, answered_10s=1, answer_s_sum=5.0, outcomes={"prank": 1}))
    assert (a.offered, a.answered, a.answer_s_sum, a.outcomes) == (4, 3, 25.0, {"prank": 2, "emergency": 1})
    assert a.avg_answer_s == 8.33 and a.false_call_share == 66.7 and a.pct_answered_10s == 50.0


def test_numbers_in_both_languages():
    assert fmt.integer(1026, "id") == "1.026" and fmt.integer(1026, "en") == "1,026"
    assert fmt.decimal(12345.67, "id", 1) == "12.345,7" and fmt.decimal(12345.67, "en", 1) == "12,345.7"
    assert fmt.percent(46.2, "id") == "46,2%" and fmt.percent(None, "id") == "—"
    assert fmt.duration(98.0, "en") == "98.0 s" and fmt.duration(1036, "id") == "17,3 mnt"
    period = service.make_period(date(2026, 10, 1), date(2026, 11, 1), WIB)
    assert fmt.period_text(period, "id") == "1 Oktober 2026 – 31 Oktober 2026"
    assert fmt.local_time(datetime(2026, 11, 27, 1, 0, tzinfo=UTC), "en", WIB) == "27 November 2026 08:00 WIB"


def test_svg_charts_escape_their_text():
    svg = charts.bars([("<script>", 3), ("A & B", 0)], title="x<y")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "A &amp; B" in svg
    columns = charts.columns(["00", "01"], [("offered", [3, None], charts.GREY)], target=90, y_max=100)
    assert columns.count("<rect") == 2  # the legend's square and one column (None draws nothing)
    assert charts.nice_ceiling(64_996) == 100_000 and charts.nice_ceiling(3) == 5 and charts.nice_ceiling(0) == 1
