"""The quality review's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from siaga.core.ids import Version
from siaga.core.strict import StrictModel

Result = Literal["pass", "fail", "na"]
ITEM_ID = r"^[a-z][a-z0-9_]{0,39}$"


class ChecklistItemOut(BaseModel):
    id: str
    position: int
    label_id: str
    label_en: str
    active: bool = Field(description="false: retired — no longer checked, still named in the reviews that used it")
    version: int
    updated_at: datetime


class ChecklistItemIn(StrictModel):
    """A new item, checked from now on. Its id is for ever: reviews refer to it."""

    id: str = Field(pattern=ITEM_ID, description="a short code: lowercase letters, digits, _")
    label_id: str = Field(min_length=1, max_length=200, pattern=r"\S")
    label_en: str = Field(min_length=1, max_length=200, pattern=r"\S")
    position: int | None = Field(default=None, ge=0, le=1000)


class ChecklistItemUpdate(StrictModel):
    """Rename, move, retire (`active: false`) or bring back an item. `version` is the one you saw."""

    version: Version
    label_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    label_en: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    position: int | None = Field(default=None, ge=0, le=1000)
    active: bool | None = None


class ReviewIn(StrictModel):
    """A review of one call. Without `version`: the call's first review (409 if someone reviewed it
    meanwhile). With it: an edit of the review at that version (409 `stale_version` if it moved on)."""

    version: Version | None = None
    results: dict[Annotated[str, Field(max_length=40)], Result] = Field(
        max_length=100, description="a result for each active checklist item: pass, fail or na (not applicable)")
    comment: str = Field(default="", max_length=4000, description="phone numbers in it are masked when stored")


class ItemResultOut(BaseModel):
    item_id: str
    label: str = Field(description="the item's words in the reader's language")
    active: bool
    result: Result


class ReviewOut(BaseModel):
    id: int
    call_id: int
    operator_id: int | None
    operator_name: str
    results: list[ItemResultOut]
    score: float | None = Field(description="items passed / (passed + failed), percent; null when every item is "
                                "not applicable")
    comment: str
    sampled_for: list[str]
    reviewed_by: int | None
    reviewer_name: str
    reviewed_at: datetime
    updated_by: int | None
    updated_at: datetime
    version: int
    call_offered_at: datetime
    call_outcome: str | None
    incident_number: str | None


class QueueEntryOut(BaseModel):
    call_id: int
    offered_at: datetime
    answered_at: datetime | None
    answer_s: float | None
    outcome: str | None
    operator_id: int | None
    operator_name: str
    incident_number: str | None
    reasons: list[str] = Field(description="why the call is in the sample: prank, ghost, long_answer, random")
