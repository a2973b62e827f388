"""Caller numbers: every way an Indonesian number is written comes to one key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siaga.domains.calls.numbers import msisdn_variants, normalise_msisdn, tidy_typed_number, typed_number_problem

# What follows the trunk 0 of an Indonesian number: mobile (8…) or area code and subscriber, 8–12 digits.
subscriber = st.from_regex(r"[2-9][0-9]{7,11}", fullmatch=True)


@given(subscriber)
def test_the_three_indonesian_forms_agree(rest):
    national, plain, e164 = "0" + rest, "62" + rest, "+62" + rest
    assert normalise_msisdn(national) == normalise_msisdn(plain) == normalise_msisdn(e164) == e164
    assert normalise_msisdn("0062" + rest) == e164


@given(st.text(max_size=40))
def test_normalising_is_idempotent(raw):
    once = normalise_msisdn(raw)
    assert normalise_msisdn(once) == once


@given(st.one_of(st.text(max_size=40), st.from_regex(r"(\+|00|0|62)?[0-9]{1,14}", fullmatch=True)))
def test_every_variant_of_a_number_normalises_back_to_it(raw):
    normalised = normalise_msisdn(raw)
    assert all(normalise_msisdn(v) == normalised for v in msisdn_variants(normalised))
    assert (normalised in msisdn_variants(normalised)) is bool(normalised)


@pytest.mark.parametrize("raw, expected", [
    ("0812-3456-7890", "+6281234567890"),
    (" +62 812 3456 7890 ", "+6281234567890"),
    ("+62 0812 3456 7890", "+6281234567890"),  # the trunk 0 written after the country code
    ("tel:+6281234567890", "+6281234567890"),
    ("sip:081234567890@ims.telkomsel.co.id;user=phone", "+6281234567890"),
    ("(0766) 21234", "+6276621234"),            # a Bengkalis landline
    ("+6591234567", "+6591234567"),             # a Singapore mobile stays itself
    ("112", "112"),
    ("", ""), ("anonymous", ""), ("Unknown", ""), ("withheld", ""), ("abc", ""), ("+", ""),
])
def test_examples(raw, expected):
    assert normalise_msisdn(raw) == expected


def test_variants_cover_the_forms_a_network_or_an_operator_stores():
    assert set(msisdn_variants("+6281234567890")) == {"+6281234567890", "6281234567890", "006281234567890",
                                                      "081234567890"}
    assert set(msisdn_variants("+6591234567")) == {"+6591234567", "006591234567"}
    assert msisdn_variants("112") == ["112"]
    assert msisdn_variants("") == []


def test_a_typed_number_loses_its_spaces_and_dashes_but_keeps_its_form():
    assert tidy_typed_number(" 0812-3456 7890 ") == "081234567890"
    assert tidy_typed_number("+62 (812) 3456.7890") == "+6281234567890"


# --- a number typed by hand ------------------------------------------------------------------------------

@given(subscriber, st.sampled_from(["0", "62", "+62", "+62 0"]), st.sampled_from(["", " ", "-", "."]))
def test_an_indonesian_number_is_accepted_however_it_is_written(rest, prefix, sep):
    typed = prefix + sep.join(rest[i:i + 4] for i in range(0, len(rest), 4))
    tidy = tidy_typed_number(typed)
    assert typed_number_problem(tidy) is None
    assert normalise_msisdn(tidy) == "+62" + rest  # and it is the caller's one key


@given(st.text(max_size=60))
def test_what_is_accepted_is_a_number(raw):
    tidy = tidy_typed_number(raw)
    if typed_number_problem(tidy) is None and tidy:
        assert normalise_msisdn(tidy) != ""  # never a word, never a withheld marker
        assert tidy.lstrip("+").isdigit()


@pytest.mark.parametrize("typed", ["112", "110", "14045", "21234", "0766 21234", "+44 20 7946 0958",
                                   "+65 9123 4567", "0812-3456-7890", "(0766) 212345", ""])
def test_short_local_and_foreign_numbers_are_accepted(typed):
    assert typed_number_problem(tidy_typed_number(typed)) is None


@pytest.mark.parametrize("typed", ["abc", "0" * 40, "000000000", "0812", "12", "+0123456789", "08123456789012345",
                                   "081234567890x", "+62", "1" * 9, "tel:112"])
def test_what_is_not_a_number_is_refused_with_the_forms_to_use(typed):
    why = typed_number_problem(tidy_typed_number(typed))
    assert why is not None and "0812 3456 7890" in why
