"""Caller numbers as one key: +62812…, 62812…, 0062812… and 0812… are the same Indonesian number.
Pure functions; the caller history matches a number by every form it may have been stored in."""

from __future__ import annotations

import re

# What networks and PBXs put in the From header when the caller hides or lacks a number.
WITHHELD = frozenset({"", "anonymous", "unknown", "private", "restricted", "withheld", "unavailable"})
_SEPARATORS = re.compile(r"[\s\-./()]")
_DIGITS = re.compile(r"[0-9]+")
INDONESIA = "62"


def normalise_msisdn(raw: str) -> str:
    """The number in E.164 form ('+62812…') when it is Indonesian or international; short codes and
    local numbers as their digits; '' for a withheld number or anything that is not a number.
    Idempotent: normalise_msisdn(normalise_msisdn(x)) == normalise_msisdn(x)."""
    s = raw.strip().lower()
    for scheme in ("tel:", "sips:", "sip:"):
        if s.startswith(scheme):
            s = s[len(scheme):]
    s = _SEPARATORS.sub("", s.split("@", 1)[0].split(";", 1)[0])
    if s in WITHHELD:
        return ""
    international = False
    if s.startswith("+"):
        international, s = True, s[1:]
    elif s.startswith("00"):
        international, s = True, s[2:]
    if not _DIGITS.fullmatch(s):
        return ""
    if international:
        if s.startswith("0"):  # no country code starts with 0
            return ""
        if s.startswith(INDONESIA):  # '+62 0812…' is a common slip: the trunk 0 does not belong there
            s = INDONESIA + s[len(INDONESIA):].lstrip("0")
        return "+" + s
    # The shortest full national number is 0 + 8 digits (e.g. 0766 21234); shorter ones are local or short.
    if s.startswith("0") and len(s) >= 9:
        return "+" + INDONESIA + s[1:]
    if s.startswith(INDONESIA) and len(s) >= 10:
        return "+" + INDONESIA + s[len(INDONESIA):].lstrip("0")
    return s


def msisdn_variants(normalised: str) -> list[str]:
    """Every raw form a normalised number is commonly stored in, for an indexed `IN (...)` lookup."""
    if not normalised:
        return []
    if not normalised.startswith("+"):
        return [normalised]
    digits = normalised[1:]
    forms = [normalised, digits, "00" + digits]
    if digits.startswith(INDONESIA):
        forms.append("0" + digits[len(INDONESIA):])
    # Only forms that mean this number: '6591234567' without its '+' is not Singapore's any more.
    return [f for f in forms if normalise_msisdn(f) == normalised]


def tidy_typed_number(raw: str) -> str:
    """A number typed by hand, without the spaces and dashes people write it with ('0812-3456 789')."""
    return _SEPARATORS.sub("", raw.strip())


# What a person can type for a caller's number (after tidy_typed_number): an Indonesian national number
# (0 + an area code or mobile prefix, which never starts with 0: 9 to 13 digits), the same with 62 or +62
# (and the common slip +62 0812…, which normalise_msisdn mends),
# another country's number in international form (+ and 8 to 15 digits, E.164), or a short or local number
# (112, 110, 14045, a local 21234: 3 to 8 digits, not starting with 0). Nothing else is a number.
_TYPED_FORMS = re.compile(r"0[1-9][0-9]{7,11}|\+?620?[1-9][0-9]{7,11}|\+(?!62)[1-9][0-9]{7,14}|[1-9][0-9]{2,7}")


def typed_number_problem(tidy: str) -> str | None:
    """Why a hand-typed number (already tidied) cannot be a caller's number, or None. An empty number is
    allowed: the caller's number may be withheld or unknown."""
    if not tidy or _TYPED_FORMS.fullmatch(tidy):
        return None
    return ("not a telephone number: write it as 0812 3456 7890, +62 812 3456 7890, an international "
            "+<country><number>, or a short number such as 112")
