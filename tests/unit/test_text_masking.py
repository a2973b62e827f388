"""mask_numbers_in_text: a phone number typed into a description or a note reaches a reader without
`numbers.reveal` masked as the structured number is ('****890'), in every form Indonesians type one; the
ordinary numbers of an emergency's words (people, house numbers, times, dates, plates) stay as typed."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.domains.calls.privacy import mask_number, mask_numbers_in_text

SEPARATORS = st.sampled_from(["", " ", "-", "."])
WORDS = st.lists(st.sampled_from(["ada", "korban", "di", "hubungi", "nomor", "telp", "Pak", "Budi", "WA",
                                  "rumah", "kebakaran", ":", ",", "(", ")", "/", "—"]), max_size=4).map(" ".join)


def _split(digits: str, cuts: list[int], seps: list[str]) -> str:
    """The digits with a separator at some cut points, as a person types groups (of three digits or more:
    '0812 3456 78 90' is not how a number is written, and '0812 3456 7890 3 orang' counts people)."""
    out, last = [], 0
    for cut, sep in sorted(zip(cuts, seps, strict=False)):
        if cut - last >= 3 and len(digits) - cut >= 3:
            out.append(digits[last:cut] + sep)
            last = cut
    out.append(digits[last:])
    return "".join(out)


@st.composite
def mobile(draw: st.DrawFn) -> tuple[str, str]:
    """(as typed, its digits): 08…, 628…, +62 8…, 8… with 9 to 11 digits after the 8."""
    rest = "8" + draw(st.text("0123456789", min_size=8, max_size=11))
    prefix = draw(st.sampled_from(["0", "62", "+62", "+62 ", ""]))
    cuts = draw(st.lists(st.integers(3, len(rest) - 3), max_size=3))
    seps = draw(st.lists(SEPARATORS, min_size=len(cuts), max_size=len(cuts)))
    typed = prefix + _split(rest, cuts, seps)
    return typed, re.sub(r"\D", "", typed)


@st.composite
def landline(draw: st.DrawFn) -> tuple[str, str]:
    """(0766) 21234, 0761-21234, 021 5555 1234: an area code, then the subscriber's digits."""
    area = "0" + draw(st.sampled_from(["21", "22", "31", "61", "761", "766", "778", "511"]))
    subscriber = draw(st.text("0123456789", min_size=10 - len(area), max_size=8))
    shape = draw(st.sampled_from(["({a}) {s}", "({a}){s}", "{a}-{s}", "{a} {s}", "{a}.{s}", "{a}{s}"]))
    cuts = draw(st.lists(st.integers(2, max(2, len(subscriber) - 2)), max_size=1))
    typed = shape.format(a=area, s=_split(subscriber, cuts, [draw(SEPARATORS) for _ in cuts]))
    return typed, re.sub(r"\D", "", typed)


@settings(max_examples=150, deadline=None)
@given(number=st.one_of(mobile(), landline()), before=WORDS, after=WORDS)
def test_a_phone_number_in_free_text_never_leaks_a_digit_run(number, before, after):
    typed, digits = number
    masked = mask_numbers_in_text(f"{before} {typed} {after}")
    assert mask_number(digits) in masked
    # The words around hold no digit: whatever digits remain are the three the mask keeps.
    assert [run for run in re.findall(r"\d+", masked) if len(run) > 3] == []
    assert digits[:-3] not in re.sub(r"\D", "", masked)


@settings(max_examples=100, deadline=None)
@given(first=mobile(), second=st.one_of(mobile(), landline()))
def test_two_numbers_in_one_note_are_both_masked(first, second):
    masked = mask_numbers_in_text(f"pelapor {first[0]}, keluarga {second[0]}")
    assert [run for run in re.findall(r"\d+", masked) if len(run) > 3] == []


ORDINARY = [
    "3 orang terjebak di lantai 2",
    "Jl. Sudirman 12, RT 03 RW 05",
    "pukul 14:30 WIB, 27/11/2026",
    "tanggal 05-12-2026 14.30",
    "2026-12-05",
    "BM 1234 AB menabrak BM 8812 XY",
    "luas 1500 m2, Rp 1.500.000",
    "km 12,5 arah Duri",
    "unit 112 menuju lokasi",
]


def test_ordinary_numbers_stay_as_typed():
    for text in ORDINARY:
        assert mask_numbers_in_text(text) == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=80))
def test_text_without_a_phone_number_keeps_its_words(text):
    """Whatever it changes is a digit run: every character that is no digit or separator stays."""
    masked = mask_numbers_in_text(text)
    keep = re.sub(r"[\d\s().+\-]", "", text)
    assert keep == re.sub(r"[\d\s().+\-*]", "", masked) or "*" in text


def test_the_forms_a_caller_gives_a_number():
    assert mask_numbers_in_text("hubungi 0812-3456-7890 (Budi)") == "hubungi ****890 (Budi)"
    assert mask_numbers_in_text("kantor (0766) 21234") == "kantor ****234"
    assert mask_numbers_in_text("+62 812 3456 7890 atau 0761.21234") == "****890 atau ****234"
    assert mask_numbers_in_text("wa 6281234567890.") == "wa ****890."
    assert mask_numbers_in_text("0812 3456 7890 3 orang") == "****890 3 orang"
    assert mask_numbers_in_text("") == "" and mask_numbers_in_text("tanpa angka") == "tanpa angka"
