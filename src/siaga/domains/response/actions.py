"""Writers for the response plan and deadline policies (admin), validated so a stored rule can match
something and names only what exists."""

from __future__ import annotations

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.domains.agencies.models import Agency
from siaga.domains.incidents import service as incident_service
from siaga.domains.incidents.schemas import Question
from siaga.domains.regions.models import Region
from siaga.domains.response import schemas
from siaga.domains.response.models import DeadlinePolicy, ResponseRule
from siaga.domains.units.models import UNIT_TYPES


def validate_rule(ctx: Ctx, data: schemas.RuleFields) -> None:
    """A rule's references, checked as an incident's are (incidents.service: category, subcategory, the
    answers to its guided questions), then what only a rule has: places, hours, agencies, units."""
    category = incident_service.check_category(ctx.db, data.category_code, data.subcategory_code, active_only=False)
    if data.kode_wilayah is not None:
        region = ctx.db.get(Region, data.kode_wilayah)
        if region is None or region.level not in ("kecamatan", "desa", "kelurahan"):
            raise invalid("body.kode_wilayah", "a kecamatan or desa/kelurahan kode", "unknown")
    if (data.hour_from is None) != (data.hour_to is None):
        raise invalid("body.hour_to", "give both hours, or neither")
    if data.hour_from is not None and data.hour_from % 24 == (data.hour_to or 0) % 24:
        raise invalid("body.hour_to", "the hours window is empty: this rule would match nothing", "empty")
    if data.answers:
        if category is None:
            raise invalid("body.answers", "answers need a category (questions belong to one)", "missing")
        if any(value is None for value in data.answers.values()):
            raise invalid("body.answers", "a rule matches given answers: true, false or an option", "missing")
        incident_service.check_answers(ctx.db, category.code, data.answers)
    agencies = {a.code: a for a in ctx.db.scalars(select(Agency))}
    for i, code in enumerate(data.agency_codes):
        if code not in agencies or not agencies[code].active:
            raise invalid(f"body.agency_codes.{i}", f"unknown agency: {code}", "unknown")
    for i, unit in enumerate(data.units):
        if unit.type not in UNIT_TYPES:
            raise invalid(f"body.units.{i}.type", f"unknown unit type: {unit.type}", "unknown")
    if not data.agency_codes and not data.units:
        raise invalid("body.agency_codes", "a rule must name at least one agency or unit", "missing")


def check_question_change(ctx: Ctx, question: Question, active: bool) -> None:
    """A guided question's edit must leave every active rule that names it able to match: retiring the
    question, or taking away the option a rule matches, would silently stop that rule from ever bringing
    its agencies. Refused (409) naming each such rule; change or switch off the rule first."""
    errors = []
    rules = ctx.db.scalars(select(ResponseRule).where(ResponseRule.active.is_(True)).order_by(ResponseRule.id))
    for rule in rules:
        if question.id not in (rule.answers or {}):
            continue
        value = rule.answers[question.id]
        if not active:
            errors.append({"field": "body.active", "code": "in_use", "message":
                           f"Aturan respons '{rule.name}' (#{rule.id}) memakai jawaban {question.id} = {value}: "
                           "pertanyaan yang tidak ditanyakan lagi tak pernah dijawab, jadi aturan itu tak akan "
                           "pernah cocok; ubah atau nonaktifkan aturannya dulu. / "
                           f"Response rule '{rule.name}' (#{rule.id}) matches {question.id} = {value}: a retired "
                           "question is never answered, so the rule would never match; change or switch off "
                           "the rule first."})
        elif wrong := incident_service.answer_error(question, value):
            errors.append({"field": "body.question.options", "code": "in_use", "message":
                           f"Aturan respons '{rule.name}' (#{rule.id}) memakai jawaban {question.id} = {value}, "
                           "yang tidak lagi bisa diberikan; ubah atau nonaktifkan aturannya dulu. / "
                           f"Response rule '{rule.name}' (#{rule.id}) matches {question.id} = {value}, which this "
                           f"question would no longer allow ({wrong[0]}); change or switch off the rule first."})
    if errors:
        raise Problem(409, "conflict", errors=errors)


def _fields(data: schemas.RuleFields) -> dict:
    fields = data.model_dump(exclude={"version"})
    fields["units"] = [u.model_dump() for u in data.units]
    return fields


def create_rule(ctx: Ctx, data: schemas.RuleCreate) -> schemas.RuleOut:
    validate_rule(ctx, data)
    rule = ResponseRule(**_fields(data), created_at=ctx.now())
    ctx.db.add(rule)
    ctx.db.flush()
    ctx.audit("response_rule.create", "response_rule", rule.id, _fields(data))
    return schemas.RuleOut.model_validate(rule)


def update_rule(ctx: Ctx, rule_id: int, data: schemas.RuleUpdate) -> schemas.RuleOut:
    rule = ctx.db.scalar(select(ResponseRule).where(ResponseRule.id == rule_id).with_for_update())
    if rule is None:
        raise Problem(404, "not_found")
    check_version(rule.version, data.version)
    validate_rule(ctx, data)
    before = schemas.RuleOut.model_validate(rule).model_dump(mode="json", exclude={"version", "created_at", "id"})
    for key, value in _fields(data).items():
        setattr(rule, key, value)
    ctx.db.flush()
    ctx.audit("response_rule.update", "response_rule", rule.id, {"before": before, "after": _fields(data)})
    return schemas.RuleOut.model_validate(rule)


def set_policy(ctx: Ctx, data: schemas.PolicyIn) -> schemas.PolicyOut:
    if data.agency_id is not None and ctx.db.get(Agency, data.agency_id) is None:
        raise invalid("body.agency_id", "unknown agency", "unknown")
    policy = ctx.db.scalar(select(DeadlinePolicy).where(
        DeadlinePolicy.step == data.step,
        DeadlinePolicy.agency_id.is_(None) if data.agency_id is None else DeadlinePolicy.agency_id == data.agency_id,
        DeadlinePolicy.priority.is_(None) if data.priority is None else DeadlinePolicy.priority == data.priority))
    if policy is None:
        policy = DeadlinePolicy(agency_id=data.agency_id, priority=data.priority, step=data.step, seconds=data.seconds)
        ctx.db.add(policy)
    before = policy.seconds
    policy.seconds = data.seconds
    ctx.db.flush()
    ctx.audit("deadline_policy.set", "deadline_policy", policy.id, {**data.model_dump(), "before": before})
    return schemas.PolicyOut.model_validate(policy)
