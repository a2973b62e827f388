"""Reads: a caller's plain-language summary, their measures, the callback list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siaga.core.geo import distance_m
from siaga.core.i18n import has, t
from siaga.domains.callers import schemas
from siaga.domains.callers.actions import CALLBACK_OUTCOMES
from siaga.domains.callers.models import CallbackAttempt
from siaga.domains.calls.models import CALL_OUTCOMES, Call, CallerMeasure, CallLocation
from siaga.domains.calls.numbers import msisdn_variants, normalise_msisdn
from siaga.domains.incidents import service as incidents_service
from siaga.domains.incidents.models import INCIDENT_OPEN_STATUSES, Incident

CALLBACK_WINDOW = timedelta(hours=72)
NEARBY_M = 2000.0
REACHED = ("reached_ok", "reached_emergency", "reached_no_need")


def _ago(delta: timedelta, lang: str) -> str:
    days = delta.days
    if days >= 60:
        return t("caller.months_ago", lang, n=days // 30)
    if days >= 1:
        return t("caller.days_ago", lang, n=days)
    return t("caller.hours_ago", lang, n=max(1, delta.seconds // 3600))


def summary(db: Session, raw_number: str, now: datetime, lang: str = "id",
            exclude_call_id: int | None = None) -> str:
    """"5 panggilan iseng dalam 7 hari; darurat terakhir 3 bulan lalu" — what a call-taker reads as it rings.
    `exclude_call_id`: the call being handled now, which is not one of its own earlier calls (so a first-time
    caller reads "Penelepon baru", as the history panel beside it, fetched the same way, says)."""
    number = normalise_msisdn(raw_number)
    if not number:
        return t("caller.withheld", lang)
    mine = Call.caller_number.in_(msisdn_variants(number))
    if exclude_call_id is not None:
        mine = mine & (Call.id != exclude_call_id)
    calls = db.execute(select(Call.outcome, Call.offered_at).where(mine, Call.offered_at <= now)).all()
    if not calls:
        return t("caller.first_time", lang)
    week = [o for o, at in calls if at >= now - timedelta(days=7)]
    parts = []
    for outcome in ("prank", "ghost", "abandoned"):
        n = week.count(outcome)
        if n:
            parts.append(t(f"caller.week_{outcome}", lang, n=n))
    emergencies = [at for o, at in calls if o == "emergency"]
    if emergencies:
        parts.append(t("caller.last_emergency", lang, when=_ago(now - max(emergencies), lang)))
    elif not parts:
        n = len(calls)
        parts.append(t("caller.earlier_call" if n == 1 else "caller.earlier_calls", lang, n=n))
    else:
        parts.append(t("caller.never_emergency", lang))
    return "; ".join(parts)


def measures_of(db: Session, raw_number: str) -> list[schemas.MeasureOut]:
    number = normalise_msisdn(raw_number)
    if not number:
        return []
    rows = db.scalars(select(CallerMeasure).where(CallerMeasure.number == number)
                      .order_by(CallerMeasure.created_at.desc(), CallerMeasure.id.desc()))
    return [schemas.MeasureOut.model_validate(m) for m in rows]


def callbacks(db: Session, now: datetime, include_done: bool = False,
              lang: str = "id") -> list[schemas.CallbackItem]:
    """Abandoned, silent and out-of-hours calls of the last 72 h, one row per number (its latest such
    call), until someone reached the caller after it. Silent calls from a number with a past genuine
    emergency come first."""
    rows = db.scalars(select(Call).where(Call.outcome.in_(CALLBACK_OUTCOMES), Call.offered_at >= now - CALLBACK_WINDOW)
                      .order_by(Call.offered_at.desc(), Call.id.desc())).all()
    by_number: dict[str, list[Call]] = {}
    for call in rows:
        number = normalise_msisdn(call.caller_number)
        if number:
            by_number.setdefault(number, []).append(call)
    if not by_number:
        return []
    attempts: dict[str, list[CallbackAttempt]] = {}
    for a in db.scalars(select(CallbackAttempt).where(CallbackAttempt.number.in_(list(by_number)))
                        .order_by(CallbackAttempt.at)):
        attempts.setdefault(a.number, []).append(a)
    variants = [v for number in by_number for v in msisdn_variants(number)]
    had_emergency = {normalise_msisdn(raw) for raw in db.scalars(
        select(Call.caller_number).where(Call.caller_number.in_(variants), Call.outcome == "emergency").distinct())}
    last_location: dict[str, tuple[float, float]] = {}
    for raw, lat, lon in db.execute(
            select(Call.caller_number, CallLocation.lat, CallLocation.lon).join(Call, Call.id == CallLocation.call_id)
            .where(Call.caller_number.in_(variants), CallLocation.valid.is_(True), CallLocation.lat.is_not(None))
            .order_by(CallLocation.received_at.desc())):
        last_location.setdefault(normalise_msisdn(raw), (lat, lon))
    open_incidents = db.execute(select(Incident.number, Incident.lat, Incident.lon).where(
        Incident.status.in_(INCIDENT_OPEN_STATUSES), Incident.lat.is_not(None))).all()
    items = []
    for number, calls in by_number.items():
        last = calls[0]
        tried = attempts.get(number, [])
        reached = any(a.result in REACHED and a.at >= last.offered_at for a in tried)
        if reached and not include_done:
            continue
        priority = number in had_emergency and any(c.outcome == "ghost" for c in calls)
        loc = last_location.get(number)
        nearby = [n for n, lat, lon in open_incidents
                  if loc is not None and distance_m(loc[0], loc[1], lat, lon) <= NEARBY_M]
        why = "callback_reason.ghost_after_emergency" if priority else f"callback_reason.{last.outcome}"
        reason = t(why, lang) if has(why) else ""
        items.append(schemas.CallbackItem(
            number=number, last_call_id=last.id, last_offered_at=last.offered_at, last_outcome=last.outcome,
            calls=len(calls), priority=priority, reason=reason, last_lat=loc[0] if loc else None,
            last_lon=loc[1] if loc else None, open_incidents_nearby=nearby,
            attempts=[schemas.CallbackAttemptOut.model_validate(a) for a in tried]))
    items.sort(key=lambda i: (not i.priority, -i.last_offered_at.timestamp()))
    return items


# --- A number's history, as the call-taker's panel shows it ---------------------------------------------
HISTORY_LIMIT = 20
HISTORY_RECENT = timedelta(days=30)
UNCLASSIFIED = "unclassified"


def _outcome_counts(rows: Sequence[tuple[str | None, int]]) -> dict[str, int]:
    counts = dict.fromkeys((*CALL_OUTCOMES, UNCLASSIFIED), 0)
    for outcome, n in rows:
        key = outcome if outcome in counts else UNCLASSIFIED
        counts[key] += n
    return counts


def caller_history(db: Session, number: str, now: datetime,
                   exclude_call_id: int | None = None) -> schemas.CallerHistoryOut:
    """A number's earlier calls, what they turned out to be, and the open incidents they belong to.
    A withheld number has no history: every anonymous caller would otherwise share one."""
    normalised = normalise_msisdn(number)
    empty = _outcome_counts([])
    history = schemas.CallerHistoryOut(number=number, normalised=normalised, withheld=not normalised,
                                       total_calls=0, calls_last_30_days=0, outcomes=empty,
                                       outcomes_last_30_days=dict(empty), calls=[], open_incidents=[])
    if not normalised:
        return history
    mine = Call.caller_number.in_(msisdn_variants(normalised))
    if exclude_call_id is not None:
        mine = mine & (Call.id != exclude_call_id)

    def counts(*extra):  # type: ignore[no-untyped-def]
        return db.execute(select(Call.outcome, func.count()).where(mine, *extra).group_by(Call.outcome)).all()

    history.outcomes = _outcome_counts(counts())
    history.outcomes_last_30_days = _outcome_counts(counts(Call.offered_at >= now - HISTORY_RECENT))
    history.total_calls = sum(history.outcomes.values())
    history.calls_last_30_days = sum(history.outcomes_last_30_days.values())
    rows = db.execute(
        select(Call, Incident.number).outerjoin(Incident, Incident.id == Call.incident_id).where(mine)
        .order_by(Call.offered_at.desc(), Call.id.desc()).limit(HISTORY_LIMIT)).all()
    history.calls = [
        schemas.CallerCallOut(id=c.id, caller_number=c.caller_number, status=c.status, offered_at=c.offered_at,
                              answered_at=c.answered_at, ended_at=c.ended_at, outcome=c.outcome,
                              incident_id=c.incident_id, incident_number=incident_number)
        for c, incident_number in rows]
    incidents = db.scalars(
        select(Incident).where(Incident.id.in_(select(Call.incident_id).where(mine)),
                               Incident.status.in_(INCIDENT_OPEN_STATUSES))
        .order_by(Incident.priority, Incident.created_at.desc(), Incident.id.desc())).all()
    history.open_incidents = incidents_service.incidents_out(db, incidents)
    return history
