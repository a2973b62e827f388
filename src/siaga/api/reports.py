"""Reports and KPIs over HTTP (permission `reports.read`): the KPIs grouped for the statistics page, the
period report (JSON, HTML, PDF, XLSX) and the monitoring export (CSV, JSON). Periods are [from, to) in
calendar days of the site's zone (SIAGA_TIMEZONE), at most two years; a bad period is a 422 naming the
field. (The command line takes the last day itself: `siaga report --to 2026-10-31` asks for `to=2026-11-01`.)
Calls and incidents made by `siaga simulate` are left out unless `include_simulated=true`; the KPIs and the
report say how many."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from siaga.core.clock import site_zone
from siaga.core.context import Ctx
from siaga.core.errors import invalid, request_language
from siaga.core.http import ctx_for
from siaga.db.engine import open_session
from siaga.domains.kpi import service as kpi
from siaga.domains.quality.sampling import SampleRule
from siaga.domains.reports import monitoring, render
from siaga.domains.reports import period as report_period

router = APIRouter(tags=["reports"])

MEDIA = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
FROM = Query(..., alias="from", description="First day (in the site's zone), YYYY-MM-DD")
TO = Query(..., alias="to", description="The day AFTER the last one, YYYY-MM-DD: [from, to), e.g. "
                                        "from=2026-10-01&to=2026-11-01 is October; at most two years")
LANG = Query(None, description="id (default: Accept-Language, else your setting) or en")
SIMULATED = Query(False, description="Count the calls and incidents made by `siaga simulate` too (default: left "
                                     "out; they are not the service's real work)")


def _content(*formats: str) -> dict[int | str, dict[str, Any]]:
    content = {MEDIA[f].split(";")[0]: ({"schema": {"type": "object"}} if f == "json" else
                                        {"schema": {"type": "string", "format": "binary"}}) for f in formats}
    return {200: {"content": content, "description": "The report in the format asked for"}}


def _period(start: date, end: date, ctx: Ctx) -> kpi.Period:
    try:
        return kpi.make_period(start, end, site_zone(ctx.settings))
    except kpi.PeriodError as exc:
        raise invalid(f"query.{exc.field}", exc.message, exc.code) from None


@contextmanager
def _snapshot(request: Request) -> Iterator[Session]:
    """Reports read many queries: one consistent snapshot (REPEATABLE READ on PostgreSQL), its own session."""
    session = open_session(request.app.state.engine, write=False, snapshot=True)
    try:
        with session.begin():
            yield session
    finally:
        session.close()


def _lang(request: Request, lang: str | None) -> str:
    return lang or request_language(request)


def _filename(stem: str, period: kpi.Period, ext: str) -> dict[str, str]:
    name = f"siaga112-{stem}-{period.start_date.isoformat()}_{period.last_day.isoformat()}.{ext}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


class KpiGroupOut(BaseModel):
    calls: list[dict[str, Any]] | None = Field(
        description="Per group: counts (offered, answered, outcomes…) and the call KPIs; null when calls cannot "
                    "be grouped this way (agency)")
    incidents: list[dict[str, Any]] = Field(description="Per group: incidents (assignments by agency) and NFPA "
                                                        "processing")
    stages: list[dict[str, Any]] = Field(description="Per group: assignments and each stage's n, median_s, p90_s")


class SimulatedOut(BaseModel):
    included: bool = Field(description="Whether the figures count the simulated rows (include_simulated)")
    calls: int = Field(description="Calls of the period made by `siaga simulate`")
    incidents: int = Field(description="Incidents of the period made by `siaga simulate` (every call simulated)")


class KpisOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    timezone: str
    groups: dict[str, KpiGroupOut]
    simulated: SimulatedOut

    model_config = {"populate_by_name": True}


@router.get("/reports/kpis", response_model=KpisOut, response_model_by_alias=True)
def kpis(request: Request, start: date = FROM, end: date = TO,
         by: list[kpi.Dimension] = Query(["total"], description="Groupings, repeatable: " + ", ".join(kpi.DIMENSIONS)),
         lang: Literal["id", "en"] | None = LANG, include_simulated: bool = SIMULATED,
         ctx: Ctx = Depends(ctx_for("reports.read"))) -> KpisOut:
    """The KPIs of a period grouped by each `by` (what the statistics page draws), with labels in the
    reader's language. One definition per KPI: `siaga.domains.kpi.definitions`."""
    period = _period(start, end, ctx)
    language = _lang(request, lang)
    dims = list(dict.fromkeys(by))[:len(kpi.DIMENSIONS)]
    sim = include_simulated
    with _snapshot(request) as db:
        calls = kpi.call_counts_by(db, period, [d for d in dims if d in kpi.CALL_DIMENSIONS], include_simulated=sim)
        processing_by = kpi.processing_counts_by(db, period, dims, include_simulated=sim)
        stages_by = kpi.stage_times_by(db, period, dims, include_simulated=sim)
        simulated = kpi.simulated_counts(db, period, included=sim)
        groups: dict[str, KpiGroupOut] = {}
        for dim in dims:
            processing, stages = processing_by[dim], stages_by[dim]
            names = kpi.labels(db, dim, [*calls.get(dim, {}), *processing, *stages], language)

            def row(key: kpi.Key, values: dict[str, Any], names: dict[kpi.Key, str] = names) -> dict[str, Any]:
                return {"key": key, "label": names.get(key, str(key)), **values}

            groups[dim] = KpiGroupOut(
                calls=[row(k, c.as_dict()) for k, c in calls[dim].items()] if dim in calls else None,
                incidents=[row(k, p.as_dict()) for k, p in processing.items()],
                stages=[row(k, {"assignments": t.assignments, "stages": t.summary()}) for k, t in stages.items()])
    return KpisOut(from_=period.start_date, to=period.end_date, timezone=period.zone.description, groups=groups,
                   simulated=SimulatedOut(**simulated.as_dict()))


