"""Every word Siaga shows, from one gettext catalogue: Bahasa Indonesia first (the source language), English
second. The sources are `core/locale/<lang>/LC_MESSAGES/siaga.po`; each message is known by its key (the
msgctxt: `login`, `problem.stale_version`, `timeline.escalated_supervisor`), its msgid is the Indonesian
text, its msgstr the text in that language. The compiled `siaga.mo` files are committed beside them
(`tools/i18n.py compile`; a test proves they match the .po), so a fresh clone and an installed wheel always
have the catalogue, and reading it needs nothing but this module.

Keys without a dot are the consoles' words (templates get them as `w`, the browser as JSON); dotted keys are
namespaces read by the server: `problem.*` (problem+json titles), `status.<group>.*`, `timeline.*` (what
records store as a code and parameters and the reader's language renders), `evidence.*`, and so on.

A record stores a message as `{"code": key, "params": {...}}` (`message()`), never prose: `render()` turns it
into the reader's language. A parameter may itself be a message (`{"$msg": key, ...}`) — a step word, a status
— rendered in the same language; any other value is shown as given (a callsign, a name, an operator's note)."""

from __future__ import annotations

import logging
import string
import struct
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from siaga.core.clock import SiteZone

LANGUAGES = ("id", "en")
SOURCE_LANGUAGE = "id"
DOMAIN = "siaga"
LOCALE_DIR = Path(__file__).parent / "locale"
MESSAGE_REF = "$msg"  # a parameter that is itself a message: {"$msg": key, **its params}

log = logging.getLogger("siaga.i18n")


def mo_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def read_mo(data: bytes) -> dict[str, str]:
    """A compiled gettext catalogue as {key (msgctxt): text}. Messages without a context (the header) are
    left out. GNU .mo: magic, revision, count, offsets of the original and translated string tables."""
    if len(data) < 20:
        raise ValueError("not a gettext .mo file: too short")
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">" if magic == 0xDE120495 else None
    if order is None:
        raise ValueError("not a gettext .mo file: bad magic number")
    _revision, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    out: dict[str, str] = {}
    for n in range(count):
        o_len, o_off = struct.unpack(order + "2I", data[originals + 8 * n:originals + 8 * n + 8])
        t_len, t_off = struct.unpack(order + "2I", data[translations + 8 * n:translations + 8 * n + 8])
        original = data[o_off:o_off + o_len].decode("utf-8")
        if "\x04" not in original:
            continue
        key = original.split("\x04", 1)[0]
        out[key] = data[t_off:t_off + t_len].decode("utf-8").split("\x00", 1)[0]  # a plural keeps its first form
    return out


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """Every message in one language ('id' for anything that is not a supported language)."""
    lang = lang if lang in LANGUAGES else SOURCE_LANGUAGE
    return MappingProxyType(read_mo(mo_path(lang).read_bytes()))


def has(key: str, lang: str = SOURCE_LANGUAGE) -> bool:
    return key in catalogue(lang)


class _Params(dict[str, Any]):
    """Fills the placeholders it has; leaves the others as they were ({n} for the browser to fill)."""

    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


_FORMATTER = string.Formatter()


def fill(text: str, params: Mapping[str, Any]) -> str:
    if not params or "{" not in text:
        return text
    try:
        return _FORMATTER.vformat(text, (), _Params(params))
    except (ValueError, IndexError, KeyError, AttributeError):  # a malformed text must never hide a message
        log.warning("message text could not be filled: %r", text)
        return text


def t(key: str, lang: str = SOURCE_LANGUAGE, **params: Any) -> str:
    """One message in `lang` (falling back to Indonesian, then to the key itself), its {placeholders} filled;
    a parameter that is a message reference is rendered in the same language."""
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(SOURCE_LANGUAGE).get(key)
        if text is None:
            log.warning("no message %r in the catalogue", key)
            return key
    return fill(text, {k: _param(v, lang) for k, v in params.items()})


