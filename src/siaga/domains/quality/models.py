"""The quality-review checklist (data, edited by admins) and one review per call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, Json, UTCDateTime

RESULTS = ("pass", "fail", "na")


class QaChecklistItem(Base):
    """One thing a reviewer checks on a call. Its id never changes (reviews refer to it); an item is
    retired (`active` false), never deleted, so old reviews keep naming it in words."""

    __tablename__ = "qa_checklist_item"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label_id: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class QaReview(Base):
    """A supervisor's review of one call: a result per checklist item, the score they make, a comment."""

    __tablename__ = "qa_review"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), unique=True)
    # The call-taker who answered the call: whose feedback it is.
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    results: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # {item id: pass | fail | na}
    score: Mapped[float | None] = mapped_column(Float)  # passed / (passed + failed), percent
    comment: Mapped[str] = mapped_column(Text, default="")  # phone numbers masked when written
    # Why the call was in the review sample when it was reviewed ([] when chosen by hand).
    sampled_for: Mapped[list[str]] = mapped_column(Json, default=list)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
