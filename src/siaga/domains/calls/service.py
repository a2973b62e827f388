"""Reads of calls, shaped once (CallOut) for the API, the event payloads and the snapshot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.errors import Problem
from siaga.domains.calls import schemas
from siaga.domains.calls.models import CALL_LIVE_STATUSES, Call, CallLocation


def calls_out(db: Session, calls: Sequence[Call]) -> list[schemas.CallOut]:
    ids = [c.id for c in calls]
    if not ids:
        return []
    by_call: dict[int, list[schemas.CallLocationOut]] = defaultdict(list)
    for loc in db.scalars(select(CallLocation).where(CallLocation.call_id.in_(ids)).order_by(CallLocation.id)):
        by_call[loc.call_id].append(schemas.CallLocationOut.model_validate(loc))
    result = []
    for call in calls:
        out = schemas.CallOut.model_validate(call)
        out.locations = by_call.get(call.id, [])
        result.append(out)
    return result


def call_out(db: Session, call: Call) -> schemas.CallOut:
    return calls_out(db, [call])[0]


def list_calls(db: Session, *, live_only: bool, caller_number: str | None, limit: int, offset: int) -> list[Call]:
    stmt = select(Call)
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
