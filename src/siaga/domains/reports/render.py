"""The period report written out: a standalone HTML page (print-ready), the same page as a PDF through
WeasyPrint, and an XLSX workbook (openpyxl) with one sheet per table. All three write the tables of
`PeriodReport.tables()`, so they always agree."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from siaga.domains.reports import charts, fmt
from siaga.domains.reports.period import PeriodReport, Table

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "web" / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def cell_text(value: Any, kind: str, lang: str) -> str:
    if kind == "int":
        return fmt.integer(value, lang)
    if kind == "pct":
        return fmt.percent(value, lang)
    if kind == "seconds":
        return fmt.duration(value, lang)
    return fmt.DASH if value is None else str(value)


def report_charts(report: PeriodReport) -> dict[str, Markup]:
    """The SVG figures, keyed by the table they illustrate."""
    w, lang = report.w, report.lang
    out: dict[str, Markup] = {}
    outcomes = [(label, n) for _o, label, n, _p in report.outcome_rows()]
    out["outcomes"] = charts.bars(outcomes, fmt=lambda v: fmt.integer(v, lang))
    hours = report.calls["hour"]
    out["by_hour"] = charts.columns(
        [f"{h:02d}" for h in hours],
        [(w["st_calls_offered"], [c.offered for c in hours.values()], charts.GREY),
         (w["st_calls_answered"], [c.answered for c in hours.values()], charts.BLUE)],
        fmt=lambda v: fmt.integer(v, lang), label_every=2)
    trend = report.calls[report.trend_by]
    labels = {"day": lambda k: k[8:10], "week": lambda k: f"{k[8:10]}/{k[5:7]}",
              "month": lambda k: fmt.month_name(int(k[5:7]), lang)[:3]}[report.trend_by]
    out["trend"] = charts.columns(
        [labels(str(k)) for k in trend], [(w["st_sl_trend"], [c.pct_answered_15s for c in trend.values()],
                                          charts.GREEN)],
        target=90.0, y_max=100.0, fmt=lambda v: f"{v:.0f}%", label_every=max(1, len(trend) // 16))
    for key, by in (("incidents_category", "category"), ("incidents_kecamatan", "kecamatan"),
                    ("incidents_agency", "agency")):
        items = [(report.labels[by].get(k, str(k)), p.incidents)
                 for k, p in sorted(report.processing[by].items(), key=lambda kv: -kv[1].incidents)]
        if items:
            out[key] = charts.bars(items[:15], fmt=lambda v: fmt.integer(v, lang), color=charts.GREEN)
    response = [(report.labels["agency"].get(k, str(k)), t.summary()["response"]["median_s"])
                for k, t in report.stages.items()]
    response = [(label, v) for label, v in response if v is not None]
    if response:
        out["stages"] = charts.bars([(label, v / 60) for label, v in response],
                                    title=f"{w['stage_response']} — {w['st_median']}",
                                    fmt=lambda v: fmt.minutes(v, lang))
    return out


def html(report: PeriodReport) -> str:
    template = _env.get_template("reports/period.html")
    return template.render(r=report, w=report.w, tables=report.tables(), charts=report_charts(report),
                           generated=fmt.local_time(report.generated_at, report.lang, report.period.zone),
                           cell=lambda value, kind: cell_text(value, kind, report.lang))


class PdfUnavailable(RuntimeError):
    """WeasyPrint is installed but the Debian libraries it loads are not."""


def pdf(report: PeriodReport) -> bytes:
    try:
        from weasyprint import HTML
    except OSError as exc:  # cffi could not load Pango / HarfBuzz / fontconfig
        raise PdfUnavailable(f"PDF reports need Debian's Pango and HarfBuzz libraries ({exc}): run "
                             "`tools/system_deps.sh --lib weasyprint` as root, or apt-get install libpango-1.0-0 "
                             "libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core") from exc
    return HTML(string=html(report), base_url=str(TEMPLATES)).write_pdf()


def as_json(report: PeriodReport) -> bytes:
    return json.dumps(report.as_json(), ensure_ascii=False, indent=1).encode()


def _sheet_name(title: str, used: set[str]) -> str:
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Sheet"
    base, n = name, 2
    while name in used:
        suffix = f" {n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name)
    return name


def xlsx(report: PeriodReport) -> bytes:
    """One sheet for the summary, one per table, one for the definitions. Percentages are stored as
    fractions formatted '0.0%', times as seconds formatted '0.0', counts as integers."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    w, lang = report.w, report.lang
    bold, head_fill = Font(bold=True), PatternFill("solid", fgColor="F1F3F5")
    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    ws.title = _sheet_name(w["st_summary"], used)
    ws.append([w["st_report_title"]])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([w["st_regency"]])
    ws.append([w["st_period"], report.period_text, report.period.start_date.isoformat(),
               report.period.last_day.isoformat()])
    ws.append([w["st_generated"], fmt.local_time(report.generated_at, lang, report.period.zone)])
    ws.append([w["st_times_zone"]])
    ws.append([])
    ws.append([w["st_indicator"], w["st_value"], w["st_target"], w["st_standard"], ""])
    for c in ws[ws.max_row]:
        c.font, c.fill = bold, head_fill
    for h in report.headline():
        status = "" if h.met is None else w["st_met"] if h.met else w["st_not_met"]
        target = None if h.target is None else h.target / 100
        ws.append([h.label, _xlsx_value(h.value, h.kind), target, h.standard, status])
        _xlsx_format(ws.cell(ws.max_row, 2), h.kind)
        _xlsx_format(ws.cell(ws.max_row, 3), "pct")
    ws.append([])
    ws.append([report.summary_text()])
    ws.cell(ws.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=5)
    ws.row_dimensions[ws.max_row].height = 75
    if report.simulated_text:
        ws.append([report.simulated_text])
        ws.cell(ws.max_row, 1).font = bold
    for col, width in zip("ABCDE", (48, 14, 12, 22, 16), strict=True):
        ws.column_dimensions[col].width = width

    for table in report.tables():
        _table_sheet(wb.create_sheet(_sheet_name(table.title, used)), table, bold, head_fill, get_column_letter)

    ws = wb.create_sheet(_sheet_name(w["st_definitions"], used))
    for term, text in report.definitions():
        ws.append([term, text])
        ws.cell(ws.max_row, 2).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(ws.max_row, 1).font = bold
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 34, 110
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    return value / 100 if kind == "pct" else value


def _xlsx_format(cell: Any, kind: str) -> None:
    cell.number_format = {"pct": "0.0%", "seconds": "0.0", "int": "#,##0"}.get(kind, "General")


def _table_sheet(ws: Any, table: Table, bold: Any, fill: Any, letter: Any) -> None:
    ws.append([table.title])
    ws["A1"].font = bold
    if table.note:
        ws.append([table.note])
    ws.append([c.title + (" (s)" if c.kind == "seconds" else "") for c in table.columns])
    header = ws.max_row
    for c in ws[header]:
        c.font, c.fill = bold, fill
    for row in table.rows:
        ws.append([_xlsx_value(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
        for i, c in enumerate(table.columns, start=1):
            _xlsx_format(ws.cell(ws.max_row, i), c.kind)
    ws.freeze_panes = ws.cell(header + 1, 2)
    for i, c in enumerate(table.columns, start=1):
        ws.column_dimensions[letter(i)].width = 30 if c.kind == "text" else max(12, min(24, len(c.title) + 4))