@router.get("/reports/period", response_class=Response, responses=_content("json", "html", "pdf", "xlsx"))
def period_report(request: Request, start: date = FROM, end: date = TO,
                  format: Literal["json", "html", "pdf", "xlsx"] = Query("json"),  # noqa: A002 - the API's word
                  lang: Literal["id", "en"] | None = LANG, include_simulated: bool = SIMULATED,
                  ctx: Ctx = Depends(ctx_for("reports.read"))) -> Response:
    """The period report for a month, a quarter or any range up to two years: headline numbers against
    their targets, calls by outcome (where the unanswered calls went), answer-time service levels by hour,
    day of week, calendar and operator, incidents by category, kecamatan and agency, agency stage times.
    As JSON, a printable HTML page, a PDF (charts drawn as SVG) or an XLSX workbook; Bahasa Indonesia or
    English; times in the site's zone."""
    period = _period(start, end, ctx)
    language = _lang(request, lang)
    with _snapshot(request) as db:
        report = report_period.build(db, period, language, now=ctx.now(), include_simulated=include_simulated,
                                     sample_rule=SampleRule.of(ctx.settings))
    stem = "laporan" if language == "id" else "report"
    if format == "json":
        return Response(render.as_json(report), media_type=MEDIA["json"])
    if format == "html":
        return Response(render.html(report), media_type=MEDIA["html"], headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            "X-Content-Type-Options": "nosniff"})
    if format == "pdf":
        return Response(render.pdf(report), media_type=MEDIA["pdf"], headers=_filename(stem, period, "pdf"))
    return Response(render.xlsx(report), media_type=MEDIA["xlsx"], headers=_filename(stem, period, "xlsx"))


@router.get("/reports/monitoring", response_class=StreamingResponse, responses=_content("csv", "json"))
def monitoring_export(request: Request, start: date = FROM, end: date = TO,
                      format: Literal["csv", "json"] = Query("csv"),  # noqa: A002
                      include_simulated: bool = SIMULATED,
                      ctx: Ctx = Depends(ctx_for("reports.read"))) -> StreamingResponse:
    """Every call and incident of the period for the national monitoring centre, in the standard
    taxonomy (docs/monitoring-export.md): CSV (one row per record, `record_type` call or incident) or
    JSON; phone numbers masked to their last three digits; times ISO 8601 in the site's zone. Streamed."""
    period = _period(start, end, ctx)
    engine = request.app.state.engine
    if format == "csv":
        return StreamingResponse(monitoring.csv_chunks(engine, period, include_simulated=include_simulated),
                                 media_type=MEDIA["csv"], headers=_filename("monitoring", period, "csv"))
    return StreamingResponse(monitoring.json_chunks(engine, period, ctx.now(), include_simulated=include_simulated),
                             media_type=MEDIA["json"],
                             headers=_filename("monitoring", period, "json"))
