"""The period report's content, built once from the KPIs and then written as JSON, HTML, PDF or XLSX
(`render.py`): headline numbers against their targets, calls by outcome (where the unanswered calls
went), answer-time service levels by hour, day of week, calendar and operator, incidents by category,
kecamatan and agency with NFPA processing, and each agency's stage times. Rows made by `siaga simulate` are
left out unless asked for, and the report says how many there were."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siaga.core.clock import Clock
from siaga.core.i18n import words
from siaga.domains.kpi import service as kpi
from siaga.domains.kpi.definitions import OUTCOMES, STAGES, TARGETS, CallCounts, ProcessingCounts, StageTimes
from siaga.domains.quality import service as quality
from siaga.domains.quality.sampling import SampleRule
from siaga.domains.regions.service import served_regency
from siaga.domains.reports import fmt

Progress = Callable[[str, int, int], None]

# The report's build steps, for a progress bar on long runs.
STEPS = ("calls", "incidents", "agencies", "quality", "labels")

SIMULATED_TEXT = {
    ("id", False): "Tidak termasuk {calls} panggilan dan {incidents} kejadian simulasi (siaga simulate).",
    ("en", False): "Excludes {calls} simulated calls and {incidents} simulated incidents (siaga simulate).",
    ("id", True): "Termasuk {calls} panggilan dan {incidents} kejadian simulasi (siaga simulate): angka ini bukan "
                  "kinerja layanan yang sebenarnya.",
    ("en", True): "Includes {calls} simulated calls and {incidents} simulated incidents (siaga simulate): these "
                  "figures are not the service's real performance.",
}


@dataclass
class Column:
    key: str
    title: str
    kind: str  # text | int | pct | seconds


@dataclass
class Table:
    """One table of the report; HTML, PDF and XLSX all write the same tables."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str = ""


@dataclass
class Headline:
    key: str
    label: str
    value: float | int | None
    kind: str
    target: float | None = None
    standard: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.value >= self.target


