"""Guided questions as data in the database (GuidedQuestion), kept like the response plan: read per category
for the call-taker, edited by admins (add, reword, reorder, retire; each change versioned, audited and
announced as `question.changed`), loaded from a site folder's questions.json (rows the database does not
have yet; an admin's edits stay).

What keeps an answer's meaning when its question changes:
- a question's id and kind never change (answers and response rules refer to the id); a question is retired,
  never deleted;
- an incident's answers are stored with the question as it was asked (`asked`: its version and words, in
  the guided_answers timeline entry), so rewording a question later does not reword past answers;
- an edit that would leave an active response rule unable to match (retiring a question it names, taking
  away the option it matches) is refused by the rule's own check (response.actions.check_question_change),
  which the API passes in: the plan depends on questions, not the other way round."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.core.strict import StrictModel
from siaga.domains.incidents.models import Category, GuidedQuestion
from siaga.domains.incidents.schemas import Question
from siaga.events.kinds import EventKind

QUESTIONS_FILE = "questions.json"
MAX_PER_CATEGORY = 200

# The response plan's check that a changed question still answers every active rule naming it: given the
# question as it would be and whether it would be active, raise a Problem naming the rules it would break.
RuleGuard = Callable[[Ctx, Question, bool], None]


class QuestionSet(BaseModel):
    """A site folder's questions.json: questions per top-level category, ids unique across the file."""

    model_config = ConfigDict(extra="ignore")

    categories: dict[str, list[Question]]

    @model_validator(mode="after")
    def _unique_ids(self) -> QuestionSet:
        ids = [q.id for qs in self.categories.values() for q in qs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"question ids used twice: {', '.join(duplicates)}")
        return self


class GuidedQuestionIn(StrictModel):
    """An admin's new question: the question itself, its category (top level), its place in the list
    (after the last one when not given)."""

    category_code: str = Field(min_length=1, max_length=60)
    position: int | None = Field(default=None, ge=0, le=1000)
    question: Question
    active: bool = True


class GuidedQuestionUpdate(StrictModel):
    """What an admin changes: the words, options and what raises the priority (not the id, not the kind),
    the place in the list, or whether it is asked at all. `version` is the one the admin saw."""

    version: int = Field(ge=1)
    position: int | None = Field(default=None, ge=0, le=1000)
    question: Question | None = None
    active: bool | None = None


class QuestionOrder(StrictModel):
    """Every question of the category (retired ones too), in the order call-takers are to ask them."""

    ids: list[str] = Field(min_length=1, max_length=MAX_PER_CATEGORY)


class GuidedQuestionOut(BaseModel):
    id: str
    category_code: str
    position: int
    active: bool
    version: int
    updated_at: datetime
    question: Question


def _out(row: GuidedQuestion) -> GuidedQuestionOut:
    return GuidedQuestionOut(id=row.id, category_code=row.category_code, position=row.position,
                             active=row.active, version=row.version, updated_at=row.updated_at,
                             question=Question.model_validate(row.body))


def questions_for(db: Session, category_code: str) -> list[Question]:
    """The active questions of a top-level category, in order; [] for a category without any."""
    rows = db.scalars(select(GuidedQuestion).where(GuidedQuestion.category_code == category_code,
                                                   GuidedQuestion.active.is_(True))
                      .order_by(GuidedQuestion.position, GuidedQuestion.id))
    return [Question.model_validate(r.body) for r in rows]


def all_questions(db: Session) -> dict[str, tuple[Question, bool]]:
    """Every question by id with whether it is asked (retired ones too), for checks across the plan."""
    return {r.id: (Question.model_validate(r.body), r.active) for r in db.scalars(select(GuidedQuestion))}


