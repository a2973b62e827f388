"""Reads: lines with their presence, the waiting queue in the order calls will be answered, the edge."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siaga.core.authz import AGENCY_OPERATOR, CALL_TAKER, SUPERVISOR
from siaga.domains.calls.models import Call, RingAttempt
from siaga.domains.calls.queue import Waiting, rank_key
from siaga.domains.calls.service import calls_out
from siaga.domains.telephony import schemas
from siaga.domains.telephony.models import OperatorLine, TelephonyEdge
from siaga.domains.users.models import User

EDGE_NAME = "kamailio"
# The roles whose lines take 112 calls. Any other line (an agency operator's, issue 17) is only ever called by a
# call-taker's line: never rung for an emergency call, never "on duty", never in the edge's degraded-mode group.
QUEUE_ROLES = (CALL_TAKER, SUPERVISOR)
LINE_ROLES = (*QUEUE_ROLES, AGENCY_OPERATOR)


def is_registered(line: OperatorLine, now: datetime) -> bool:
    return line.registered_until is not None and line.registered_until > now


def line_out(line: OperatorLine, user: User, now: datetime) -> schemas.LineOut:
    return schemas.LineOut(
        user_id=line.user_id, username=user.username, full_name=user.full_name, extension=line.extension,
        presence=line.presence, presence_since=line.presence_since, busy=line.current_call_id is not None,
        current_call_id=line.current_call_id, registered=is_registered(line, now),
        registered_until=line.registered_until, idle_since=line.idle_since, version=line.version,
        device=line.device or "phone", queue=user.role in QUEUE_ROLES)


# A SIP Call-ID names one call, but a trunk (or a caller's phone) may use one again for a new INVITE after the
# first call ended — e.g. redialling after a refusal. That INVITE is a new emergency call: it is recorded
# under the Call-ID with "#2", "#3"… appended ('#' cannot occur in a Call-ID, RFC 3261 "word"), and every
# later event for the Call-ID goes to its newest call (actions.ref_for_invite). Before, it joined the
# finished call: the caller heard ringing and no phone ever rang.
REUSED = "#"


def audit_ref(call_ref: str) -> str:
    """A call reference as an audit entry's entity id (at most 64 characters): itself, or its hash when longer
    (a Call-ID may be up to 150 characters before the bridge hashes it)."""
    if len(call_ref) <= 64:
        return call_ref
    return "sha256:" + hashlib.sha256(call_ref.encode("utf-8", "replace")).hexdigest()[:57]


def sip_call_id(call_ref: str) -> str:
    """The Call-ID the edge knows a call by, from its reference."""
    return call_ref.split(REUSED, 1)[0]


def lines(db: Session, now: datetime) -> list[schemas.LineOut]:
    rows = db.execute(select(OperatorLine, User).join(User, User.id == OperatorLine.user_id)
                      .order_by(OperatorLine.extension)).all()
    return [line_out(line, user, now) for line, user in rows]


def line_of(db: Session, user_id: int, now: datetime) -> schemas.LineOut | None:
    line, user = db.get(OperatorLine, user_id), db.get(User, user_id)
    return line_out(line, user, now) if line is not None and user is not None else None


def waiting_calls(db: Session, now: datetime, refs: set[str] | None = None) -> list[tuple[Call, int]]:
    """Live, unanswered calls in the order they will be answered (domains/calls/queue.rank_key), with
    each one's queue penalty. `refs`: only these telephony call ids (those the edge holds)."""
    q = select(Call).where(Call.status.in_(("offered", "ringing")), Call.answered_at.is_(None))
    if refs is not None:
        if not refs:
            return []
        # A Call-ID used again for a new call is recorded as "<Call-ID>#2" (actions.ref_for_invite).
        q = q.where(or_(Call.external_ref.in_(refs),
                        *[Call.external_ref.startswith(ref + REUSED, autoescape=True) for ref in refs]))
    calls = list(db.scalars(q))
    outs = {o.id: o for o in calls_out(db, calls)}
    keyed = [(rank_key(Waiting(c.id, c.offered_at, outs[c.id].queue_penalty_s > 0), now,
                       outs[c.id].queue_penalty_s or 1), c) for c in calls]
    keyed.sort(key=lambda kc: kc[0])
    return [(c, outs[c.id].queue_penalty_s) for _, c in keyed]


def queue(db: Session, now: datetime) -> list[schemas.WaitingCallOut]:
    ringing = dict(db.execute(select(RingAttempt.call_id, RingAttempt.user_id)
                              .where(RingAttempt.ended_at.is_(None))).all())
    return [schemas.WaitingCallOut(call_id=c.id, caller_number=c.caller_number, offered_at=c.offered_at,
                                   wait_s=max(0.0, (now - c.offered_at).total_seconds()),
                                   ringing_user_id=ringing.get(c.id), queue_penalty_s=penalty)
            for c, penalty in waiting_calls(db, now)]


def edge(db: Session) -> schemas.EdgeOut:
    row = db.get(TelephonyEdge, EDGE_NAME)
    if row is None:
        return schemas.EdgeOut(state="unknown", since=None, last_seen_at=None)
    return schemas.EdgeOut(state=row.state, since=row.since, last_seen_at=row.last_seen_at, detail=row.detail)


def answering(ls: list[schemas.LineOut]) -> int:
    """Operators who can answer the 112 line now: their phone is available or already on a call. The one
    meaning of "operator bertugas" wherever the centre has phones (the header, the wallboard)."""
    return sum(1 for line in ls if line.queue and (line.presence == "available" or line.busy))


def status(db: Session, now: datetime) -> schemas.TelephonyStatus:
    ls = lines(db, now)
    return schemas.TelephonyStatus(edge=edge(db), lines=ls, queue=queue(db, now), on_duty=answering(ls))