@dataclass
class PeriodReport:
    period: kpi.Period
    lang: str
    generated_at: datetime
    trend_by: str
    calls: dict[str, dict[kpi.Key, CallCounts]]
    processing: dict[str, dict[kpi.Key, ProcessingCounts]]
    stages: dict[kpi.Key, StageTimes]
    labels: dict[str, dict[kpi.Key, str]]
    simulated: kpi.SimulatedCounts = field(default_factory=lambda: kpi.SimulatedCounts(0, 0))
    qa: quality.QaFigures = field(default_factory=quality.QaFigures)
    w: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def total(self) -> CallCounts:
        return self.calls["total"][kpi.TOTAL]

    @property
    def total_processing(self) -> ProcessingCounts:
        return self.processing["total"][kpi.TOTAL]

    @property
    def period_text(self) -> str:
        return fmt.period_text(self.period, self.lang)

    @property
    def simulated_text(self) -> str:
        """What the figures do with simulated rows; empty when the period has none and they are left out."""
        s = self.simulated
        if not s.included and not s.calls and not s.incidents:
            return ""
        return SIMULATED_TEXT[(self.lang, s.included)].format(calls=fmt.integer(s.calls, self.lang),
                                                              incidents=fmt.integer(s.incidents, self.lang))

    # --- headline ------------------------------------------------------------------------------------

    def headline(self) -> list[Headline]:
        w, c, p = self.w, self.total, self.total_processing
        return [
            Headline("offered", w["st_calls_offered"], c.offered, "int"),
            Headline("answered", w["st_calls_answered"], c.answered, "int"),
            Headline("incidents", w["st_incidents"], p.incidents, "int"),
            Headline("avg_answer_s", w["kpi_avg_answer_s"], c.avg_answer_s, "seconds", standard="EU COCOM"),
            Headline("slowest_10pct_avg_s", w["kpi_slowest_10pct_avg_s"], c.slowest_10pct_avg_s, "seconds",
                     standard="EU COCOM"),
            Headline("pickup_median_s", w["kpi_pickup_median_s"], c.pickup_median_s, "seconds"),
            Headline("pickup_p90_s", w["kpi_pickup_p90_s"], c.pickup_p90_s, "seconds"),
            Headline("pct_answered_10s", w["kpi_pct_answered_10s"], c.pct_answered_10s, "pct",
                     TARGETS["pct_answered_10s"], "NFPA 1225, EU COCOM"),
            Headline("pct_answered_15s", w["kpi_pct_answered_15s"], c.pct_answered_15s, "pct",
                     TARGETS["pct_answered_15s"], "NENA-STA-020.1"),
            Headline("pct_answered_20s", w["kpi_pct_answered_20s"], c.pct_answered_20s, "pct",
                     TARGETS["pct_answered_20s"], "NENA-STA-020.1"),
            Headline("abandon_rate", w["kpi_abandon_rate"], c.abandon_rate, "pct", standard="EU COCOM"),
            Headline("false_call_share", w["kpi_false_call_share"], c.false_call_share, "pct", standard="EU COCOM"),
            Headline("out_of_hours_share", w["kpi_out_of_hours_share"], c.out_of_hours_share, "pct"),
            Headline("pct_processed_60s", w["kpi_pct_processed_60s"], p.pct_processed_60s, "pct",
                     TARGETS["pct_processed_60s"], "NFPA 1225"),
        ]

    def summary_text(self) -> str:
        c, p, lang = self.total, self.total_processing, self.lang
        other = c.unanswered - c.out_of_hours - c.abandoned
        return self.w["st_summary_text"].format(
            offered=fmt.integer(c.offered, lang), answered=fmt.integer(c.answered, lang),
            answer_rate=fmt.percent(c.answer_rate, lang), out_of_hours=fmt.integer(c.out_of_hours, lang),
            abandoned=fmt.integer(c.abandoned, lang), other_unanswered=fmt.integer(other, lang),
            false_calls=fmt.integer(c.false_calls, lang), emergency=fmt.integer(c.outcomes.get("emergency", 0), lang),
            incidents=fmt.integer(p.incidents, lang))

    # --- tables --------------------------------------------------------------------------------------

    def outcome_rows(self) -> list[tuple[str, str, int, float | None]]:
        """(outcome, label, count, share of offered %) — unanswered fates first, then what answered calls were."""
        c = self.total
        order = ("missed_out_of_hours", "abandoned", "unclassified", "emergency", "information", "prank", "ghost",
                 "wrong_number", "test")
        assert set(order) == set(OUTCOMES)
        return [(o, self.w[f"outcome_{o}"], c.outcomes.get(o, 0),
                 round(100 * c.outcomes.get(o, 0) / c.offered, 1) if c.offered else None) for o in order]

    def tables(self) -> list[Table]:
        w = self.w
        count, share = w["st_count"], w["st_share"]
        tables = [
            Table("outcomes", w["st_outcomes"], [Column("outcome", w["outcome"], "text"), Column("n", count, "int"),
                                                   Column("share", share, "pct")],
                  [[label, n, pct] for _o, label, n, pct in self.outcome_rows()], w["st_outcomes_note"]),
            self._call_table("by_hour", w["st_by_hour"], "hour", w["st_hour"]),
            self._call_table("by_dow", w["st_by_dow"], "dow", w["st_day"]),
            self._call_table("trend", w[f"st_trend_{self.trend_by}"], self.trend_by,
                             w["st_week"] if self.trend_by == "week" else w["st_period"]),
            self._call_table("by_operator", w["st_by_operator"], "operator", w["st_operator"]),
            self._incident_table("incidents_category", w["st_incidents_category"], "category", w["category"]),
            self._incident_table("incidents_kecamatan", w["st_incidents_kecamatan"], "kecamatan", w["kecamatan"]),
            self._incident_table("incidents_agency", w["st_incidents_agency"], "agency", w["agency"]),
            self._stage_table(),
            *self._qa_tables(),
        ]
        return tables

    def _qa_tables(self) -> list[Table]:
        """Quality review: the sample and the reviews (with the mean score), each checklist item's pass rate,
        and per call-taker."""
        w, qa = self.w, self.qa
        summary = Table("qa", w["st_qa"], [Column("figure", w["st_indicator"], "text"),
                                            Column("value", w["st_value"], "text")],
                        [[w["st_qa_sample"], fmt.integer(qa.sample_size, self.lang)],
                         [w["st_qa_reviewed"], fmt.integer(qa.reviewed, self.lang)],
                         [w["st_qa_reviewed_sampled"], fmt.integer(qa.reviewed_sampled, self.lang)],
                         [w["st_qa_mean_score"], fmt.percent(qa.mean_score, self.lang)]], w["st_qa_note"])
        items = Table("qa_items", w["st_qa_items"],
                      [Column("item", w["st_qa_item"], "text"), Column("passed", w["qa_pass"], "int"),
                       Column("failed", w["qa_fail"], "int"), Column("na", w["qa_na"], "int"),
                       Column("pass_rate", w["st_qa_pass_rate"], "pct")],
                      [[i.label, i.passed, i.failed, i.not_applicable, i.pass_rate] for i in qa.items])
        operators = Table("qa_operators", w["st_qa_operators"],
                          [Column("operator", w["st_operator"], "text"), Column("sampled", w["st_qa_sample"], "int"),
                           Column("reviewed", w["st_qa_reviewed"], "int"),
                           Column("mean_score", w["st_qa_mean_score"], "pct")],
                          [[o.name, o.sampled, o.reviewed, o.mean_score] for o in qa.operators])
        return [summary, items, operators]

    def _call_table(self, key: str, title: str, by: str, first: str) -> Table:
        w = self.w
        columns = [Column("group", first, "text"), Column("offered", w["st_col_offered"], "int"),
                   Column("answered", w["st_col_answered"], "int"),
                   Column("pct_answered_10s", "≤ 10 s", "pct"), Column("pct_answered_15s", "≤ 15 s", "pct"),
                   Column("pct_answered_20s", "≤ 20 s", "pct"),
                   Column("avg_answer_s", w["st_col_avg"], "seconds"),
                   Column("slowest_10pct_avg_s", w["st_col_slowest"], "seconds"),
                   Column("pickup_median_s", w["st_col_pickup"], "seconds"),
                   Column("abandon_rate", w["st_col_abandoned"], "pct"),
                   Column("out_of_hours_share", w["st_col_out_of_hours"], "pct")]
        rows = []
        for k, c in self.calls[by].items():
            if by == "operator" and c.answered == 0:
                continue  # unanswered calls have no operator
            rows.append([self.labels[by].get(k, str(k)), c.offered, c.answered, c.pct_answered_10s,
                         c.pct_answered_15s, c.pct_answered_20s, c.avg_answer_s, c.slowest_10pct_avg_s,
                         c.pickup_median_s, c.abandon_rate, c.out_of_hours_share])
        return Table(key, title, columns, rows)

    def _incident_table(self, key: str, title: str, by: str, first: str) -> Table:
        w = self.w
        columns = [Column("group", first, "text"),
                   Column("incidents", w["st_assignments"] if by == "agency" else w["st_incidents"], "int"),
                   Column("measured", w["st_measured"], "int"),
                   Column("pct_processed_60s", w["st_col_processed"], "pct"),
                   Column("avg_processing_s", w["st_col_avg_processing"], "seconds")]
        rows = [[self.labels[by].get(k, str(k)), p.incidents, p.measured, p.pct_processed_60s, p.avg_processing_s]
                for k, p in sorted(self.processing[by].items(), key=lambda kv: -kv[1].incidents)]
        return Table(key, title, columns, rows)

    def _stage_table(self) -> Table:
        w = self.w
        columns = [Column("agency", w["agency"], "text"), Column("stage", w["st_stage"], "text"),
                   Column("n", w["st_count"], "int"), Column("median_s", w["st_median"], "seconds"),
                   Column("p90_s", w["st_p90"], "seconds")]
        rows = []
        for k, times in self.stages.items():
            for stage, figures in times.summary().items():
                rows.append([self.labels["agency"].get(k, str(k)), w[f"stage_{stage}"], figures["n"],
                             figures["median_s"], figures["p90_s"]])
        return Table("stages", w["st_stage_times"], columns, rows, w["def_stages"])

    def definitions(self) -> list[tuple[str, str]]:
        w = self.w
        return [(w["st_calls_offered"], w["def_offered"]), (w["kpi_avg_answer_s"], w["def_avg_answer_s"]),
                (w["kpi_slowest_10pct_avg_s"], w["def_slowest_10pct_avg_s"]),
                (w["kpi_pickup_median_s"], w["def_pickup"]),
                ("≤ 10 / 15 / 20 s", w["def_pct_answered"]), (w["kpi_abandon_rate"], w["def_abandon_rate"]),
                (w["kpi_false_call_share"], w["def_false_call_share"]),
                (w["kpi_out_of_hours_share"], w["def_out_of_hours_share"]),
                (w["kpi_pct_processed_60s"], w["def_pct_processed_60s"]), (w["st_stage_times"], w["def_stages"]),
                (w["st_period"], w["def_period"])]

    # --- JSON ----------------------------------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        def rows(by: str, table: dict[kpi.Key, Any]) -> list[dict[str, Any]]:
            return [{"key": k, "label": self.labels[by].get(k, str(k)), **v.as_dict()} for k, v in table.items()]

        return {
            "from": self.period.start_date.isoformat(), "to": self.period.end_date.isoformat(),
            "last_day": self.period.last_day.isoformat(),
            "timezone": self.period.zone.description, "language": self.lang,
            "simulated": self.simulated.as_dict(),
            "generated_at": self.generated_at.isoformat(),
            "calls": {"total": self.total.as_dict(), "trend_by": self.trend_by,
                      **{by: rows(by, self.calls[by]) for by in ("hour", "dow", self.trend_by, "operator")}},
            "incidents": {"total": self.total_processing.as_dict(),
                          **{by: rows(by, self.processing[by]) for by in ("category", "kecamatan", "agency")}},
            "agency_stages": [{"key": k, "label": self.labels["agency"].get(k, str(k)), "assignments": t.assignments,
                               "stages": t.summary()} for k, t in self.stages.items()],
            "qa": self.qa.as_dict(),
            "targets": TARGETS,
            "stages": [name for name, _s, _e in STAGES],
        }