def asked(db: Session, answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The answered questions as they are now — id, version and the whole question (words in both
    languages, options) — to be stored with the answers, so that a later rewording leaves them as asked."""
    if not answers:
        return {}
    rows = db.scalars(select(GuidedQuestion).where(GuidedQuestion.id.in_(list(answers))))
    return {r.id: {"version": r.version, "question": r.body} for r in rows}


def list_questions(db: Session, category_code: str | None = None) -> list[GuidedQuestionOut]:
    stmt = select(GuidedQuestion).order_by(GuidedQuestion.category_code, GuidedQuestion.position, GuidedQuestion.id)
    if category_code:
        stmt = stmt.where(GuidedQuestion.category_code == category_code)
    return [_out(r) for r in db.scalars(stmt)]


def _top_level(ctx: Ctx, code: str, field: str) -> Category:
    category = ctx.db.get(Category, code)
    if category is None:
        raise invalid(field, f"unknown category: {code}", "unknown")
    if category.parent_code is not None:
        raise invalid(field, f"questions belong to a top-level category ({category.parent_code}), not {code}",
                      "not_top_level")
    return category


def _next_position(ctx: Ctx, category_code: str) -> int:
    last = ctx.db.scalar(select(func.max(GuidedQuestion.position))
                         .where(GuidedQuestion.category_code == category_code))
    return 0 if last is None else last + 1


def _announce(ctx: Ctx, category_code: str, ids: list[str], change: str) -> None:
    """Call-takers with this category open ask the new questions at once; plan pages reload."""
    ctx.emit(EventKind.QUESTION_CHANGED, "guided_question", None, {"category_code": category_code, "ids": ids,
                                                          "change": change})


def create_question(ctx: Ctx, data: GuidedQuestionIn) -> GuidedQuestionOut:
    _top_level(ctx, data.category_code, "body.category_code")
    if ctx.db.get(GuidedQuestion, data.question.id) is not None:
        raise Problem(409, "duplicate", what="question id", value=data.question.id)
    count = ctx.db.scalar(select(func.count()).select_from(GuidedQuestion)
                          .where(GuidedQuestion.category_code == data.category_code)) or 0
    if count >= MAX_PER_CATEGORY:
        raise invalid("body.category_code", f"a category has at most {MAX_PER_CATEGORY} questions", "too_many")
    position = _next_position(ctx, data.category_code) if data.position is None else data.position
    row = GuidedQuestion(id=data.question.id, category_code=data.category_code, position=position,
                         body=data.question.model_dump(mode="json"), active=data.active, version=1,
                         updated_at=ctx.now(), updated_by=ctx.actor.user_id or None)
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit("question.create", "guided_question", row.id, {"category": row.category_code, "position": position,
                                                            "question": row.body, "active": row.active})
    _announce(ctx, row.category_code, [row.id], "create")
    return _out(row)


def update_question(ctx: Ctx, question_id: str, data: GuidedQuestionUpdate, *,
                    keeps_rules: RuleGuard) -> GuidedQuestionOut:
    """Reword, move or retire a question. Its id and kind stay (answers and rules refer to them: add a new
    question and retire this one instead); an edit that would break an active response rule is refused by
    `keeps_rules`. Saving what is already stored changes nothing (no new version)."""
    row = ctx.db.scalar(select(GuidedQuestion).where(GuidedQuestion.id == question_id).with_for_update())
    if row is None:
        raise Problem(404, "not_found")
    check_version(row.version, data.version)
    current = Question.model_validate(row.body)
    question = data.question or current
    if question.id != row.id:
        raise invalid("body.question.id", "a question's id never changes (answers refer to it): add a new "
                                          "question and retire this one", "immutable")
    if question.kind != current.kind:
        raise invalid("body.question.kind", f"a question's kind never changes ({current.kind}: past answers "
                                            "are of that kind): add a new question and retire this one",
                      "immutable")
    active = row.active if data.active is None else data.active
    position = row.position if data.position is None else data.position
    body = question.model_dump(mode="json")
    before = {"position": row.position, "question": row.body, "active": row.active}
    after = {"position": position, "question": body, "active": active}
    if before == after:
        return _out(row)
    keeps_rules(ctx, question, active)
    row.body, row.active, row.position = body, active, position
    row.version += 1
    row.updated_at, row.updated_by = ctx.now(), ctx.actor.user_id or None
    ctx.db.flush()
    ctx.audit("question.update", "guided_question", row.id, {"version": row.version, "before": before,
                                                            "after": after})
    change = "retire" if before["active"] and not active else "restore" if active and not before["active"] \
        else "update"
    _announce(ctx, row.category_code, [row.id], change)
    return _out(row)


def reorder_questions(ctx: Ctx, category_code: str, data: QuestionOrder) -> list[GuidedQuestionOut]:
    """Put a category's questions in the order given, all at once. The list must name each of the
    category's questions exactly once (retired ones too): one that misses a question added meanwhile is
    refused (409), so nobody reorders a list they have not seen."""
    category = ctx.db.get(Category, category_code)
    if category is None or category.parent_code is not None:
        raise Problem(404, "not_found")
    rows = {r.id: r for r in ctx.db.scalars(select(GuidedQuestion).where(
        GuidedQuestion.category_code == category_code).with_for_update())}
    seen: set[str] = set()
    errors = []
    for i, qid in enumerate(data.ids):
        if qid in seen:
            errors.append({"field": f"body.ids.{i}", "message": f"named twice: {qid}", "code": "duplicate"})
        elif qid not in rows:
            errors.append({"field": f"body.ids.{i}", "message": f"not a question of category {category_code}: {qid}",
                           "code": "unknown"})
        seen.add(qid)
    if errors:
        raise Problem(422, "validation_failed", errors=errors)
    missing = sorted(set(rows) - seen)
    if missing:
        raise Problem(409, "conflict", errors=[{
            "field": "body.ids", "message": f"the list misses questions of {category_code} (added meanwhile? "
                                            f"reload): {', '.join(missing)}", "code": "stale"}])
    before = [r.id for r in sorted(rows.values(), key=lambda r: (r.position, r.id))]
    moved = []
    for position, qid in enumerate(data.ids):
        row = rows[qid]
        if row.position != position:
            row.position = position
            row.version += 1
            row.updated_at, row.updated_by = ctx.now(), ctx.actor.user_id or None
            moved.append(qid)
    if moved:
        ctx.db.flush()
        ctx.audit("question.reorder", "category", category_code, {"before": before, "after": list(data.ids)})
        _announce(ctx, category_code, moved, "reorder")
    return list_questions(ctx.db, category_code)


def read_question_file(path: Path) -> QuestionSet:
    """A questions.json, checked (shape, ids unique, words not blank): a 422 Problem naming each wrong
    place in the file (`questions.json: categories.kebakaran.1.text_id`) and what is wrong there."""
    try:
        with path.open(encoding="utf-8") as f:
            raw = json.load(f)
    except OSError as exc:
        raise invalid(path.name, f"cannot read the file: {exc.strerror}", "unreadable") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid(path.name, f"not JSON: {exc}", "json_invalid") from None
    try:
        return QuestionSet.model_validate(raw)
    except ValidationError as exc:
        errors = [{"field": f"{path.name}: " + ".".join(str(p) for p in e["loc"]) if e["loc"] else path.name,
                   "message": e["msg"], "code": e["type"]} for e in exc.errors()]
        raise Problem(422, "validation_failed", errors=errors) from None


def load_questions(ctx: Ctx, folder: Path) -> int:
    """The site folder's questions the database does not have yet (by id), after the existing ones of their
    category; an admin's edits and retirements stay. A file naming a category the site does not have, or a
    subcategory, is refused whole (nothing is added)."""
    path = folder / QUESTIONS_FILE
    if not path.exists():
        return 0
    parsed = read_question_file(path)
    for code in parsed.categories:
        _top_level(ctx, code, f"{QUESTIONS_FILE}: categories.{code}")
    known = set(ctx.db.scalars(select(GuidedQuestion.id)))
    added: dict[str, list[str]] = {}
    for code, questions in parsed.categories.items():
        start = _next_position(ctx, code)
        for q in questions:
            if q.id in known:
                continue
            ctx.db.add(GuidedQuestion(id=q.id, category_code=code, position=start + len(added.get(code, [])),
                                      body=q.model_dump(mode="json"), active=True, version=1,
                                      updated_at=ctx.now(), updated_by=None))
            known.add(q.id)
            added.setdefault(code, []).append(q.id)
    ctx.db.flush()
    total = sum(len(ids) for ids in added.values())
    if total:
        ctx.audit("question.load", "guided_question", None, {"file": path.name, "added": added})
        for code, ids in added.items():
            _announce(ctx, code, ids, "load")
    return total
