"""Reads of calls, shaped once (CallOut) for the API, the event payloads and the snapshot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from siaga.core.errors import Problem
from siaga.domains.calls import schemas
from siaga.domains.calls.models import CALL_LIVE_STATUSES, Call, CallerMeasure, CallLocation
from siaga.domains.calls.numbers import normalise_msisdn
from siaga.domains.calls.queue import DEFAULT_CAP_S

# Read for every call announced (each telephony event): built once, so neither the statement nor its cache
# key is made again per call.
_LOCATIONS_OF = (select(CallLocation).where(CallLocation.call_id.in_(bindparam("ids", expanding=True)))
                 .order_by(CallLocation.id))


_IN_FORCE = select(CallerMeasure.number, CallerMeasure.kind).where(
    CallerMeasure.number.in_(bindparam("numbers", expanding=True)), CallerMeasure.state == "active")


def in_force(db: Session, numbers: list[str]) -> dict[str, set[str]]:
    """normalised number → kinds of its active measures (the ticker expires them on time, announcing the
    number's live calls, so a console's copy never disagrees with a fresh read)."""
    if not numbers:
        return {}
    rows = db.execute(_IN_FORCE, {"numbers": numbers}).all()
    out: dict[str, set[str]] = {}
    for number, kind in rows:
        out.setdefault(number, set()).add(kind)
    return out


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
