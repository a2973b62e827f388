"""Guided questions per top-level category, read once from data/<region>/questions.json. The file is
data the centre edits (a reload of the app picks it up); its shape is checked when it is read."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from siaga.data.load import BENGKALIS
from siaga.domains.incidents.schemas import Question


class QuestionSet(BaseModel):
    model_config = ConfigDict(extra="ignore")

    categories: dict[str, list[Question]]

    @model_validator(mode="after")
    def _unique_ids(self) -> QuestionSet:
        ids = [q.id for qs in self.categories.values() for q in qs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"question ids used twice: {', '.join(duplicates)}")
        return self


@lru_cache(maxsize=4)
def load_questions(folder: Path = BENGKALIS) -> QuestionSet:
    with (folder / "questions.json").open(encoding="utf-8") as f:
        return QuestionSet.model_validate(json.load(f))


def questions_for(category_code: str, folder: Path = BENGKALIS) -> list[Question]:
    """The questions of a top-level category; [] for a category the file does not know (yet)."""
    return list(load_questions(folder).categories.get(category_code, []))
