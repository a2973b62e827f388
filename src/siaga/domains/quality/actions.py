"""The only writers of the quality review: the checklist (admins: add, rename, move, retire; loaded from a
site folder's qa_checklist.json), and reviews (supervisors: one per call, edited with its version)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select

from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.domains.calls.models import Call
from siaga.domains.calls.privacy import mask_numbers_in_text
from siaga.domains.quality import service
from siaga.domains.quality.models import QaChecklistItem, QaReview
from siaga.domains.quality.sampling import SampleRule, answer_seconds, sample_reasons
from siaga.domains.quality.schemas import ChecklistItemIn, ChecklistItemUpdate, ReviewIn

CHECKLIST_FILE = "qa_checklist.json"
MAX_ITEMS = 100


class _FileItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label_id: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)


class _ChecklistFile(BaseModel):
    items: list[_FileItem] = Field(max_length=MAX_ITEMS)


def _next_position(ctx: Ctx) -> int:
    last = ctx.db.scalar(select(func.max(QaChecklistItem.position)))
    return 0 if last is None else last + 1


def create_item(ctx: Ctx, data: ChecklistItemIn) -> QaChecklistItem:
    if ctx.db.get(QaChecklistItem, data.id) is not None:
        raise Problem(409, "duplicate", what="checklist item", value=data.id)
    if (ctx.db.scalar(select(func.count()).select_from(QaChecklistItem)) or 0) >= MAX_ITEMS:
        raise invalid("body.id", f"the checklist has at most {MAX_ITEMS} items", "too_many")
    row = QaChecklistItem(id=data.id, label_id=data.label_id.strip(), label_en=data.label_en.strip(),
                          position=_next_position(ctx) if data.position is None else data.position, active=True,
                          version=1, updated_at=ctx.now(), updated_by=ctx.actor.user_id or None)
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit("qa.checklist.create", "qa_checklist_item", row.id,
              {"label_id": row.label_id, "label_en": row.label_en, "position": row.position})
    return row


def update_item(ctx: Ctx, item_id: str, data: ChecklistItemUpdate) -> QaChecklistItem:
    """Rename, move, retire or bring back an item; its id stays (reviews refer to it). Saving what is stored
    changes nothing."""
    row = ctx.db.scalar(select(QaChecklistItem).where(QaChecklistItem.id == item_id).with_for_update())
    if row is None:
        raise Problem(404, "not_found")
    check_version(row.version, data.version)
    before = {"label_id": row.label_id, "label_en": row.label_en, "position": row.position, "active": row.active}
    after = {"label_id": (data.label_id or row.label_id).strip(), "label_en": (data.label_en or row.label_en).strip(),
             "position": row.position if data.position is None else data.position,
             "active": row.active if data.active is None else data.active}
    if before == after:
        return row
    row.label_id, row.label_en, row.position, row.active = (after["label_id"], after["label_en"], after["position"],
                                                            after["active"])
    row.version += 1
    row.updated_at, row.updated_by = ctx.now(), ctx.actor.user_id or None
    ctx.db.flush()
    ctx.audit("qa.checklist.update", "qa_checklist_item", row.id,
              {"version": row.version, "before": before, "after": after})
    return row


def load_checklist(ctx: Ctx, folder: Path) -> int:
    """A site folder's checklist into a database that has none yet: after that the checklist is the admins'.
    A malformed file is refused whole, naming the place in it."""
    path = folder / CHECKLIST_FILE
    if not path.exists() or ctx.db.scalar(select(func.count()).select_from(QaChecklistItem)):
        return 0
    try:
        parsed = _ChecklistFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise Problem(422, "validation_failed", errors=[
                {"field": f"{path.name}: " + ".".join(str(p) for p in e["loc"]), "message": e["msg"],
                 "code": e["type"]} for e in exc.errors()]) from None
        raise invalid(path.name, f"cannot read the file: {exc}", "unreadable") from None
    ids = [i.id for i in parsed.items]
    if len(set(ids)) != len(ids):
        raise invalid(path.name, "an item id is used twice", "duplicate")
    for position, item in enumerate(parsed.items):
        ctx.db.add(QaChecklistItem(id=item.id, label_id=item.label_id, label_en=item.label_en, position=position,
                                   active=True, version=1, updated_at=ctx.now(), updated_by=None))
    ctx.db.flush()
    ctx.audit("qa.checklist.load", "qa_checklist_item", None, {"file": path.name, "added": ids})
    return len(ids)


def score(results: dict[str, str]) -> float | None:
    """Items passed / (passed + failed), percent; not-applicable items count neither way."""
    passed = sum(1 for r in results.values() if r == "pass")
    judged = passed + sum(1 for r in results.values() if r == "fail")
    return round(100 * passed / judged, 1) if judged else None


def save_review(ctx: Ctx, call_id: int, data: ReviewIn, rule: SampleRule) -> QaReview:
    """The call's review: written the first time (no `version`), edited after (the version seen). Every
    active item needs a result; a retired item keeps the result it had and takes none anew. The comment is
    stored with phone numbers masked."""
    # The call's row lock: two supervisors writing its first review at once queue up, the second gets 409.
    call = ctx.db.scalar(select(Call).where(Call.id == call_id).with_for_update())
    if call is None:
        raise Problem(404, "not_found")
    if call.status != "ended" or call.answered_at is None or call.operator_id is None:
        raise Problem(409, "call_not_reviewable")
    review = ctx.db.scalar(select(QaReview).where(QaReview.call_id == call_id).with_for_update())
    if review is None and data.version is not None:
        raise Problem(404, "not_found")
    if review is not None:
        check_version(review.version, data.version or 0)
    items = {i.id: i for i in service.checklist(ctx.db)}
    had = dict(review.results) if review is not None else {}
    errors = []
    for key in data.results:
        item = items.get(key)
        if item is None:
            errors.append({"field": f"body.results.{key}", "message": f"not a checklist item: {key}",
                           "code": "unknown"})
        elif not item.active and key not in had:
            errors.append({"field": f"body.results.{key}", "message": f"a retired item: {key}", "code": "retired"})
    for key, item in items.items():
        if item.active and key not in data.results:
            errors.append({"field": f"body.results.{key}", "message": f"no result for {key}", "code": "missing"})
    if errors:
        raise Problem(422, "validation_failed", errors=errors)
    results = {k: v for k, v in had.items() if k in items and not items[k].active and k not in data.results}
    results.update(data.results)
    comment = mask_numbers_in_text(data.comment.strip())
    now, who = ctx.now(), ctx.actor.user_id or None
    if review is None:
        reasons = sample_reasons(call.id, call.outcome, answer_seconds(call.offered_at, call.answered_at), rule)
        review = QaReview(call_id=call.id, operator_id=call.operator_id, results=results, score=score(results),
                          comment=comment, sampled_for=reasons, reviewed_by=who, reviewed_at=now, updated_by=who,
                          updated_at=now)
        ctx.db.add(review)
        ctx.db.flush()
        ctx.audit("qa.review.create", "call", call.id, {"review_id": review.id, "results": results,
                                                        "score": review.score, "comment": comment,
                                                        "sampled_for": reasons})
        return review
    before = {"results": review.results, "score": review.score, "comment": review.comment}
    after = {"results": results, "score": score(results), "comment": comment}
    if before == after:
        return review
    review.results, review.score, review.comment = results, after["score"], comment
    review.updated_by, review.updated_at = who, now
    ctx.db.flush()
    ctx.audit("qa.review.update", "call", call.id, {"review_id": review.id, "version": review.version,
                                                    "before": before, "after": after})
    return review
