"""The numbers a line may dial for an agency: the digits of the number as an admin typed it, and nothing
that is not a plain ASCII digit (the key goes into the edge's table and a Kamailio request URI)."""

from __future__ import annotations

import pytest

from siaga.domains.telephony.agency_calls import dial_key


@pytest.mark.parametrize(("typed", "dialled"), [
    ("(0766) 21-113", "076621113"),
    ("113", "113"),
    ("+62 766 21113", "6276621113"),
    ("0766.21113 ext", "076621113"),
    ("", ""),
    ("1", ""),  # one digit is no number
    ("0" * 21, ""),  # nor are 21
    ("٠٧٦٦٢١١١٣", ""),  # Arabic-Indic digits are digits to Python, not to a phone
    ('113"; sht_reset("ext")', "113"),
])
def test_an_agencys_number_is_dialled_as_its_ascii_digits(typed: str, dialled: str) -> None:
    assert dial_key(typed) == dialled
