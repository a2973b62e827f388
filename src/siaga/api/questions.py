"""Guided questions (admin): list, add, reword or retire, reorder. Call-takers read the active ones of a
category at GET /categories/{code}/questions (api/incidents.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from siaga.core.context import Ctx
from siaga.core.http import ctx_for
from siaga.domains.incidents import questions
from siaga.domains.response.actions import check_question_change

router = APIRouter(tags=["reference"])


@router.get("/guided-questions", response_model=list[questions.GuidedQuestionOut])
def list_guided_questions(category_code: str | None = Query(default=None, max_length=60),
                          ctx: Ctx = Depends(ctx_for("reference.read"))) -> list[questions.GuidedQuestionOut]:
    """Every guided question (retired ones too, `active: false`), by category and position."""
    return questions.list_questions(ctx.db, category_code)


@router.post("/guided-questions", status_code=201, response_model=questions.GuidedQuestionOut,
             responses={409: {"description": "a question with this id exists"}})
def create_guided_question(data: questions.GuidedQuestionIn,
                           ctx: Ctx = Depends(ctx_for("reference.write"))) -> questions.GuidedQuestionOut:
    """A new question for a top-level category, asked from now on. Its id is for ever: answers refer to it."""
    return questions.create_question(ctx, data)


@router.put("/guided-questions/{question_id}", response_model=questions.GuidedQuestionOut,
            responses={409: {"description": "changed meanwhile (stale version), or an active response rule "
                                            "needs what the edit would take away (errors name the rules)"}})
def update_guided_question(data: questions.GuidedQuestionUpdate, question_id: str = Path(max_length=80),
                           ctx: Ctx = Depends(ctx_for("reference.write"))) -> questions.GuidedQuestionOut:
    """Reword a question, change its options or what raises the priority, move it, or retire it
    (`active: false`): call-takers ask the saved question at once. Incidents that answered it keep their
    answers with the question as it was asked. Its id and kind never change."""
    return questions.update_question(ctx, question_id, data, keeps_rules=check_question_change)


@router.put("/categories/{code}/questions/order", response_model=list[questions.GuidedQuestionOut],
            responses={409: {"description": "the list misses a question of the category (added meanwhile)"}})
def reorder_guided_questions(data: questions.QuestionOrder, code: str = Path(max_length=60),
                             ctx: Ctx = Depends(ctx_for("reference.write"))) -> list[questions.GuidedQuestionOut]:
    """The category's questions in a new order: name each of them once, retired ones too."""
    return questions.reorder_questions(ctx, code, data)
