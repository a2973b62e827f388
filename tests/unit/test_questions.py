"""Guided questions: the shipped file covers every category, and answers suggest a priority that only
ever goes up (1 = life threat)."""

from __future__ import annotations

import csv

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siaga.data.load import BENGKALIS
from siaga.domains.incidents.questions import read_question_file
from siaga.domains.incidents.schemas import Question
from siaga.domains.incidents.service import distance_m, suggest_priority

TRAPPED = Question(id="t.trapped", kind="yesno", text_id="Ada korban terjebak?", text_en="Anyone trapped?",
                   raises_priority_to=1)
BREATHING = Question(id="t.breathing", kind="yesno", text_id="Bernapas normal?", text_en="Breathing normally?",
                     raises_priority_to=1, raises_on="no")
WIRES = Question(id="t.wires", kind="yesno", text_id="Kabel putus?", text_en="Lines down?", raises_priority_to=2)
DEPTH = Question(id="t.depth", kind="choice", text_id="Kedalaman air?", text_en="Water depth?", options=[
    {"value": "lutut", "text_id": "Selutut", "text_en": "Knee"},
    {"value": "dada", "text_id": "Sedada", "text_en": "Chest", "raises_priority_to": 1}])
NOTE = Question(id="t.note", kind="text", text_id="Keterangan", text_en="Details")
QUESTIONS = {q.id: q for q in (TRAPPED, BREATHING, WIRES, DEPTH, NOTE)}


@pytest.mark.parametrize("default, answers, expected", [
    (3, {}, 3),
    (3, {"t.trapped": True}, 1),
    (3, {"t.trapped": False}, 3),
    (3, {"t.trapped": None}, 3),                  # not known: no change
    (3, {"t.breathing": False}, 1),               # raises on "no"
    (3, {"t.breathing": True}, 3),
    (4, {"t.wires": True}, 2),
    (4, {"t.wires": True, "t.trapped": True}, 1),  # the most urgent answer wins
    (1, {"t.wires": True}, 1),                    # never lowered
    (3, {"t.depth": "dada"}, 1),
    (3, {"t.depth": "lutut"}, 3),
    (3, {"t.note": "dua orang di atap"}, 3),
    (3, {"t.unknown": True}, 3),
])
def test_suggest_priority(default, answers, expected):
    assert suggest_priority(default, answers, QUESTIONS) == expected


@given(st.integers(1, 4), st.dictionaries(st.sampled_from(sorted(QUESTIONS)),
                                          st.one_of(st.none(), st.booleans(), st.sampled_from(["lutut", "dada"]))))
def test_answers_only_ever_raise_the_priority(default, answers):
    assert 1 <= suggest_priority(default, answers, QUESTIONS) <= default


def shipped_questions() -> dict[str, Question]:
    parsed = read_question_file(BENGKALIS / "questions.json")
    return {q.id: q for qs in parsed.categories.values() for q in qs}


def test_the_shipped_questions_raise_the_priority_of_a_life_threat():
    assert suggest_priority(4, {"lainnya.nyawa_terancam": True}, shipped_questions()) == 1
    assert suggest_priority(2, {"medis.sadar": False}, shipped_questions()) == 1


def shipped_categories() -> list[dict[str, str]]:
    with (BENGKALIS / "categories.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_top_level_category_has_three_to_six_questions_in_both_languages():
    top_level = {row["code"] for row in shipped_categories() if not row["parent_code"]}
    questions = read_question_file(BENGKALIS / "questions.json").categories
    assert set(questions) == top_level
    for code, qs in questions.items():
        assert 3 <= len(qs) <= 6, code
        for q in qs:
            assert q.text_id.strip() and q.text_en.strip() and q.text_id != q.text_en, q.id
            assert all(o.text_id.strip() and o.text_en.strip() for o in q.options), q.id


def test_a_choice_without_options_is_refused():
    with pytest.raises(ValueError, match="two or more options"):
        Question(id="x", kind="choice", text_id="a", text_en="b", options=[])


def test_distance_is_great_circle_metres():
    assert distance_m(1.0, 102.0, 1.0, 102.0) == 0
    assert distance_m(0, 0, 1, 0) == pytest.approx(111_195, abs=1)
    # Bengkalis town to Duri, about 105 km apart
    assert 100_000 < distance_m(1.4664, 102.1055, 1.2617, 101.2053) < 110_000
