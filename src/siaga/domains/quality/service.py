"""Reads: the checklist, the review queue (sampled calls not yet reviewed), reviews as a reader sees them,
and the period's QA figures for the period report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.orm import Session

from siaga.domains.calls.marks import real_call
from siaga.domains.calls.models import Call
from siaga.domains.incidents.models import Incident
from siaga.domains.kpi.sql import seconds_between
from siaga.domains.quality.models import QaChecklistItem, QaReview
from siaga.domains.quality.sampling import SampleRule, answer_seconds, sample_reasons, sampled_sql
from siaga.domains.quality.schemas import ChecklistItemOut, ItemResultOut, QueueEntryOut, ReviewOut
from siaga.domains.users.models import User

QUEUE_LIMIT = 500


def item_out(row: QaChecklistItem) -> ChecklistItemOut:
    return ChecklistItemOut(id=row.id, position=row.position, label_id=row.label_id, label_en=row.label_en,
                            active=row.active, version=row.version, updated_at=row.updated_at)


def checklist(db: Session, active_only: bool = False) -> list[QaChecklistItem]:
    stmt = select(QaChecklistItem).order_by(QaChecklistItem.position, QaChecklistItem.id)
    if active_only:
        stmt = stmt.where(QaChecklistItem.active.is_(True))
    return list(db.scalars(stmt))


def reviewable(call: Any = Call) -> Any:
    """A call a person answered and that has ended; simulated calls are not the centre's work."""
    return (call.status == "ended") & call.answered_at.is_not(None) & call.operator_id.is_not(None)


def _names(db: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.full_name for u in db.scalars(select(User).where(User.id.in_(wanted)))}


def _label(item: QaChecklistItem | None, item_id: str, lang: str) -> str:
    if item is None:
        return item_id
    return item.label_en if lang == "en" else item.label_id


