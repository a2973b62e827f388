"""The message catalogue's workshop (needs Babel, installed by `make install`).

    .venv/bin/python tools/i18n.py check     # what is wrong with the catalogue (exit 1 if anything)
    .venv/bin/python tools/i18n.py sync      # after editing id.po: carry the keys into en.po (new or changed
                                             # Indonesian marked fuzzy until the English is written)
    .venv/bin/python tools/i18n.py compile   # .po -> .mo (commit both; a test checks they match)

Indonesian is the source language: `src/siaga/core/locale/id/LC_MESSAGES/siaga.po` holds every message, its
key as msgctxt and its Indonesian text as msgid (and msgstr, the same). `en/…/siaga.po` has the same keys and
msgids, with the English as msgstr. To add a word: add it to id.po, run `sync`, write the English in en.po
(remove the `fuzzy` flag), run `compile`."""

from __future__ import annotations

import io
import string
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "siaga" / "core" / "locale"
LANGUAGES = ("id", "en")
SOURCE = "id"


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "siaga.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def load(lang: str) -> Catalog:
    with open(po_path(lang), "rb") as f:
        return read_po(f, locale=lang, domain="siaga")


def entries(catalog: Catalog) -> dict[str, tuple[str, str, bool]]:
    """{key: (msgid, msgstr, fuzzy)} for every message with a key (the header has none)."""
    out = {}
    for m in catalog:
        if m.id and m.context:
            out[m.context] = (str(m.id), str(m.string or ""), m.fuzzy)
    return out


def placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        return {f"<malformed: {exc}>"}


def compiled(lang: str) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, load(lang), use_fuzzy=False)
    return buf.getvalue()


def problems() -> list[str]:
    """Everything that would leave a reader with a missing or wrong word."""
    out = []
    source = entries(load(SOURCE))
    for key, (msgid, msgstr, _) in source.items():
        if msgstr != msgid:
            out.append(f"id.po {key}: msgstr must equal msgid (Indonesian is the source language)")
        if not msgid.strip():
            out.append(f"id.po {key}: empty text")
    for lang in LANGUAGES:
        if lang == SOURCE:
            continue
        target = entries(load(lang))
        for key in source.keys() - target.keys():
            out.append(f"{lang}.po: no {key!r} (run tools/i18n.py sync, then translate it)")
        for key in target.keys() - source.keys():
            out.append(f"{lang}.po: {key!r} is not in id.po (run tools/i18n.py sync)")
        for key in source.keys() & target.keys():
            msgid, msgstr, fuzzy = target[key]
            if msgid != source[key][0]:
                out.append(f"{lang}.po {key}: translated from older Indonesian words (run tools/i18n.py sync)")
            elif fuzzy or not msgstr.strip():
                out.append(f"{lang}.po {key}: not translated yet (empty or fuzzy)")
            elif placeholders(msgstr) != placeholders(msgid):
                out.append(f"{lang}.po {key}: placeholders {sorted(placeholders(msgstr))} differ from the "
                           f"Indonesian {sorted(placeholders(msgid))}")
    for lang in LANGUAGES:
        if not mo_path(lang).exists() or mo_path(lang).read_bytes() != compiled(lang):
            out.append(f"{lang}: siaga.mo is not compiled from siaga.po (run tools/i18n.py compile)")
    return out


def save(catalog: Catalog, lang: str) -> None:
    with open(po_path(lang), "wb") as f:
        write_po(f, catalog, width=120, sort_output=False, ignore_obsolete=True, include_previous=False)


def sync() -> None:
    source = load(SOURCE)
    for m in source:
        if m.id and m.context and m.string != m.id:
            m.string = m.id if not m.string or m.string == m.id else m.string
    save(source, SOURCE)
    src = entries(source)
    for lang in LANGUAGES:
        if lang == SOURCE:
            continue
        old = load(lang)
        have = entries(old)
        new = Catalog(locale=lang, domain="siaga", project=old.project, version=old.version,
                      copyright_holder=old.copyright_holder, msgid_bugs_address=old.msgid_bugs_address,
                      creation_date=old.creation_date, revision_date=old.revision_date,
                      last_translator=old.last_translator, language_team=old.language_team, fuzzy=False)
        for key, (msgid, _, _) in src.items():
            before = have.get(key)
            if before is None:
                new.add(msgid, "", context=key, flags=("fuzzy",))
            elif before[0] != msgid:
                new.add(msgid, before[1], context=key, flags=("fuzzy",))
            else:
                new.add(msgid, before[1], context=key, flags=("fuzzy",) if before[2] else ())
        save(new, lang)


def compile_all() -> None:
    for lang in LANGUAGES:
        mo_path(lang).write_bytes(compiled(lang))


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "sync":
        sync()
    elif command == "compile":
        compile_all()
    elif command != "check":
        print(__doc__)
        return 2
    found = problems()
    for p in found:
        print(p)
    print(f"{len(found)} problem(s) in the catalogue" if found else "catalogue complete: id and en")
    return 1 if found and command == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
