"""Response plans: the proposal for an incident and dispatching it; the rules and deadline policies
(admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from siaga.core.clock import site_zone
from siaga.core.context import Ctx
from siaga.core.errors import request_language
from siaga.core.http import ctx_for, idempotent
from siaga.core.i18n import render
from siaga.core.ids import PathId
from siaga.domains.calls.privacy import incident_for
from siaga.domains.dispatch import actions as dispatch
from siaga.domains.incidents import schemas as incident_schemas
from siaga.domains.incidents import service as incident_service
from siaga.domains.response import actions, plans, schemas
from siaga.domains.response.models import DeadlinePolicy, ResponseRule

router = APIRouter(tags=["response plans"])


@router.get("/incidents/{incident_id}/proposal", response_model=schemas.ProposalOut)
def proposal(incident_id: PathId, request: Request,
             ctx: Ctx = Depends(ctx_for("incidents.read"))) -> schemas.ProposalOut:
    """The agencies and units the response plan proposes for this incident as it now stands, and which
    of those agencies have been notified already; each agency's `reasons` in the request's language
    (which of the caller's answers brought it)."""
    lang = request_language(request)
    incident = incident_service.get_visible_incident(ctx.db, ctx.actor, incident_id)
    p = plans.propose(ctx.db, plans.Facts.of(incident, ctx.now(), site_zone(ctx.settings)), incident.id)
    return schemas.ProposalOut(
        incident_id=incident.id, base_rule=p.base_rule, rules=p.rules,
        agencies=[schemas.ProposedAgencyOut(**{**vars(a), "reasons": [render(r["code"], r["params"], lang)
                                                                         for r in a.reasons]})
                  for a in p.agencies],
        missing_agency_ids=[a.agency_id for a in p.missing], units=p.units)


@router.post("/incidents/{incident_id}/dispatch", response_model=incident_schemas.IncidentOut)
def dispatch_incident(incident_id: PathId, data: incident_schemas.DispatchIn,
                      ctx: Ctx = Depends(ctx_for("assignments.create"))) -> incident_schemas.IncidentOut:
    """Notify several agencies at once (all or none); those already notified are left as they are."""
    return incident_for(ctx.actor, dispatch.dispatch_agencies(ctx, incident_id, data))


@router.get("/response-rules", response_model=list[schemas.RuleOut])
def list_rules(ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[schemas.RuleOut]:
    rules = ctx.db.scalars(select(ResponseRule).order_by(ResponseRule.category_code, ResponseRule.id))
    return [schemas.RuleOut.model_validate(r) for r in rules]


@router.get("/response-rules/check", response_model=list[schemas.Finding])
def check_rules(request: Request, ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[schemas.Finding]:
    """What to look at: categories no base rule covers, overlapping equally specific rules (the older
    wins), rules naming inactive agencies; each message in the request's language."""
    return [schemas.Finding(**f) for f in plans.check_plan(ctx.db, request_language(request))]


@router.post("/response-rules", status_code=201, response_model=schemas.RuleOut)
def create_rule(data: schemas.RuleCreate, request: Request,
                ctx: Ctx = Depends(ctx_for("reference.write"))) -> Response:
    return idempotent(request, ctx, data, lambda: actions.create_rule(ctx, data))


@router.put("/response-rules/{rule_id}", response_model=schemas.RuleOut,
            responses={409: {"description": "someone changed the rule since you loaded it"}})
def update_rule(rule_id: PathId, data: schemas.RuleUpdate,
                ctx: Ctx = Depends(ctx_for("reference.write"))) -> schemas.RuleOut:
    return actions.update_rule(ctx, rule_id, data)


@router.get("/deadline-policies", response_model=list[schemas.PolicyOut])
def list_policies(ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[schemas.PolicyOut]:
    rows = ctx.db.scalars(select(DeadlinePolicy).order_by(DeadlinePolicy.step, DeadlinePolicy.id))
    return [schemas.PolicyOut.model_validate(r) for r in rows]


@router.put("/deadline-policies", response_model=schemas.PolicyOut)
def set_policy(data: schemas.PolicyIn, ctx: Ctx = Depends(ctx_for("reference.write"))) -> schemas.PolicyOut:
    """Seconds allowed for a step, for an agency and/or priority (or everyone); replaces the same row."""
    return actions.set_policy(ctx, data)

