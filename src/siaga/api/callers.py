"""Defending the line: a caller's summary and measures, the supervisors' decisions, the callback list,
the nuisance policy, the risk hint, and the audited reveal of a full number. No route here (or anywhere)
drops or refuses a call. Numbers in responses follow domains/calls/privacy.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path as FilePath

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import select

from siaga.core.clock import site_zone
from siaga.core.context import Ctx
from siaga.core.errors import request_language
from siaga.core.http import ctx_for, idempotent
from siaga.core.ids import PathId
from siaga.domains.callers import actions, risk, schemas, service
from siaga.domains.callers.models import NuisanceRule
from siaga.domains.calls import privacy
from siaga.domains.calls import service as calls_service
from siaga.domains.calls.models import CallerMeasure
from siaga.domains.reports import evidence

router = APIRouter(tags=["callers"])
Number = Path(min_length=1, max_length=40)


@router.get("/callers/{number}/summary")
def caller_summary(request: Request, number: str = Number,
                   ctx: Ctx = Depends(ctx_for("calls.read"))) -> dict[str, object]:
    """One plain-language line for the call-taker, and the measures in force."""
    measures = [m for m in service.measures_of(ctx.db, number) if m.state == "active"
                and (m.expires_at is None or m.expires_at > ctx.now())]
    return {"summary": service.summary(ctx.db, number, ctx.now(), request_language(request)),
            "measures": [privacy.numbered_for(ctx.actor, m).model_dump(mode="json") for m in measures]}


@router.get("/calls/{call_id}/caller-summary", response_model=schemas.CallerSummaryOut)
def call_caller_summary(call_id: PathId, request: Request,
                        ctx: Ctx = Depends(ctx_for("calls.read"))) -> schemas.CallerSummaryOut:
    """What the call-taker sees as this call rings: the number's plain-language summary, the measures in
    force and the nuisance-risk hint (absent when no model is trained, or for a reader without
    `risk.read`). Keyed by the call, so a reader who sees the number masked gets it too."""
    call = calls_service.get_call(ctx.db, call_id)
    lang = request_language(request)
    now = ctx.now()
    measures = [privacy.numbered_for(ctx.actor, m) for m in service.measures_of(ctx.db, call.caller_number)
                if m.state == "active" and (m.expires_at is None or m.expires_at > now)]
    hint = risk.hint(ctx.db, call, site_zone(ctx.settings), lang) if ctx.actor.can("risk.read") else None
    text = service.summary(ctx.db, call.caller_number, now, lang, exclude_call_id=call.id)  # not its own earlier call
    return schemas.CallerSummaryOut(call_id=call.id, summary=text, measures=measures,
                                    risk=hint if hint is not None and hint.available else None)


@router.get("/calls/{call_id}/risk", response_model=schemas.RiskOut)
def call_risk(call_id: PathId, request: Request, ctx: Ctx = Depends(ctx_for("risk.read"))) -> schemas.RiskOut:
    """The nuisance-risk hint for one call, from its metadata (the number's recent calls and their outcomes
    and durations, the hour in the site's zone, a withheld number), with its strongest reasons in plain words. A hint,
    never a decision: nothing acts on it. `available: false` when no model has been trained
    (`siaga callers risk-train`)."""
    return risk.hint(ctx.db, calls_service.get_call(ctx.db, call_id), site_zone(ctx.settings),
                     request_language(request))


@router.post("/calls/{call_id}/reveal-number", response_model=schemas.RevealOut,
             responses={200: {"description": "the full number; the reveal is in the audit log"}})
def reveal_call_number(call_id: PathId, data: schemas.RevealIn, response: Response,
                       ctx: Ctx = Depends(ctx_for("numbers.reveal"))) -> schemas.RevealOut:
    """Reveal one call's full number on a screen that shows it masked. Audited as `caller.number.reveal`
    (who, why, which call)."""
    response.headers["Cache-Control"] = "no-store"
    return actions.reveal_number(ctx, "call", call_id, data)


@router.post("/measures/{measure_id}/reveal-number", response_model=schemas.RevealOut,
             responses={200: {"description": "the full number; the reveal is in the audit log"}})
def reveal_measure_number(measure_id: PathId, data: schemas.RevealIn, response: Response,
                          ctx: Ctx = Depends(ctx_for("numbers.reveal"))) -> schemas.RevealOut:
    """Reveal the full number a measure is about. Audited as `caller.number.reveal` (who, why, which measure)."""
    response.headers["Cache-Control"] = "no-store"
    return actions.reveal_number(ctx, "caller_measure", measure_id, data)


@router.get("/callers/{number}/measures", response_model=list[schemas.MeasureOut])
def caller_measures(number: str = Number, ctx: Ctx = Depends(ctx_for("calls.read"))) -> list[schemas.MeasureOut]:
    return [privacy.numbered_for(ctx.actor, m) for m in service.measures_of(ctx.db, number)]


@router.get("/callers/{number}/evidence", response_class=Response,
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "The evidence pack (PDF), the number in full"}})
def caller_evidence(request: Request, number: str = Number,
                    date_from: date = Query(..., alias="from", description="First day (site's zone), YYYY-MM-DD"),
                    date_to: date = Query(..., alias="to", description="The day after the last one: "
                                                                       "[from, to); at most 366 days"),
                    ctx: Ctx = Depends(ctx_for("measures.manage"))) -> Response:
    """The evidence pack for the police: every call of the number in [from, to), the measures, the callbacks
    and the audit-chain hashes. Shows the number in full, so its export is audited (`evidence.export`)."""
    full = evidence.check_number(number)
    evidence.check_period(date_from, date_to)
    pdf = evidence.evidence_pdf(ctx.db, full, date_from, date_to, ctx.now(), request_language(request),
                                generated_by=f"{ctx.actor.full_name} ({ctx.actor.username})",
                                retention_days=ctx.settings.nuisance_retention_days, zone=site_zone(ctx.settings))
    ctx.audit("evidence.export", "caller", full, {"number": full, "from": date_from.isoformat(),
                                                  "to": date_to.isoformat(), "by": ctx.actor.username})
    name = f"bukti-112-{full.lstrip('+')}-{date_from.isoformat()}-{date_to.isoformat()}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.get("/callers/{number}/evidence.zip", response_class=FileResponse,
            responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "The evidence pack (PDF) and the caller's recordings, in a ZIP"}})
def caller_evidence_zip(request: Request, number: str = Number,
                        date_from: date = Query(..., alias="from", description="First day (site's zone), YYYY-MM-DD"),
                        date_to: date = Query(..., alias="to", description="The day after the last one: "
                                                                           "[from, to); at most 366 days"),
                        ctx: Ctx = Depends(ctx_for("measures.manage"))) -> FileResponse:
    """The evidence pack with the caller's call recordings: a ZIP of the PDF, which lists each recording's
    file and SHA-256, and the WAV files. Audited (`evidence.export`, with each recording's hash)."""
    import tempfile

    from starlette.background import BackgroundTask

    full = evidence.check_number(number)
    evidence.check_period(date_from, date_to)
    fd, name = tempfile.mkstemp(prefix="siaga-evidence-", suffix=".zip")
    target = FilePath(name)
    try:
        with open(fd, "wb") as f:
            e = evidence.evidence_zip(ctx.db, full, date_from, date_to, ctx.now(), request_language(request),
                                      generated_by=f"{ctx.actor.full_name} ({ctx.actor.username})",
                                      retention_days=ctx.settings.nuisance_retention_days,
                                      zone=site_zone(ctx.settings), settings=ctx.settings, target=f)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    ctx.audit("evidence.export", "caller", full, {
        "number": full, "from": date_from.isoformat(), "to": date_to.isoformat(), "by": ctx.actor.username,
        "format": "zip", "recordings": [{"id": r["id"], "sha256": r["sha256"], "state": r["state"]}
                                        for r in e.recordings]})
    zip_name = f"bukti-112-{full.lstrip('+')}-{date_from.isoformat()}-{date_to.isoformat()}.zip"
    return FileResponse(target, media_type="application/zip", filename=zip_name, headers={"Cache-Control": "no-store"},
                        background=BackgroundTask(target.unlink, missing_ok=True))


@router.post("/callers/{number}/measures", status_code=201, response_model=schemas.MeasureOut)
def propose_measure(data: schemas.MeasureCreate, request: Request, number: str = Number,
                    ctx: Ctx = Depends(ctx_for("measures.manage"))) -> Response:
    return idempotent(request, ctx, data, lambda: actions.propose_measure(ctx, number, data))


@router.get("/measures", response_model=list[schemas.MeasureOut])
def list_measures(state: str | None = Query(default=None, pattern="^(proposed|active|expired|lifted|rejected)$"),
                  limit: int = Query(default=200, ge=1, le=1000),
                  ctx: Ctx = Depends(ctx_for("calls.read"))) -> list[schemas.MeasureOut]:
    stmt = select(CallerMeasure)
    if state:
        stmt = stmt.where(CallerMeasure.state == state)
    rows = ctx.db.scalars(stmt.order_by(CallerMeasure.created_at.desc(), CallerMeasure.id.desc()).limit(limit))
    return [privacy.numbered_for(ctx.actor, schemas.MeasureOut.model_validate(m)) for m in rows]


@router.post("/measures/{measure_id}/decision", response_model=schemas.MeasureOut,
             responses={409: {"description": "stale version, a decided measure, or approving one's own proposal"}})
def decide(measure_id: PathId, data: schemas.MeasureDecision,
           ctx: Ctx = Depends(ctx_for("measures.manage"))) -> schemas.MeasureOut:
    return actions.decide(ctx, measure_id, data)


@router.get("/callbacks", response_model=list[schemas.CallbackItem])
def callbacks(request: Request, include_done: bool = False,
              ctx: Ctx = Depends(ctx_for("calls.read"))) -> list[schemas.CallbackItem]:
    """Numbers to call back (abandoned, silent, out-of-hours calls of the last 72 h), priority first; each
    `reason` in the request's language."""
    items = service.callbacks(ctx.db, ctx.now(), include_done, request_language(request))
    return [privacy.numbered_for(ctx.actor, item) for item in items]


@router.post("/calls/{call_id}/callbacks", status_code=201, response_model=schemas.CallbackAttemptOut)
def record_callback(call_id: PathId, data: schemas.CallbackIn,
                    ctx: Ctx = Depends(ctx_for("calls.write"))) -> schemas.CallbackAttemptOut:
    return actions.record_callback(ctx, call_id, data)


@router.get("/nuisance-rules", response_model=list[schemas.RuleOut])
def list_rules(ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[schemas.RuleOut]:
    return [schemas.RuleOut.model_validate(r) for r in ctx.db.scalars(select(NuisanceRule).order_by(NuisanceRule.id))]


@router.post("/nuisance-rules", status_code=201, response_model=schemas.RuleOut)
def create_rule(data: schemas.RuleCreate, request: Request,
                ctx: Ctx = Depends(ctx_for("reference.write"))) -> Response:
    return idempotent(request, ctx, data, lambda: actions.create_rule(ctx, data))


@router.put("/nuisance-rules/{rule_id}", response_model=schemas.RuleOut)
def update_rule(rule_id: PathId, data: schemas.RuleUpdate,
                ctx: Ctx = Depends(ctx_for("reference.write"))) -> schemas.RuleOut:
    return actions.update_rule(ctx, rule_id, data)
