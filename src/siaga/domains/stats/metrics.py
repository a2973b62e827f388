"""What an on-call technician's Prometheus scrapes (`GET /metrics`): the figures that live in the database,
each one query at scrape time over the live tables, so every process of the site reports the same values
and a restart loses nothing. The process's own figures (event-stream clients, pool, edge link, backups)
are added by the face (api/metrics.py).

Counters (`_total`) and the answer-time histogram count every real call ever offered (calls made by `siaga
simulate` are left out, as in the reports), so Prometheus's rate() and histogram_quantile() work on them;
the gauges are now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Float, and_, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from siaga.domains.calls.marks import real_call
from siaga.domains.calls.models import Call
from siaga.domains.incidents.models import (
    ASSIGNMENT_FINISHED,
    INCIDENT_OPEN_STATUSES,
    Assignment,
    Deadline,
    Incident,
)
from siaga.domains.recordings.models import Recording
from siaga.domains.stats.service import WAITING_STATUSES, operators_on_duty

# Seconds from offered to answered. NENA's target is 90 % within 15 s, 95 % within 20 s.
ANSWER_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 120.0, 300.0)


@dataclass
class Figures:
    calls_waiting: int = 0
    oldest_wait_seconds: float = 0.0
    operators_on_duty: int = 0
    operators_counted_by: str = "consoles"
    calls_offered_total: int = 0
    calls_abandoned_total: int = 0
    calls_answered_total: int = 0
    answer_buckets: list[tuple[float, int]] = field(default_factory=list)  # (le, cumulative count)
    answer_seconds_sum: float = 0.0
    incidents_open: int = 0
    incidents_without_location: int = 0
    deadlines_pending: int = 0
    deadlines_overdue: int = 0
    assignments_escalated: int = 0
    recordings_unreadable: int = 0
    replicas: int | None = None  # PostgreSQL primary: streaming replicas connected
    replication_lag_seconds: float | None = None  # the largest replay lag (primary) or own (replica)


def _wait_seconds(dialect: str):  # type: ignore[no-untyped-def]
    if dialect == "postgresql":
        return func.extract("epoch", Call.answered_at - Call.offered_at)
    return (func.julianday(Call.answered_at) - func.julianday(Call.offered_at)) * literal_column("86400.0")


def figures(db: Session, now: datetime) -> Figures:
    dialect = db.get_bind().dialect.name
    f = Figures()
    waiting = db.execute(select(func.count(), func.min(Call.offered_at))
                         .where(Call.status.in_(WAITING_STATUSES))).one()
    f.calls_waiting = waiting[0] or 0
    f.oldest_wait_seconds = max(0.0, (now - waiting[1]).total_seconds()) if waiting[1] is not None else 0.0
    f.operators_on_duty, f.operators_counted_by = operators_on_duty(db, now)

    wait = cast(_wait_seconds(dialect), Float)
    answered = Call.answered_at.is_not(None)
    row = db.execute(select(
        func.count(),
        func.count(case((Call.status == "abandoned", 1))),
        func.count(case((answered, 1))),
        func.coalesce(func.sum(case((answered, wait))), 0.0),
        *[func.count(case((and_(answered, wait <= le), 1))) for le in ANSWER_BUCKETS],
    ).where(real_call())).one()
    f.calls_offered_total, f.calls_abandoned_total, f.calls_answered_total = row[0], row[1], row[2]
    f.answer_seconds_sum = float(row[3] or 0.0)
    f.answer_buckets = [(le, n) for le, n in zip(ANSWER_BUCKETS, row[4:], strict=True)]

    f.incidents_open = db.scalar(select(func.count()).select_from(Incident)
                                 .where(Incident.status.in_(INCIDENT_OPEN_STATUSES))) or 0
    f.incidents_without_location = db.scalar(select(func.count()).select_from(Incident).where(
        Incident.status.in_(INCIDENT_OPEN_STATUSES), Incident.lat.is_(None))) or 0
    pending = db.execute(select(func.count(), func.count(case((Deadline.due_at < now, 1))))
                         .where(Deadline.state == "pending")).one()
    f.deadlines_pending, f.deadlines_overdue = pending[0] or 0, pending[1] or 0
    f.assignments_escalated = db.scalar(
        select(func.count()).select_from(Assignment).join(Incident, Incident.id == Assignment.incident_id)
        .where(Incident.status.in_(INCIDENT_OPEN_STATUSES), Assignment.state.not_in(ASSIGNMENT_FINISHED),
               Assignment.escalation_level > 0)) or 0
    f.recordings_unreadable = db.scalar(select(func.count()).select_from(Recording)
                                        .where(Recording.state == "unreadable")) or 0
    if dialect == "postgresql":
        _replication(db, f)
    return f


def _replication(db: Session, f: Figures) -> None:
    """A primary: its connected streaming replicas and the largest replay lag among them. A replica (a
    process reading a standby): its own lag behind the last replayed transaction."""
    from sqlalchemy import text

    if db.scalar(text("SELECT pg_is_in_recovery()")):
        lag = db.scalar(text("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())"))
        f.replication_lag_seconds = float(lag) if lag is not None else None
        return
    row = db.execute(text("SELECT count(*), max(extract(epoch FROM replay_lag)) FROM pg_stat_replication")).one()
    f.replicas = int(row[0])
    f.replication_lag_seconds = float(row[1]) if row[1] is not None else (0.0 if row[0] else None)
