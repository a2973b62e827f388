"""Reads of calls, shaped once (CallOut) for the API, the event payloads and the snapshot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from siaga.core.errors import Problem
from siaga.domains.calls import schemas
from siaga.domains.calls.models import CALL_LIVE_STATUSES, CALL_OUTCOMES, Call, CallLocation
from siaga.domains.calls.numbers import msisdn_variants, normalise_msisdn
from siaga.domains.incidents import service as incidents_service
from siaga.domains.incidents.models import INCIDENT_OPEN_STATUSES, Incident

HISTORY_LIMIT = 20
HISTORY_RECENT = timedelta(days=30)
UNCLASSIFIED = "unclassified"


# Read for every call announced (each telephony event): built once, so neither the statement nor its cache
# key is made again per call.
_LOCATIONS_OF = (select(CallLocation).where(CallLocation.call_id.in_(bindparam("ids", expanding=True)))
                 .order_by(CallLocation.id))


def calls_out(db: Session, calls: Sequence[Call], *,
              known_locations: list[CallLocation] | None = None) -> list[schemas.CallOut]:
    """`known_locations`: the caller knows these are all the calls' locations (a call created in this
    transaction, flushed, with these and no other): they are not read back."""
    ids = [c.id for c in calls]
    if not ids:
        return []
    by_call: dict[int, list[schemas.CallLocationOut]] = defaultdict(list)
    rows = (sorted(known_locations, key=lambda row: row.id) if known_locations is not None
            else db.scalars(_LOCATIONS_OF, {"ids": ids}))
    for loc in rows:
        by_call[loc.call_id].append(schemas.CallLocationOut.model_validate(loc))
    from siaga.domains.callers.policy import in_force
    from siaga.domains.callers.queue import DEFAULT_CAP_S

    numbers = {c.id: normalise_msisdn(c.caller_number) for c in calls}
    measures = in_force(db, [n for n in numbers.values() if n])
    result = []
    for call in calls:
        out = schemas.CallOut.model_validate(call)
        out.locations = by_call.get(call.id, [])
        kinds = measures.get(numbers[call.id], set())
        out.measures = sorted(kinds)
        out.queue_penalty_s = DEFAULT_CAP_S if "lower_priority" in kinds else 0
        result.append(out)
    return result


def call_out(db: Session, call: Call, *, known_locations: list[CallLocation] | None = None) -> schemas.CallOut:
    return calls_out(db, [call], known_locations=known_locations)[0]


def list_calls(db: Session, *, live_only: bool, caller_number: str | None, limit: int, offset: int,
               unfinished_by: int | None = None) -> list[Call]:
    """`unfinished_by`: that operator's calls still without an outcome (e.g. the caller hung up while the
    operator was still typing) — the call-taker screen keeps them until the outcome is recorded."""
    stmt = select(Call)
    if unfinished_by is not None:
        stmt = stmt.where(Call.operator_id == unfinished_by, Call.outcome.is_(None))
    if live_only:
        stmt = stmt.where(Call.status.in_(CALL_LIVE_STATUSES))
    if caller_number:
        stmt = stmt.where(Call.caller_number == caller_number)
    return list(db.scalars(stmt.order_by(Call.offered_at.desc(), Call.id.desc()).limit(limit).offset(offset)))


def get_call(db: Session, call_id: int, *, for_update: bool = False) -> Call:
    stmt = select(Call).where(Call.id == call_id)
    if for_update:
        stmt = stmt.with_for_update()
    call = db.scalar(stmt)
    if call is None:
        raise Problem(404, "not_found")
    return call


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