def build(db: Session, period: kpi.Period, lang: str, now: datetime | None = None,
          progress: Progress | None = None, include_simulated: bool = False,
          sample_rule: SampleRule | None = None) -> PeriodReport:
    """Every figure of the report for the period: two scans of the calls, a few small queries on the
    incidents and assignments. Run it in one read transaction (a consistent snapshot on PostgreSQL).
    Simulated calls and incidents are left out unless `include_simulated`; either way they are counted."""

    step = progress or (lambda _name, _done, _total: None)
    trend_by = period.natural_grouping()
    step("calls", 0, len(STEPS))
    sim = include_simulated
    calls = kpi.call_counts_by(db, period, ["total", "hour", "dow", trend_by, "operator"], include_simulated=sim)
    step("incidents", 1, len(STEPS))
    processing = kpi.processing_counts_by(db, period, ["total", "category", "kecamatan", "agency"],
                                          include_simulated=sim)
    step("agencies", 2, len(STEPS))
    stages = kpi.stage_times(db, period, "agency", include_simulated=sim)
    simulated = kpi.simulated_counts(db, period, included=sim)
    step("quality", 3, len(STEPS))
    qa = quality.period_figures(db, period.start, period.end, sample_rule or SampleRule(), lang, include_simulated=sim)
    step("labels", 4, len(STEPS))
    labels = {by: kpi.labels(db, by, table, lang) for by, table in {**calls, **processing}.items()}
    labels["agency"] = kpi.labels(db, "agency", [*processing["agency"], *stages], lang)
    stages = dict(sorted(stages.items(), key=lambda kv: labels["agency"].get(kv[0], "")))
    step("done", len(STEPS), len(STEPS))
    return PeriodReport(period=period, lang=lang, generated_at=now or Clock().now(), trend_by=trend_by,
                        calls=calls, processing=processing, stages=stages, labels=labels, simulated=simulated, qa=qa,
                        w=words(lang, period.zone, regency.name if (regency := served_regency(db)) else ""))
