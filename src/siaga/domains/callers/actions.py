"""Writers: nuisance rules (admin), measures (supervisors decide), callback attempts (operators), the
audited reveal of a full number, the risk model (trained by a command) and the retention purge."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from siaga.core.clock import site_zone
from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.domains.callers import risk, schemas
from siaga.domains.callers.models import CallbackAttempt, NuisanceRule, RiskModel
from siaga.domains.callers.policy import announce_number, evaluate
from siaga.domains.calls import actions as call_actions
from siaga.domains.calls import schemas as call_schemas
from siaga.domains.calls import service as call_service
from siaga.domains.calls.models import Call, CallerMeasure
from siaga.domains.calls.numbers import normalise_msisdn
from siaga.domains.calls.privacy import masked


def record_call(ctx: Ctx, call_id: int, data: call_schemas.CallUpdate) -> call_schemas.CallOut:
    """A call-taker records what a call was (calls.actions.update_call); when its outcome changed, the
    nuisance policy weighs the number's recent calls at once, in the same transaction, and the number's
    live calls are announced again if a measure was applied."""
    previous = ctx.db.scalar(select(Call.outcome).where(Call.id == call_id).with_for_update())
    out = call_actions.update_call(ctx, call_id, data)  # 404, 409 and 422 come from here
    if data.outcome is None or data.outcome == previous:
        return out
    call = ctx.db.get(Call, call_id)
    if call is not None and evaluate(ctx, call.caller_number):
        announce_number(ctx, call.caller_number)
        out = call_service.call_out(ctx.db, call)
    return out


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


# --- full numbers: revealed one at a time, audited --------------------------------------------------------

def reveal_number(ctx: Ctx, entity: str, entity_id: int, data: schemas.RevealIn) -> schemas.RevealOut:
    """A holder of `numbers.reveal` sees one full number (of a call, or of a measure) on a screen that shows
    them masked. The audit entry says who, why and which record — never the number itself."""

    if entity == "call":
        call = ctx.db.get(Call, entity_id)
        row_id, number = (call.id, call.caller_number) if call is not None else (None, "")
    else:
        measure = ctx.db.get(CallerMeasure, entity_id)
        row_id, number = (measure.id, measure.number) if measure is not None else (None, "")
    if row_id is None:
        raise Problem(404, "not_found")
    ctx.audit("caller.number.reveal", entity, row_id, {"reason": data.reason.strip()})
    return schemas.RevealOut(entity="call" if entity == "call" else "caller_measure", id=row_id, number=number,
                             masked=masked(number))


# --- the risk hint: trained by a command, stored as JSON parameters ----------------------------------------

def train_risk_model(ctx: Ctx, train_from: date, train_to: date, test_from: date, test_to: date,
                     max_genuine_flagged: float = 0.05, save: bool = True) -> schemas.RiskModelOut:
    """Learn the nuisance-risk hint from the labelled calls of [train_from, train_to) and evaluate it on the
    LATER period [test_from, test_to) (days in the site's zone). Saved, it becomes the active model (the
    previous ones are deactivated); the audit entry carries the periods and the evaluation, never a number."""

    if not train_from < train_to:
        raise invalid("train_to", f"train_to ({train_to}) must be after train_from ({train_from}); periods are "
                                  "[from, to)", "period_order")
    if not test_from < test_to:
        raise invalid("test_to", f"test_to ({test_to}) must be after test_from ({test_from})", "period_order")
    if test_from < train_to:
        raise invalid("test_from", f"the evaluation must be on a LATER period: test_from ({test_from}) is before "
                                   f"train_to ({train_to})", "period_order")
    if (test_to - train_from).days > 2 * 366:
        raise invalid("train_from", "train and test together cover at most two years", "period_too_long")
    zone = site_zone(ctx.settings)
    today = zone.today(ctx.now())
    if test_to > today + timedelta(days=1):
        raise invalid("test_to", f"the evaluation period must be over (today is {today})", "period_in_future")
    kept_since = zone.today(ctx.now() - timedelta(days=ctx.settings.nuisance_retention_days))
    if train_from - timedelta(days=risk.LOOKBACK.days) < kept_since:
        raise invalid("train_from", f"calls before {kept_since} are past the retention period "
                                    f"({ctx.settings.nuisance_retention_days} days): their prank calls are "
                                    f"anonymised and would bias the model; train from "
                                    f"{kept_since + timedelta(days=risk.LOOKBACK.days)} or later", "before_retention")
    if not 0 <= max_genuine_flagged <= 0.5:
        raise invalid("max_genuine_flagged", "a share between 0 and 0.5", "out_of_range")
    train = (zone.day_start(train_from), zone.day_start(train_to))
    test = (zone.day_start(test_from), zone.day_start(test_to))
    rows = risk.load_rows(ctx.db, train[0], test[1])
    try:
        trained = risk.train_and_evaluate(rows, train, test, zone, max_genuine_flagged)
    except risk.InsufficientData as exc:
        raise invalid("train_from", str(exc), "insufficient_data") from None
    if trained.metrics["test"]["calls"] == 0:
        raise invalid("test_from", "no labelled calls in the evaluation period: nothing to evaluate on",
                      "insufficient_data")
    model = RiskModel(trained_at=ctx.now(), trained_by=ctx.actor.user_id or None, train_from=train[0],
                      train_to=train[1], test_from=test[0], test_to=test[1],
                      algorithm=f"{risk.ALGORITHM} (scikit-learn {trained.params['sklearn']})",
                      params=trained.params, metrics=trained.metrics, active=save)
    if not save:
        return schemas.RiskModelOut(id=None, **{k: getattr(model, k) for k in (
            "trained_at", "train_from", "train_to", "test_from", "test_to", "algorithm", "params", "metrics")},
            active=False)
    ctx.db.execute(update(RiskModel).where(RiskModel.active.is_(True)).values(active=False)
                   .execution_options(synchronize_session=False))
    ctx.db.add(model)
    ctx.db.flush()
    test_m = trained.metrics["test"]
    ctx.audit("risk_model.train", "risk_model", model.id, {
        "train": [train_from.isoformat(), train_to.isoformat()], "test": [test_from.isoformat(), test_to.isoformat()],
        "threshold": trained.params["threshold"], "max_genuine_flagged": max_genuine_flagged,
        "test_calls": test_m["calls"], "precision": test_m["precision"], "recall": test_m["recall"],
        "genuine_flagged_share": test_m["genuine_flagged_share"]})
    return schemas.RiskModelOut.model_validate(model)


# --- retention: nuisance records anonymised after SIAGA_NUISANCE_RETENTION_DAYS ----------------------------