def reviews_out(db: Session, reviews: list[QaReview], lang: str) -> list[ReviewOut]:
    if not reviews:
        return []
    items = {i.id: i for i in checklist(db)}
    order = {i: n for n, i in enumerate(items)}
    names = _names(db, [u for r in reviews for u in (r.operator_id, r.reviewed_by, r.updated_by)])
    calls = {c.id: c for c in db.scalars(select(Call).where(Call.id.in_([r.call_id for r in reviews])))}
    incident_ids = {c.incident_id for c in calls.values() if c.incident_id}
    numbers = dict(db.execute(select(Incident.id, Incident.number).where(Incident.id.in_(incident_ids))).tuples()) \
        if incident_ids else {}
    out = []
    for r in reviews:
        call = calls[r.call_id]
        results = [ItemResultOut(item_id=k, label=_label(items.get(k), k, lang),
                                 active=bool(items.get(k) and items[k].active), result=v)
                   for k, v in sorted(r.results.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]
        out.append(ReviewOut(
            id=r.id, call_id=r.call_id, operator_id=r.operator_id, operator_name=names.get(r.operator_id or 0, ""),
            results=results, score=r.score, comment=r.comment, sampled_for=list(r.sampled_for or []),
            reviewed_by=r.reviewed_by, reviewer_name=names.get(r.reviewed_by or 0, ""), reviewed_at=r.reviewed_at,
            updated_by=r.updated_by, updated_at=r.updated_at, version=r.version, call_offered_at=call.offered_at,
            call_outcome=call.outcome, incident_number=numbers.get(call.incident_id) if call.incident_id else None))
    return out


def review_of(db: Session, call_id: int) -> QaReview | None:
    return db.scalar(select(QaReview).where(QaReview.call_id == call_id))


def reviews(db: Session, *, operator_id: int | None = None, limit: int = 200) -> list[QaReview]:
    stmt = select(QaReview).order_by(QaReview.updated_at.desc(), QaReview.id.desc()).limit(limit)
    if operator_id is not None:
        stmt = stmt.where(QaReview.operator_id == operator_id)
    return list(db.scalars(stmt))


def queue(db: Session, rule: SampleRule, now: datetime, window_days: int, limit: int = QUEUE_LIMIT) \
        -> list[QueueEntryOut]:
    """The sampled calls nobody has reviewed yet, offered in the last `window_days`, oldest first, each with
    why it was sampled. The database applies the rule (sampling.sampled_sql) and Python names the reasons
    with the same rule (sampling.sample_reasons)."""
    since = now - timedelta(days=window_days)
    answer_s = seconds_between(Call.answered_at, Call.offered_at)
    rows = db.execute(
        select(Call.id, Call.offered_at, Call.answered_at, Call.outcome, Call.operator_id, Call.incident_id)
        .where(reviewable(), real_call(), Call.offered_at >= since,
               ~exists(select(QaReview.id).where(QaReview.call_id == Call.id)),
               sampled_sql(Call.id, Call.outcome, answer_s, rule))
        .order_by(Call.offered_at, Call.id).limit(limit)).all()
    picked = []
    for row in rows:
        seconds = answer_seconds(row.offered_at, row.answered_at)
        picked.append((row, seconds, sample_reasons(row.id, row.outcome, seconds, rule)))
    names = _names(db, [row.operator_id for row, _a, _r in picked])
    incident_ids = {row.incident_id for row, _a, _r in picked if row.incident_id}
    numbers = dict(db.execute(select(Incident.id, Incident.number).where(Incident.id.in_(incident_ids))).tuples()) \
        if incident_ids else {}
    return [QueueEntryOut(call_id=row.id, offered_at=row.offered_at, answered_at=row.answered_at,
                          answer_s=round(seconds, 1) if seconds is not None else None, outcome=row.outcome,
                          operator_id=row.operator_id, operator_name=names.get(row.operator_id or 0, ""),
                          incident_number=numbers.get(row.incident_id) if row.incident_id else None,
                          reasons=reasons)
            for row, seconds, reasons in picked]


# --- the period report's figures ------------------------------------------------------------------------------

@dataclass
class ItemFigures:
    item_id: str
    label: str
    passed: int = 0
    failed: int = 0
    not_applicable: int = 0

    @property
    def pass_rate(self) -> float | None:
        judged = self.passed + self.failed
        return round(100 * self.passed / judged, 1) if judged else None


@dataclass
class OperatorFigures:
    operator_id: int | None
    name: str
    sampled: int = 0
    reviewed: int = 0
    score_sum: float = 0.0
    score_n: int = 0

    @property
    def mean_score(self) -> float | None:
        return round(self.score_sum / self.score_n, 1) if self.score_n else None


@dataclass
class QaFigures:
    """Reviewable calls offered in the period: how many the rule sampled, how many were reviewed (sampled or
    chosen by hand), the mean score, each item's pass rate (passed / (passed + failed)), and per call-taker."""

    sample_size: int = 0
    reviewed: int = 0
    reviewed_sampled: int = 0
    score_sum: float = 0.0
    score_n: int = 0
    items: list[ItemFigures] = field(default_factory=list)
    operators: list[OperatorFigures] = field(default_factory=list)

    @property
    def mean_score(self) -> float | None:
        return round(self.score_sum / self.score_n, 1) if self.score_n else None

    def as_dict(self) -> dict[str, Any]:
        return {"sample_size": self.sample_size, "reviewed": self.reviewed, "reviewed_sampled": self.reviewed_sampled,
                "mean_score": self.mean_score,
                "items": [{"item_id": i.item_id, "label": i.label, "passed": i.passed, "failed": i.failed,
                           "not_applicable": i.not_applicable, "pass_rate": i.pass_rate} for i in self.items],
                "operators": [{"operator_id": o.operator_id, "name": o.name, "sampled": o.sampled,
                               "reviewed": o.reviewed, "mean_score": o.mean_score} for o in self.operators]}


def period_figures(db: Session, start: datetime, end: datetime, rule: SampleRule, lang: str,
                   include_simulated: bool = False) -> QaFigures:
    """The QA figures of the reviewable calls offered in [start, end) (UTC): one aggregate query per
    call-taker (the database applies the sampling rule), and the results of the period's reviews (a few per
    day) tallied per item."""
    answer_s = seconds_between(Call.answered_at, Call.offered_at)
    sampled = sampled_sql(Call.id, Call.outcome, answer_s, rule)
    where = [reviewable(), Call.offered_at >= start, Call.offered_at < end]
    if not include_simulated:
        where.append(real_call())
    one = literal(1)
    per_operator = db.execute(
        select(Call.operator_id, func.count(case((sampled, one))), func.count(QaReview.id),
               func.count(case((and_(sampled, QaReview.id.is_not(None)), one))), func.sum(QaReview.score),
               func.count(QaReview.score))
        .outerjoin(QaReview, QaReview.call_id == Call.id).where(*where).group_by(Call.operator_id)).all()
    figures = QaFigures()
    names = _names(db, [r[0] for r in per_operator])
    score_sum, score_n = 0.0, 0
    for operator_id, n_sampled, n_reviewed, n_reviewed_sampled, op_sum, op_n in per_operator:
        figures.sample_size += n_sampled
        figures.reviewed += n_reviewed
        figures.reviewed_sampled += n_reviewed_sampled
        score_sum += op_sum or 0.0
        score_n += op_n
        if n_sampled or n_reviewed:
            figures.operators.append(OperatorFigures(operator_id, names.get(operator_id or 0, ""), n_sampled,
                                                     n_reviewed, op_sum or 0.0, op_n))
    figures.score_sum, figures.score_n = score_sum, score_n
    figures.operators.sort(key=lambda o: o.name)
    items = {i.id: i for i in checklist(db)}
    per_item: dict[str, ItemFigures] = {}
    for (results,) in db.execute(select(QaReview.results).join(Call, Call.id == QaReview.call_id).where(*where)):
        for item_id, result in (results or {}).items():
            f = per_item.setdefault(item_id, ItemFigures(item_id, _label(items.get(item_id), item_id, lang)))
            if result == "pass":
                f.passed += 1
            elif result == "fail":
                f.failed += 1
            else:
                f.not_applicable += 1
    order = {i: n for n, i in enumerate(items)}
    figures.items = sorted(per_item.values(), key=lambda f: (order.get(f.item_id, len(order)), f.item_id))
    return figures