def _param(value: Any, lang: str) -> Any:
    """A stored parameter in the reader's language: {"$msg": key, ...} a message; {"$text": {"id": …, "en": …}}
    words stored in both languages (a guided question as it was asked); {"$decimal": x, "digits": n} a number
    written the reader's way (12,4 / 12.4); {"$join": sep, "items": [...]} and a plain list (", ") the items
    rendered one by one. Anything else is shown as given."""
    if isinstance(value, Mapping):
        if MESSAGE_REF in value:
            inner = {k: v for k, v in value.items() if k != MESSAGE_REF}
            return t(str(value[MESSAGE_REF]), lang, **inner)
        if "$text" in value and isinstance(value["$text"], Mapping):
            texts = value["$text"]
            return str(texts.get(lang) or texts.get(SOURCE_LANGUAGE) or next(iter(texts.values()), ""))
        if "$decimal" in value:
            shown = f"{float(value['$decimal']):.{int(value.get('digits', 1))}f}"
            return shown.replace(".", ",") if lang == "id" else shown
        if "$join" in value:
            return str(value["$join"]).join(str(_param(v, lang)) for v in value.get("items", []))
    if isinstance(value, list):
        return ", ".join(str(_param(v, lang)) for v in value)
    return value


def ref(key: str, **params: Any) -> dict[str, Any]:
    """A parameter that is itself a message, rendered in the reader's language: ref('deadline_step.units')."""
    return {MESSAGE_REF: key, **params}


def both(id_text: str, en_text: str) -> dict[str, Any]:
    """A parameter stored in both languages (data that has its own translation, e.g. a guided question)."""
    return {"$text": {"id": id_text, "en": en_text}}


def decimal(x: float, digits: int = 1) -> dict[str, Any]:
    return {"$decimal": x, "digits": digits}


def joined(separator: str, items: list[Any]) -> dict[str, Any]:
    return {"$join": separator, "items": items}


def message(key: str, **params: Any) -> dict[str, Any]:
    """What a record stores instead of prose: the message's key and its parameters (JSON)."""
    if not has(key):
        raise KeyError(f"no message {key!r} in the catalogue (core/locale/id/LC_MESSAGES/siaga.po)")
    return {"code": key, "params": params}


def render(code: str | None, params: Mapping[str, Any] | None, lang: str, note: str = "") -> str:
    """A stored message in the reader's language, followed by the words a person typed with it ("… — note").
    A record written before codes (no code) is its typed text alone, shown as it was."""
    if not code:
        return note
    text = t(code, lang, **dict(params or {}))
    return f"{text} — {note}" if note else text


def negotiate(accept_language: str | None, preferred: str | None = None, default: str = SOURCE_LANGUAGE) -> str:
    """The user's own preference wins, then the browser's Accept-Language, then Indonesian."""
    if preferred in LANGUAGES:
        return preferred  # type: ignore[return-value]
    if accept_language:
        for part in accept_language.split(","):
            code = part.split(";")[0].strip().lower()[:2]
            if code in LANGUAGES:
                return code
    return default


def problem_title(code: str, lang: str, **params: Any) -> str:
    """The title of a problem+json error; an error code with no message of its own reads as its code."""
    key = f"problem.{code}"
    return t(key, lang, **params) if has(key) else code


@cache
def _page_words(lang: str) -> dict[str, str]:
    return {k: v for k, v in catalogue(lang).items() if "." not in k}


def words(lang: str, zone: SiteZone | None = None, site: str = "") -> dict[str, str]:
    """The consoles' words (the keys without a namespace) in one language, naming the site's zone where a word
    speaks of local time ({tz}: "WITA", {tz_long}: "WITA (UTC+08:00)") and the regency served ({site}:
    "Kabupaten Paser"). Replaced, not str.format: other words keep their {n} for the browser."""
    out = {}
    for key, text in _page_words(lang).items():
        if zone is not None:
            text = text.replace("{tz}", zone.label).replace("{tz_long}", zone.long_label)
        out[key] = text.replace("{site}", site).strip()
    return out


def namespace(prefix: str, lang: str) -> dict[str, str]:
    """The messages under one namespace, without the prefix: namespace('evidence.measure_kind', 'en')."""
    start = prefix + "."
    return {k[len(start):]: v for k, v in catalogue(lang).items() if k.startswith(start)}


def status_words(lang: str, order: Mapping[str, Sequence[str]] | None = None) -> dict[str, dict[str, str]]:
    """{group: {value: word}} for statuses, outcomes and unit types (`status.<group>.<value>`). A compiled
    catalogue has no order of its own: a group named in `order` lists its values in that order (the domain's),
    the others by value."""
    out: dict[str, dict[str, str]] = {}
    for key, text in sorted(namespace("status", lang).items()):
        group, _, value = key.partition(".")
        out.setdefault(group, {})[value] = text
    for group, values in (order or {}).items():
        table = out.get(group, {})
        out[group] = {**{v: table[v] for v in values if v in table}, **table}
    return out
