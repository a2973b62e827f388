"""core.safejson: what a database stores is the same text for ordinary values, and storable on PostgreSQL
for the rest (NaN/Infinity as marker text, NUL and lone surrogates as U+FFFD)."""

from __future__ import annotations

import json

from siaga.core.safejson import dumps, safe_json


def test_ordinary_values_are_written_exactly_as_json_dumps_writes_them():
    value = {"a": [1, 2.5, None, True], "é": "😀", "big": 10**40}
    assert dumps(value) == json.dumps(value)
    assert dumps(value, ensure_ascii=False, sort_keys=True) == json.dumps(value, ensure_ascii=False, sort_keys=True)


def test_non_finite_numbers_nul_and_lone_surrogates_become_storable_text():
    value = {"n": float("nan"), "i": [float("inf"), float("-inf")], "z": "a\x00b", "s\ud800": "\udfffx"}
    expected = {"n": "NaN", "i": ["Infinity", "-Infinity"], "z": "a\ufffdb", "s\ufffd": "\ufffdx"}
    assert safe_json(value) == expected
    for ensure_ascii in (True, False):
        text = dumps(value, ensure_ascii=ensure_ascii)
        assert json.loads(text) == expected
        text.encode("utf-8")  # no lone surrogate left
