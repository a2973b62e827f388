"""The nuisance policy at work: after a call's outcome is recorded, count that number's recent calls per
rule and apply (flag, lower priority) or propose (restriction) the rule's measure. Each step is an
audited action; nothing here can drop, reject or delay a call beyond the queue cap."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from siaga.core.authz import SYSTEM
from siaga.core.clock import Clock
from siaga.core.context import Ctx
from siaga.db.engine import unit_of_work
from siaga.domains.callers.models import NuisanceRule
from siaga.domains.calls.actions import announce_call
from siaga.domains.calls.models import CALL_LIVE_STATUSES, Call, CallerMeasure
from siaga.domains.calls.numbers import msisdn_variants, normalise_msisdn
from siaga.events.kinds import EventKind
from siaga.settings import Settings

APPLIED_AT_ONCE = ("flag", "lower_priority")  # information and a bounded queue position only


def evaluate(ctx: Ctx, raw_number: str) -> list[CallerMeasure]:
    """Apply every rule to the number's recent calls; returns the measures created now."""
    number = normalise_msisdn(raw_number)
    if not number:
        return []  # a withheld number is many people: never a measure
    now = ctx.now()
    created = []
    variants = msisdn_variants(number)
    for rule in ctx.db.scalars(select(NuisanceRule).where(NuisanceRule.active.is_(True)).order_by(NuisanceRule.id)):
        count = ctx.db.scalar(select(func.count()).select_from(Call).where(
            Call.caller_number.in_(variants), Call.outcome.in_(rule.outcomes),
            Call.offered_at >= now - timedelta(hours=rule.window_hours))) or 0
        if count < rule.min_count:
            continue
        current = ctx.db.scalar(select(CallerMeasure.id).where(
            CallerMeasure.number == number, CallerMeasure.kind == rule.measure,
            CallerMeasure.state.in_(("proposed", "active")),
            (CallerMeasure.expires_at.is_(None)) | (CallerMeasure.expires_at > now)))
        if current is not None:
            continue
        at_once = rule.measure in APPLIED_AT_ONCE
        measure = CallerMeasure(
            number=number, kind=rule.measure, state="active" if at_once else "proposed", rule_id=rule.id,
            reason=f"{rule.name}: {count}× {'/'.join(rule.outcomes)} dalam {rule.window_hours} jam",
            legal_basis="", created_at=now, created_by=None, duration_hours=rule.duration_hours,
            expires_at=now + timedelta(hours=rule.duration_hours) if at_once else None, note="")
        ctx.db.add(measure)
        ctx.db.flush()
        ctx.audit("measure.apply" if at_once else "measure.propose", "caller_measure", measure.id,
                  {"number": number, "kind": rule.measure, "rule_id": rule.id, "count": count})
        created.append(measure)
    return created


def announce_number(ctx: Ctx, raw_number: str) -> None:
    """The number's measures changed: its live calls are announced again (queue order, flags)."""

    number = normalise_msisdn(raw_number)
    if not number:
        return
    for call in ctx.db.scalars(select(Call).where(Call.caller_number.in_(msisdn_variants(number)),
                                                  Call.status.in_(CALL_LIVE_STATUSES))):
        announce_call(ctx, call, EventKind.CALL_UPDATED)


def expire_due(ctx: Ctx) -> int:
    """Mark measures whose time is up as expired (each audited, compare-and-set so two processes agree)."""
    now = ctx.now()
    due = ctx.db.execute(select(CallerMeasure.id, CallerMeasure.number).where(
        CallerMeasure.state == "active", CallerMeasure.expires_at <= now)).all()
    expired = 0
    for measure_id, number in due:
        done = ctx.db.execute(update(CallerMeasure).where(CallerMeasure.id == measure_id,
                                                          CallerMeasure.state == "active")
                              .values(state="expired", ended_at=now, version=CallerMeasure.version + 1)
                              .execution_options(synchronize_session=False)).rowcount
        if done:
            ctx.audit("measure.expire", "caller_measure", measure_id, {"number": number})
            announce_number(ctx, number)
            expired += 1
    return expired


def expire_measures(engine: Engine, clock: Clock, settings: Settings) -> int:
    """The ticker's sweep: expire what is due, as the system."""

    with unit_of_work(engine) as db:
        return expire_due(Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings))
