"""Writers: nuisance rules (admin), measures (supervisors decide), callback attempts (operators)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid
from siaga.domains.callers import schemas
from siaga.domains.callers.models import CallbackAttempt, CallerMeasure, NuisanceRule
from siaga.domains.callers.policy import announce_number
from siaga.domains.calls.models import Call
from siaga.domains.calls.numbers import normalise_msisdn
from siaga.domains.incidents.actions import check_version


def create_rule(ctx: Ctx, data: schemas.RuleCreate) -> schemas.RuleOut:
    rule = NuisanceRule(**data.model_dump(), created_at=ctx.now())
    ctx.db.add(rule)
    ctx.db.flush()
    ctx.audit("nuisance_rule.create", "nuisance_rule", rule.id, data.model_dump())
    return schemas.RuleOut.model_validate(rule)


def update_rule(ctx: Ctx, rule_id: int, data: schemas.RuleUpdate) -> schemas.RuleOut:
    rule = ctx.db.scalar(select(NuisanceRule).where(NuisanceRule.id == rule_id).with_for_update())
    if rule is None:
        raise Problem(404, "not_found")
    check_version(rule.version, data.version)
    before = schemas.RuleOut.model_validate(rule).model_dump()
    for key, value in data.model_dump(exclude={"version"}).items():
        setattr(rule, key, value)
    ctx.db.flush()
    ctx.audit("nuisance_rule.update", "nuisance_rule", rule.id, {"before": before, "after": data.model_dump()})
    return schemas.RuleOut.model_validate(rule)


def _number(raw: str) -> str:
    number = normalise_msisdn(raw)
    if not number:
        raise invalid("path.number", "a phone number (a withheld number cannot carry a measure)", "invalid")
    return number


def propose_measure(ctx: Ctx, raw_number: str, data: schemas.MeasureCreate) -> schemas.MeasureOut:
    """By hand: a flag or a lower priority applies at once; a restriction waits for a second person's
    approval (a supervisor other than the one proposing) and needs a legal basis."""
    number = _number(raw_number)
    now = ctx.now()
    at_once = data.kind != "restriction"
    measure = CallerMeasure(number=number, kind=data.kind, state="active" if at_once else "proposed", rule_id=None,
                            reason=data.reason, legal_basis=data.legal_basis, created_at=now,
                            created_by=ctx.actor.user_id or None, duration_hours=data.duration_hours,
                            expires_at=now + timedelta(hours=data.duration_hours) if at_once else None, note="")
    ctx.db.add(measure)
    ctx.db.flush()
    ctx.audit("measure.apply" if at_once else "measure.propose", "caller_measure", measure.id,
              {"number": number, **data.model_dump()})
    announce_number(ctx, number)
    return schemas.MeasureOut.model_validate(measure)


def decide(ctx: Ctx, measure_id: int, data: schemas.MeasureDecision) -> schemas.MeasureOut:
    measure = ctx.db.scalar(select(CallerMeasure).where(CallerMeasure.id == measure_id).with_for_update())
    if measure is None:
        raise Problem(404, "not_found")
    check_version(measure.version, data.version)
    now = ctx.now()
    if data.action in ("approve", "reject"):
        if measure.state != "proposed":
            raise Problem(409, "invalid_transition", current=measure.state, target=data.action)
        if data.action == "approve":
            legal = (data.legal_basis if data.legal_basis is not None else measure.legal_basis).strip()
            if measure.kind == "restriction" and not legal:
                raise invalid("body.legal_basis", "a restriction needs its legal basis", "missing")
            if measure.created_by is not None and measure.created_by == ctx.actor.user_id:
                raise Problem(409, "four_eyes")
            measure.legal_basis = legal
            measure.state = "active"
            measure.expires_at = now + timedelta(hours=measure.duration_hours)
        else:
            measure.state = "rejected"
            measure.ended_at = now
        measure.decided_at, measure.decided_by = now, ctx.actor.user_id or None
    else:
        if measure.state not in ("active", "proposed"):
            raise Problem(409, "invalid_transition", current=measure.state, target="lifted")
        if not data.note.strip():
            raise invalid("body.note", "say why the measure is lifted", "missing")
        measure.state = "lifted"
        measure.ended_at, measure.ended_by = now, ctx.actor.user_id or None
    if data.note:
        measure.note = data.note
    ctx.db.flush()
    ctx.audit(f"measure.{data.action}", "caller_measure", measure.id, data.model_dump(exclude={"version"}))
    announce_number(ctx, measure.number)
    return schemas.MeasureOut.model_validate(measure)


CALLBACK_OUTCOMES = ("abandoned", "ghost", "missed_out_of_hours")


def record_callback(ctx: Ctx, call_id: int, data: schemas.CallbackIn) -> schemas.CallbackAttemptOut:
    call = ctx.db.get(Call, call_id)
    if call is None:
        raise Problem(404, "not_found")
    number = normalise_msisdn(call.caller_number)
    if not number:
        raise invalid("path.call_id", "a withheld number cannot be called back", "invalid")
    attempt = CallbackAttempt(call_id=call.id, number=number, at=ctx.now(), by_user=ctx.actor.user_id or None,
                              result=data.result, note=data.note)
    ctx.db.add(attempt)
    ctx.db.flush()
    ctx.audit("callback.record", "call", call.id, data.model_dump())
    return schemas.CallbackAttemptOut.model_validate(attempt)


def load_policy(ctx: Ctx, folder) -> int:  # type: ignore[no-untyped-def]
    """Seed the region's default nuisance policy into a database that has no rule yet."""
    import json

    from sqlalchemy import func

    path = folder / "nuisance_policy.json"
    if not path.exists() or ctx.db.scalar(select(func.count()).select_from(NuisanceRule)):
        return 0
    rules = json.loads(path.read_text(encoding="utf-8"))["rules"]
    for rule in rules:
        create_rule(ctx, schemas.RuleCreate(**rule))
    return len(rules)
