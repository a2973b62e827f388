"""The wallboard's figures, each one query over the live tables (no counters to drift). Today's answer
times leave out calls made by `siaga simulate` (calls/marks.py), as the reports do; the live queue
(calls waiting, open incidents) shows whatever is really ringing or open, simulated or not."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siaga.core.authz import CALL_TAKER, DISPATCHER, SUPERVISOR
from siaga.core.clock import SiteZone
from siaga.domains.calls.marks import real_call
from siaga.domains.calls.models import Call
from siaga.domains.incidents.models import ASSIGNMENT_FINISHED, INCIDENT_OPEN_STATUSES, Assignment, Incident
from siaga.domains.stats import schemas
from siaga.domains.telephony import service as telephony_service
from siaga.domains.users.models import User, UserSession

WAITING_STATUSES = ("offered", "ringing")
ANSWER_TARGET = timedelta(seconds=15)  # NENA-STA-020.1: 90% of calls answered within 15 s
ON_DUTY_ROLES = (CALL_TAKER, DISPATCHER, SUPERVISOR)
ON_DUTY_SEEN_WITHIN = timedelta(seconds=90)  # a console's stream marks its session every ~30 s


def start_of_local_day(now: datetime, zone: SiteZone) -> datetime:
    """Midnight, in the site's zone, of the day `now` falls on, as UTC."""
    return zone.day_start(zone.today(now))


def operators_on_duty(db: Session, now: datetime) -> tuple[int, str]:
    """How many operators are on duty, and by what measure: where the centre's operators have phones in
    Siaga (operator lines), those who can answer now — the same count as every console's header; where they
    have none (calls reach Siaga from a PBX's events), those with a console open (seen within 90 s)."""
    phones = [line for line in telephony_service.lines(db, now) if line.queue]  # not agency operators' lines
    if phones:
        return telephony_service.answering(phones), "phones"
    return consoles_open(db, now), "consoles"


def consoles_open(db: Session, now: datetime) -> int:
    return db.scalar(
        select(func.count(func.distinct(User.id))).join(UserSession, UserSession.user_id == User.id)
        .where(User.active.is_(True), User.role.in_(ON_DUTY_ROLES), UserSession.expires_at > now,
               UserSession.last_seen_at >= now - ON_DUTY_SEEN_WITHIN)) or 0


def wallboard(db: Session, now: datetime, zone: SiteZone) -> schemas.WallboardOut:
    oldest = db.scalar(select(func.min(Call.offered_at)).where(Call.status.in_(WAITING_STATUSES)))
    waiting = db.scalar(select(func.count()).select_from(Call).where(Call.status.in_(WAITING_STATUSES))) or 0
    day_start = start_of_local_day(now, zone)
    today = db.execute(select(Call.offered_at, Call.answered_at).where(
        Call.offered_at >= day_start, Call.offered_at < day_start + timedelta(days=1), real_call())).all()
    answered = [a - o for o, a in today if a is not None]
    within = sum(1 for wait in answered if wait <= ANSWER_TARGET)
    by_category = dict(db.execute(
        select(Incident.category_code, func.count()).where(Incident.status.in_(INCIDENT_OPEN_STATUSES))
        .group_by(Incident.category_code)).all())
    by_agency = db.execute(
        select(Assignment.agency_id, func.count()).join(Incident, Incident.id == Assignment.incident_id)
        .where(Incident.status.in_(INCIDENT_OPEN_STATUSES), Assignment.state.not_in(ASSIGNMENT_FINISHED))
        .group_by(Assignment.agency_id)).all()
    on_duty, counted_by = operators_on_duty(db, now)
    return schemas.WallboardOut(
        calls_waiting=waiting,
        longest_wait_s=max(0, int((now - oldest).total_seconds())) if oldest is not None else 0,
        operators_on_duty=on_duty,
        operators_counted_by=counted_by,
        calls_offered_today=len(today),
        calls_answered_today=len(answered),
        answered_within_15s_today=within,
        pct_answered_within_15s=round(100 * within / len(today), 1) if today else None,
        open_incidents=sum(by_category.values()),
        open_by_category=by_category,
        open_by_agency={str(agency_id): n for agency_id, n in by_agency},
        generated_at=now,
    )
