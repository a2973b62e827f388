"""Retention of nuisance records (SIAGA_NUISANCE_RETENTION_DAYS, default 365). What holds a caller's number
or words, and what happens to it once it is older than the period:

- a prank, ghost or wrong-number call with no incident: its caller number becomes 'anonymised' and its
  notes are emptied; its network locations lose their coordinates, address and shape (the kode wilayah
  stays). The row stays, so every statistic (offered, answered, false-call share …) still counts it.
- an ended measure (expired, lifted, rejected): number and note anonymised; a supervisor's free-text
  reason too (a rule's generated reason stays). Kind, dates, who decided and the legal basis stay.
- a callback attempt, unless its call belongs to an incident: number and note anonymised.
- the event log's copies of call payloads (what consoles were sent): caller number and notes anonymised,
  for every call event older than the period (the call row, not the event, is the record).
- idempotency records of call and caller endpoints (they keep a copy of the response): deleted.

Calls that belong to an incident are the incident's record and are kept whole, as are genuine
emergencies, information calls and tests. The audit log and the incident timelines are append-only and
hash-chained — they cannot be edited, and their integrity is what the evidence pack relies on — so the
numbers in older audit entries (`call.create`, `measure.*`, `evidence.export`) stay there; they are read
only with `audit.read` (supervisors, administrators). The purge's own audit entries carry counts, never
numbers.

The actual writes are `purge_batch` (short transactions of a few hundred rows each); here are the
selections, the dry run, the ticker's step and the CLI's loop."""

from __future__ import annotations

import json
import logging
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, delete, func, select, update
from sqlalchemy.orm import Session

from siaga.core.audit import AuditEntry
from siaga.core.authz import SYSTEM
from siaga.core.clock import Clock
from siaga.core.context import Ctx
from siaga.core.idempotency import IdempotencyRecord
from siaga.db.engine import unit_of_work
from siaga.domains.callers.models import CallbackAttempt
from siaga.domains.calls.models import CALL_LIVE_STATUSES, Call, CallerMeasure, CallLocation
from siaga.domains.calls.privacy import ANONYMISED
from siaga.events.models import Event
from siaga.settings import Settings

PURGED_OUTCOMES = ("prank", "ghost", "wrong_number")
ENDED_MEASURES = ("expired", "lifted", "rejected")
IDEMPOTENT_PATHS = ("/api/v1/calls", "/api/v1/callers/")
BATCH = 500
PURGE_EVERY = timedelta(hours=6)  # the ticker's rate once caught up; a backlog goes one batch per tick
log = logging.getLogger("siaga.retention")
KINDS = ("calls", "locations", "measures", "callbacks", "events", "idempotency_records")


@dataclass
class PurgeResult:
    cutoff: datetime
    events_from_id: int = 0
    events_upto_id: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    more: bool = False

    @property
    def changed(self) -> bool:
        return any(self.counts.values())


def calls_due(cutoff: datetime) -> tuple[Any, ...]:
    return (Call.outcome.in_(PURGED_OUTCOMES), Call.incident_id.is_(None), Call.offered_at < cutoff,
            Call.status.not_in(CALL_LIVE_STATUSES), (Call.caller_number != ANONYMISED) | (Call.notes != ""))


def measures_due(cutoff: datetime) -> tuple[Any, ...]:
    return (CallerMeasure.state.in_(ENDED_MEASURES), CallerMeasure.ended_at < cutoff,
            (CallerMeasure.number != ANONYMISED) | (CallerMeasure.note != ""))


def callbacks_due(cutoff: datetime) -> tuple[Any, ...]:
    kept = select(Call.id).where(Call.id == CallbackAttempt.call_id, Call.incident_id.is_not(None)).exists()
    return (CallbackAttempt.at < cutoff, (CallbackAttempt.number != ANONYMISED) | (CallbackAttempt.note != ""),
            ~kept)


def idempotency_due(cutoff: datetime) -> tuple[Any, ...]:
    return (IdempotencyRecord.created_at < cutoff,
            IdempotencyRecord.path.startswith(IDEMPOTENT_PATHS[0]) | IdempotencyRecord.path.startswith(
                IDEMPOTENT_PATHS[1]))


def _purges(db: Session, limit: int) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purge")
                           .order_by(AuditEntry.seq.desc()).limit(limit)))


def events_watermark(db: Session) -> int:
    """The event log is cleaned in id order; how far the last purge got is in its audit entry."""
    for entry in _purges(db, 1):
        return int(json.loads(entry.data).get("events_upto_id", 0))
    return 0


def last_purge(db: Session) -> dict[str, Any] | None:
    """When records were last anonymised and up to when (for the evidence pack): the newest purge entry."""
    for entry in _purges(db, 1):
        data = json.loads(entry.data)
        return {"at": entry.at, "cutoff": datetime.fromisoformat(data["cutoff"]),
                "retention_days": data.get("retention_days"), "seq": entry.seq}
    return None


def pending(db: Session, cutoff: datetime) -> dict[str, int]:
    """What a purge would anonymise now (the dry run): counts only."""
    def count(model: Any, *where: Any) -> int:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {"calls": count(Call, *calls_due(cutoff)),
            "locations": count(CallLocation, CallLocation.call_id.in_(select(Call.id).where(*calls_due(cutoff)))),
            "measures": count(CallerMeasure, *measures_due(cutoff)),
            "callbacks": count(CallbackAttempt, *callbacks_due(cutoff)),
            "events": count(Event, Event.id > events_watermark(db), Event.at < cutoff, Event.entity == "call"),
            "idempotency_records": count(IdempotencyRecord, *idempotency_due(cutoff))}


def _ctx(db: Session, clock: Clock, settings: Settings):  # type: ignore[no-untyped-def]

    return Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings)


