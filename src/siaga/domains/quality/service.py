"""Reads: the checklist, the review queue (sampled calls not yet reviewed), reviews as a reader sees them,
and the period's QA figures for the period report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from siaga.domains.calls.marks import real_call
from siaga.domains.calls.models import Call
from siaga.domains.incidents.models import Incident
from siaga.domains.quality.models import QaChecklistItem, QaReview
from siaga.domains.quality.sampling import SampleRule, answer_seconds, sample_reasons
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
    why it was sampled. The rule is applied to every reviewable call of the window (a streamed scan of four
    columns), so the queue is what `sampling.sample_reasons` says, whichever process asks."""
    since = now - timedelta(days=window_days)
    rows = db.execute(
        select(Call.id, Call.offered_at, Call.answered_at, Call.outcome, Call.operator_id, Call.incident_id)
        .where(reviewable(), real_call(), Call.offered_at >= since,
               ~exists(select(QaReview.id).where(QaReview.call_id == Call.id)))
        .order_by(Call.offered_at, Call.id)).all()
    picked = []
    for row in rows:
        answer_s = answer_seconds(row.offered_at, row.answered_at)
        reasons = sample_reasons(row.id, row.outcome, answer_s, rule)
        if reasons:
            picked.append((row, answer_s, reasons))
            if len(picked) >= limit:
                break
    names = _names(db, [row.operator_id for row, _a, _r in picked])
    incident_ids = {row.incident_id for row, _a, _r in picked if row.incident_id}
    numbers = dict(db.execute(select(Incident.id, Incident.number).where(Incident.id.in_(incident_ids))).tuples()) \
        if incident_ids else {}
    return [QueueEntryOut(call_id=row.id, offered_at=row.offered_at, answered_at=row.answered_at,
                          answer_s=round(answer_s, 1) if answer_s is not None else None, outcome=row.outcome,
                          operator_id=row.operator_id, operator_name=names.get(row.operator_id or 0, ""),
                          incident_number=numbers.get(row.incident_id) if row.incident_id else None,
                          reasons=reasons)
            for row, answer_s, reasons in picked]


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
    scores: list[float] = field(default_factory=list)

    @property
    def mean_score(self) -> float | None:
        return round(sum(self.scores) / len(self.scores), 1) if self.scores else None


@dataclass
class QaFigures:
    """Reviewable calls offered in the period: how many the rule sampled, how many were reviewed (sampled or
    chosen by hand), the mean score, each item's pass rate (passed / (passed + failed)), and per call-taker."""

    sample_size: int = 0
    reviewed: int = 0
    reviewed_sampled: int = 0
    scores: list[float] = field(default_factory=list)
    items: list[ItemFigures] = field(default_factory=list)
    operators: list[OperatorFigures] = field(default_factory=list)

    @property
    def mean_score(self) -> float | None:
        return round(sum(self.scores) / len(self.scores), 1) if self.scores else None

    def as_dict(self) -> dict[str, Any]:
        return {"sample_size": self.sample_size, "reviewed": self.reviewed, "reviewed_sampled": self.reviewed_sampled,
                "mean_score": self.mean_score,
                "items": [{"item_id": i.item_id, "label": i.label, "passed": i.passed, "failed": i.failed,
                           "not_applicable": i.not_applicable, "pass_rate": i.pass_rate} for i in self.items],
                "operators": [{"operator_id": o.operator_id, "name": o.name, "sampled": o.sampled,
                               "reviewed": o.reviewed, "mean_score": o.mean_score} for o in self.operators]}


def period_figures(db: Session, start: datetime, end: datetime, rule: SampleRule, lang: str,
                   include_simulated: bool = False) -> QaFigures:
    """The QA figures of the calls offered in [start, end) (UTC): one streamed pass over the reviewable
    calls with their review, if any."""
    stmt = (select(Call.id, Call.offered_at, Call.answered_at, Call.outcome, Call.operator_id, QaReview.results,
                   QaReview.score)
            .outerjoin(QaReview, QaReview.call_id == Call.id)
            .where(reviewable(), Call.offered_at >= start, Call.offered_at < end))
    if not include_simulated:
        stmt = stmt.where(real_call())
    items = {i.id: i for i in checklist(db)}
    figures = QaFigures()
    per_item: dict[str, ItemFigures] = {}
    per_operator: dict[int | None, OperatorFigures] = {}
    for row in db.execute(stmt.execution_options(yield_per=5000)):
        sampled = bool(sample_reasons(row.id, row.outcome, answer_seconds(row.offered_at, row.answered_at), rule))
        reviewed = row.results is not None
        if not sampled and not reviewed:
            continue
        op = per_operator.setdefault(row.operator_id, OperatorFigures(row.operator_id, ""))
        if sampled:
            figures.sample_size += 1
            op.sampled += 1
        if not reviewed:
            continue
        figures.reviewed += 1
        figures.reviewed_sampled += sampled
        op.reviewed += 1
        if row.score is not None:
            figures.scores.append(row.score)
            op.scores.append(row.score)
        for item_id, result in (row.results or {}).items():
            f = per_item.setdefault(item_id, ItemFigures(item_id, _label(items.get(item_id), item_id, lang)))
            if result == "pass":
                f.passed += 1
            elif result == "fail":
                f.failed += 1
            else:
                f.not_applicable += 1
    order = {i: n for n, i in enumerate(items)}
    figures.items = sorted(per_item.values(), key=lambda f: (order.get(f.item_id, len(order)), f.item_id))
    names = _names(db, per_operator)
    for op in per_operator.values():
        op.name = names.get(op.operator_id or 0, "")
    figures.operators = sorted(per_operator.values(), key=lambda o: o.name)
    return figures
