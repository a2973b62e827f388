"""Guided questions as data in the database (GuidedQuestion): read per category for the call-taker, by id
for checking answers (retired ones too: old answers keep their question), edited by admins, and loaded
from a site folder's questions.json (rows the database does not have yet; an admin's edits stay)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siaga.core.context import Ctx
from siaga.core.errors import Problem, check_version, invalid
from siaga.domains.incidents.models import Category, GuidedQuestion
from siaga.domains.incidents.schemas import Question

QUESTIONS_FILE = "questions.json"


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


class GuidedQuestionIn(BaseModel):
    """An admin's question: the question itself, its category (top level), its place in the list."""

    model_config = ConfigDict(extra="forbid")

    category_code: str = Field(min_length=1, max_length=60)
    position: int = Field(default=0, ge=0, le=1000)
    question: Question
    active: bool = True


class GuidedQuestionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    position: int | None = Field(default=None, ge=0, le=1000)
    question: Question | None = None
    active: bool | None = None


class GuidedQuestionOut(BaseModel):
    id: str
    category_code: str
    position: int
    active: bool
    version: int
    question: Question


def _out(row: GuidedQuestion) -> GuidedQuestionOut:
    return GuidedQuestionOut(id=row.id, category_code=row.category_code, position=row.position,
                             active=row.active, version=row.version, question=Question.model_validate(row.body))


def questions_for(db: Session, category_code: str) -> list[Question]:
    """The active questions of a top-level category, in order; [] for a category without any."""
    rows = db.scalars(select(GuidedQuestion).where(GuidedQuestion.category_code == category_code,
                                                   GuidedQuestion.active.is_(True))
                      .order_by(GuidedQuestion.position, GuidedQuestion.id))
    return [Question.model_validate(r.body) for r in rows]


def questions_by_id(db: Session) -> dict[str, Question]:
    """Every question by id, retired ones too: an answer recorded before a question was retired still
    reads as the question it answered."""
    return {r.id: Question.model_validate(r.body) for r in db.scalars(select(GuidedQuestion))}


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


def create_question(ctx: Ctx, data: GuidedQuestionIn) -> GuidedQuestionOut:
    _top_level(ctx, data.category_code, "body.category_code")
    if ctx.db.get(GuidedQuestion, data.question.id) is not None:
        raise Problem(409, "duplicate", what="question id", value=data.question.id)
    row = GuidedQuestion(id=data.question.id, category_code=data.category_code, position=data.position,
                         body=data.question.model_dump(mode="json"), active=data.active, version=1,
                         updated_at=ctx.now(), updated_by=ctx.actor.user_id or None)
    ctx.db.add(row)
    ctx.db.flush()
    ctx.audit("question.create", "guided_question", row.id, { "category": row.category_code,
                                                            "question": row.body, "active": row.active})
    return _out(row)


def update_question(ctx: Ctx, question_id: str, data: GuidedQuestionUpdate) -> GuidedQuestionOut:
    row = ctx.db.scalar(select(GuidedQuestion).where(GuidedQuestion.id == question_id).with_for_update())
    if row is None:
        raise Problem(404, "not_found")
    check_version(row.version, data.version)
    before = {"position": row.position, "question": row.body, "active": row.active}
    if data.question is not None:
        if data.question.id != row.id:
            raise invalid("body.question.id", "a question's id never changes (answers refer to it): add a new "
                                              "question and retire this one", "immutable")
        row.body = data.question.model_dump(mode="json")
    if data.position is not None:
        row.position = data.position
    if data.active is not None:
        row.active = data.active
    row.version += 1
    row.updated_at, row.updated_by = ctx.now(), ctx.actor.user_id or None
    ctx.audit("question.update", "guided_question", row.id, {
        "id": row.id, "before": before, "after": {"position": row.position, "question": row.body,
                                                  "active": row.active}})
    return _out(row)


def read_question_file(path: Path) -> QuestionSet:
    """A questions.json, checked (shape, ids unique); ValueError saying what is wrong."""
    try:
        with path.open(encoding="utf-8") as f:
            return QuestionSet.model_validate(json.load(f))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"{path.name}: {exc}") from None


def load_questions(ctx: Ctx, folder: Path) -> int:
    """The site folder's questions the database does not have yet (by id), after the existing ones of their
    category; an admin's edits and retirements stay. Categories the site does not have are refused."""
    path = folder / QUESTIONS_FILE
    if not path.exists():
        return 0
    parsed = read_question_file(path)
    known = set(ctx.db.scalars(select(GuidedQuestion.id)))
    added = 0
    for code, questions in parsed.categories.items():
        _top_level(ctx, code, f"{QUESTIONS_FILE}.categories.{code}")
        start = ctx.db.scalar(select(func.coalesce(func.max(GuidedQuestion.position), -1))
                              .where(GuidedQuestion.category_code == code)) + 1
        for i, q in enumerate(questions):
            if q.id in known:
                continue
            ctx.db.add(GuidedQuestion(id=q.id, category_code=code, position=start + i,
                                      body=q.model_dump(mode="json"), active=True, version=1,
                                      updated_at=ctx.now(), updated_by=None))
            known.add(q.id)
            added += 1
    ctx.db.flush()
    if added:
        ctx.audit("question.load", "guided_question", None, {"file": str(path.name), "added": added})
    return added
