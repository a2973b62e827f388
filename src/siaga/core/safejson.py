"""JSON both databases store alike. PostgreSQL's json type refuses the NaN and Infinity tokens Python writes
for non-finite floats, a lone surrogate's escape, and NUL in text; SQLite stores them all. So a value that
reaches a JSON column, the ledger or the audit text goes through `dumps`: non-finite floats become the
marker strings "NaN", "Infinity", "-Infinity" (the value is kept, flagged as text), and NUL or a lone
surrogate in a string (or a key) becomes U+FFFD. Ordinary values take the fast path unchanged."""

from __future__ import annotations

import json
import math
from typing import Any

REPLACEMENT = "\ufffd"
MAX_DEPTH = 100  # deeper than this is no location detail: the rest is kept as one marker


def nonfinite_marker(value: float) -> str:
    """The text a non-finite float is kept as: the token JavaScript and Python's json write for it."""
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def safe_text(text: str) -> str:
    """`text` without NUL and lone surrogates (each becomes U+FFFD): storable as text on both databases."""
    if text.isascii():
        return text.replace("\x00", REPLACEMENT) if "\x00" in text else text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(REPLACEMENT if "\ud800" <= c <= "\udfff" else c for c in text)
    return text.replace("\x00", REPLACEMENT)


def safe_json(value: Any, *, depth: int = 0) -> Any:
    """A copy of a JSON-like value that both databases store alike (see the module's docstring). Tuples
    become lists, keys become text; values of other types are returned as they are."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else nonfinite_marker(value)
    if isinstance(value, dict | list | tuple) and depth >= MAX_DEPTH:
        return f"(nested deeper than {MAX_DEPTH} levels)"
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_json(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_json(v, depth=depth + 1) for v in value]
    return value


def _suspect(text: str, ensure_ascii: bool) -> bool:
    # json escapes NUL always; a surrogate is escaped with ensure_ascii (a valid pair too, when the input held
    # one un-joined: the slow path then decides), else written raw, and only a lone one cannot be encoded.
    if "\\u0000" in text:
        return True
    if ensure_ascii:
        return "\\ud" in text
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps for what a database stores: the same text when the value is ordinary, else the text of
    safe_json(value). Keyword arguments as json.dumps's, but for allow_nan."""
    kwargs["allow_nan"] = False
    try:
        text = json.dumps(value, **kwargs)
    except ValueError:  # a non-finite float (or a circular value: raised again below)
        return json.dumps(safe_json(value), **kwargs)
    if _suspect(text, kwargs.get("ensure_ascii", True)):
        return json.dumps(safe_json(value), **kwargs)
    return text