def purge_batch(ctx: Ctx, limit: int = 500) -> PurgeResult:
    """One short transaction of the retention purge (this module's docstring says what and why): at most
    `limit` rows of each kind anonymised — the rows stay, so statistics still count them — and one audit
    entry with the counts, the cutoff and how far the event log has been cleaned; never a number."""
    days = ctx.settings.nuisance_retention_days
    cutoff = ctx.now() - timedelta(days=days)
    result = PurgeResult(cutoff=cutoff, events_from_id=events_watermark(ctx.db))
    db = ctx.db
    calls = db.scalars(select(Call.id).where(*calls_due(cutoff)).order_by(Call.id).limit(limit)).all()
    if calls:
        result.counts["calls"] = db.execute(
            update(Call).where(Call.id.in_(calls), *calls_due(cutoff))
            .values(caller_number=ANONYMISED, notes="", version=Call.version + 1)
            .execution_options(synchronize_session=False)).rowcount
        result.counts["locations"] = db.execute(
            update(CallLocation).where(CallLocation.call_id.in_(calls))
            .values(lat=None, lon=None, accuracy_m=None, address_text="", detail={}, reference_uri="")
            .execution_options(synchronize_session=False)).rowcount
    measures = db.scalars(select(CallerMeasure.id).where(*measures_due(cutoff))
                          .order_by(CallerMeasure.id).limit(limit)).all()
    if measures:
        result.counts["measures"] = db.execute(
            update(CallerMeasure).where(CallerMeasure.id.in_(measures), *measures_due(cutoff))
            .values(number=ANONYMISED, note="", version=CallerMeasure.version + 1,
                    # a supervisor's own words may name the caller; a rule's reason is generated text
                    reason=case((CallerMeasure.rule_id.is_(None), ""), else_=CallerMeasure.reason))
            .execution_options(synchronize_session=False)).rowcount
    attempts = db.scalars(select(CallbackAttempt.id).where(*callbacks_due(cutoff))
                          .order_by(CallbackAttempt.id).limit(limit)).all()
    if attempts:
        result.counts["callbacks"] = db.execute(
            update(CallbackAttempt).where(CallbackAttempt.id.in_(attempts), *callbacks_due(cutoff))
            .values(number=ANONYMISED, note="").execution_options(synchronize_session=False)).rowcount
    # The event log in id order from where the last purge stopped (ids follow commit order, and so, but for
    # a clock's seconds of skew between processes, do their times).
    events = db.scalars(select(Event).where(Event.id > result.events_from_id, Event.at < cutoff)
                        .order_by(Event.id).limit(limit * 4)).all()
    result.events_upto_id = events[-1].id if events else result.events_from_id
    for event in events:
        payload = event.payload or {}
        if event.entity == "call" and (payload.get("caller_number") not in ("", ANONYMISED) or payload.get("notes")):
            event.payload = {**payload, "caller_number": ANONYMISED, "notes": ""}
            result.counts["events"] += 1
    result.counts["idempotency_records"] = db.execute(
        delete(IdempotencyRecord).where(*idempotency_due(cutoff))
        .execution_options(synchronize_session=False)).rowcount
    result.more = any(len(rows) == limit for rows in (calls, measures, attempts)) or len(events) == limit * 4
    db.flush()
    if result.changed or result.events_upto_id != result.events_from_id:
        ctx.audit("retention.purge", "retention", cutoff.astimezone(UTC).date().isoformat(), {
            "cutoff": cutoff.isoformat(), "retention_days": days, **result.counts,
            "events_upto_id": result.events_upto_id})
    return result


def purge_all(engine: Engine, clock: Clock, settings: Settings, dry_run: bool = False,
              batch: int = BATCH) -> dict[str, Any]:
    """The whole purge as the CLI runs it: batch after batch (each its own short transaction, so calls
    arriving meanwhile never wait long for the database) until nothing is left. Totals."""

    cutoff = clock.now() - timedelta(days=settings.nuisance_retention_days)
    if dry_run:
        with unit_of_work(engine, write=False) as db:
            return {"cutoff": cutoff, "dry_run": True, "batches": 0, **pending(db, cutoff)}
    totals: dict[str, Any] = {"cutoff": cutoff, "dry_run": False, "batches": 0, **dict.fromkeys(KINDS, 0)}
    while True:
        with unit_of_work(engine) as db:
            result = purge_batch(_ctx(db, clock, settings), batch)
        totals["batches"] += 1
        for k, v in result.counts.items():
            totals[k] += v
        totals["cutoff"] = result.cutoff
        if not result.more:
            return totals


_next_run: weakref.WeakKeyDictionary[Engine, datetime] = weakref.WeakKeyDictionary()
RETRY_AFTER_ERROR = timedelta(minutes=10)


def purge_step(engine: Engine, clock: Clock, settings: Settings) -> int:
    """The ticker's share, bounded so it never holds up the deadlines it shares the tick with: when a purge
    is due, ONE batch (a short transaction); while a backlog remains, one batch per tick; once caught up,
    nothing until PURGE_EVERY later. Several processes may run it: a row already anonymised is not counted
    again. A failure is logged and retried later, never raised into the ticker. Returns the rows changed."""

    now = clock.now()
    due = _next_run.get(engine)
    if due is not None and now < due:
        return 0
    try:
        with unit_of_work(engine) as db:
            result = purge_batch(_ctx(db, clock, settings), BATCH)
    except Exception:
        log.exception("retention purge failed; retrying in %s", RETRY_AFTER_ERROR)
        _next_run[engine] = now + RETRY_AFTER_ERROR
        return 0
    if not result.more:
        _next_run[engine] = now + PURGE_EVERY
    return sum(result.counts.values())
