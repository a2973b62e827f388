"""Quality review over HTTP: the checklist (read: qa.read; kept by admins: qa.checklist), the review queue and
reviews (supervisors: qa.review), and a call-taker's feedback on their own calls (qa.feedback). Agency
operators hold none of these (403)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request

from siaga.core.context import Ctx
from siaga.core.errors import Problem, request_language
from siaga.core.http import ctx_for
from siaga.core.ids import PathId, QueryId
from siaga.domains.quality import actions, service
from siaga.domains.quality.sampling import SampleRule
from siaga.domains.quality.schemas import (
    ChecklistItemIn,
    ChecklistItemOut,
    ChecklistItemUpdate,
    QueueEntryOut,
    ReviewIn,
    ReviewOut,
)

router = APIRouter(tags=["quality"])


@router.get("/qa/checklist", response_model=list[ChecklistItemOut])
def list_checklist(ctx: Ctx = Depends(ctx_for("qa.read"))) -> list[ChecklistItemOut]:
    """Every checklist item, retired ones too (`active: false`), in order."""
    return [service.item_out(r) for r in service.checklist(ctx.db)]


@router.post("/qa/checklist", status_code=201, response_model=ChecklistItemOut,
             responses={409: {"description": "an item with this id exists"}})
def create_checklist_item(data: ChecklistItemIn, ctx: Ctx = Depends(ctx_for("qa.checklist"))) -> ChecklistItemOut:
    """A new item, checked in every review from now on."""
    return service.item_out(actions.create_item(ctx, data))


@router.put("/qa/checklist/{item_id}", response_model=ChecklistItemOut,
            responses={409: {"description": "changed meanwhile (stale version)"}})
def update_checklist_item(data: ChecklistItemUpdate, item_id: str = Path(max_length=40),
                          ctx: Ctx = Depends(ctx_for("qa.checklist"))) -> ChecklistItemOut:
    """Rename, move, retire (`active: false`) or bring back an item. Reviews that used a retired item keep
    its result and its words."""
    return service.item_out(actions.update_item(ctx, item_id, data))


@router.get("/qa/queue", response_model=list[QueueEntryOut])
def review_queue(ctx: Ctx = Depends(ctx_for("qa.review"))) -> list[QueueEntryOut]:
    """Calls in the review sample that nobody has reviewed yet (offered in the last SIAGA_QA_QUEUE_DAYS), oldest
    first, each with why it is there: `random` (SIAGA_QA_SAMPLE_PERCENT, fixed per call id), `prank`, `ghost`,
    `long_answer` (answered after more than SIAGA_QA_LONG_ANSWER_SECONDS)."""
    return service.queue(ctx.db, SampleRule.of(ctx.settings), ctx.now(), ctx.settings.qa_queue_days)


@router.get("/qa/reviews", response_model=list[ReviewOut])
def list_reviews(request: Request, operator_id: QueryId = None,
                 limit: int = Query(default=100, ge=1, le=500),
                 ctx: Ctx = Depends(ctx_for("qa.review"))) -> list[ReviewOut]:
    """Reviews, last changed first; `operator_id` narrows to one call-taker's calls."""
    rows = service.reviews(ctx.db, operator_id=operator_id, limit=limit)
    return service.reviews_out(ctx.db, rows, request_language(request))


@router.get("/qa/reviews/{call_id}", response_model=ReviewOut)
def get_review(call_id: PathId, request: Request, ctx: Ctx = Depends(ctx_for("qa.review"))) -> ReviewOut:
    """The call's review (404 when it has none yet)."""
    review = service.review_of(ctx.db, call_id)
    if review is None:
        raise Problem(404, "not_found")
    return service.reviews_out(ctx.db, [review], request_language(request))[0]


@router.put("/qa/reviews/{call_id}", response_model=ReviewOut,
            responses={409: {"description": "reviewed or edited by someone else meanwhile (stale version), or the "
                                            "call is not one a person answered and ended"}})
def save_review(call_id: PathId, data: ReviewIn, request: Request,
                ctx: Ctx = Depends(ctx_for("qa.review"))) -> ReviewOut:
    """Write the call's review (no `version`) or edit it (the version you saw): a result for every active
    item, a comment (phone numbers in it are masked). One review per call; audited."""
    review = actions.save_review(ctx, call_id, data, SampleRule.of(ctx.settings))
    return service.reviews_out(ctx.db, [review], request_language(request))[0]


@router.get("/qa/feedback", response_model=list[ReviewOut])
def my_feedback(request: Request, ctx: Ctx = Depends(ctx_for("qa.feedback"))) -> list[ReviewOut]:
    """The reviews of the calls you answered, last changed first: only your own."""
    rows = service.reviews(ctx.db, operator_id=ctx.actor.user_id, limit=200)
    return service.reviews_out(ctx.db, rows, request_language(request))
