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
