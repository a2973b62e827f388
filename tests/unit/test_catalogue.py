"""The one message catalogue: complete in Bahasa Indonesia and English with the same {placeholders}, its
compiled .mo files made from the .po sources as committed, and every word a template, the browser code or the
Python code asks for present in both languages — so no reader ever sees a bare key or half a sentence."""

from __future__ import annotations

import importlib.util
import re
import string
from pathlib import Path

import pytest

from siaga.core import i18n
from siaga.core.clock import SiteZone
from siaga.core.i18n import LANGUAGES, both, catalogue, decimal, joined, message, ref, render, t, words

SRC = Path(__file__).parents[2] / "src" / "siaga"
TOOL = Path(__file__).parents[2] / "tools" / "i18n.py"


def _tool():
    spec = importlib.util.spec_from_file_location("siaga_i18n_tool", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_catalogue_is_complete_and_compiled_from_its_sources():
    """tools/i18n.py check: every id.po message translated in en.po from the same Indonesian, no fuzzy or
    empty English, the same placeholders, and the committed .mo byte for byte what the .po compile to."""
    assert _tool().problems() == []


def test_both_languages_have_the_same_keys_and_placeholders():
    ids, ens = catalogue("id"), catalogue("en")
    assert len(ids) > 500 and ids.keys() == ens.keys()
    for key in ids:
        assert ids[key].strip() and ens[key].strip(), key
        assert fields(ids[key]) == fields(ens[key]), key


def _sources(*patterns: str) -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for pattern in patterns for p in sorted(SRC.rglob(pattern))]


def _missing(keys: dict[str, set[str]]) -> list[str]:
    return [f"{where}: {key} ({lang})" for key, places in keys.items() for where in sorted(places)
            for lang in LANGUAGES if key not in catalogue(lang)]


def _collect(found: dict[str, set[str]], key: str, where: Path) -> None:
    found.setdefault(key, set()).add(str(where.relative_to(SRC)))


def test_every_word_a_template_or_the_browser_asks_for_exists_in_both_languages():
    found: dict[str, set[str]] = {}
    for path, text in _sources("*.html"):
        for key in re.findall(r"\bw\.([a-z][a-z0-9_]*)", text) + re.findall(r"\bw\[['\"]([a-z0-9_]+)['\"]\]", text):
            _collect(found, key, path)
    for path, text in _sources("*.js"):
        if "/vendor/" in str(path):
            continue
        for key in re.findall(r"\bW\.([a-z][a-z0-9_]*)", text) + re.findall(r"\bW\[['\"]([a-z0-9_]+)['\"]\]", text):
            _collect(found, key, path)
        for key in re.findall(r'"(st_trend_[a-z]+)"', text):
            _collect(found, key, path)
    assert len(found) > 200
    assert _missing(found) == []
    page = words("en", SiteZone.named("Asia/Jakarta"))
    assert all("." not in k for k in page) and found.keys() <= page.keys()


def test_words_looked_up_by_prefix_exist_for_every_value():
    """Keys the code builds from a domain value (W["step_" + a.due_step], w[f"outcome_{o}"], …)."""
    from siaga.domains.agencies.models import UNIT_STATUSES
    from siaga.domains.callers.models import MEASURE_KINDS
    from siaga.domains.calls.models import CALL_OUTCOMES, CALL_STATUSES
    from siaga.domains.calls.schemas import GHOST_CHECKLIST
    from siaga.domains.dispatch.deadlines import WAITING_STATE
    from siaga.domains.incidents.models import ASSIGNMENT_STATES, INCIDENT_STATUSES
    from siaga.domains.kpi.definitions import STAGES
    from siaga.domains.units.models import UNIT_TYPES

    wanted = ([f"step_{s}" for s in WAITING_STATE] + [f"deadline_step.{s}" for s in WAITING_STATE]
              + [f"stage_{s[0]}" for s in STAGES] + [f"outcome_{o}" for o in (*CALL_OUTCOMES, "unclassified")]
              + [f"measure_{k}" for k in MEASURE_KINDS] + [f"gp_{k}" for k in GHOST_CHECKLIST]
              + [f"field_error_{c}" for c in ("missing", "unknown", "string_too_long", "int_parsing")]
              + [f"evidence.measure_kind.{k}" for k in MEASURE_KINDS]
              + [f"status.incident.{s}" for s in INCIDENT_STATUSES]
              + [f"status.assignment.{s}" for s in ASSIGNMENT_STATES]
              + [f"status.unit.{s}" for s in UNIT_STATUSES] + [f"status.call.{s}" for s in CALL_STATUSES]
              + [f"status.outcome.{o}" for o in CALL_OUTCOMES] + [f"status.unit_type.{t}" for t in UNIT_TYPES])
    assert [f"{k} ({lang})" for k in wanted for lang in LANGUAGES if k not in catalogue(lang)] == []
    assert any(k.startswith("sector_err_") for k in catalogue("en"))


def test_every_message_the_python_code_names_exists_in_both_languages():
    """t("…"), message("…"), ref("…"), problem_title("…"), has("…"), namespace("…"), the evidence pack's T.…,
    every Problem code's title, w["…"] in the reports, and the label of every timeline kind written."""
    found: dict[str, set[str]] = {}
    call = re.compile(r"\b(?:t|message|ref|has)\(\s*\"([a-z][a-z0-9_.]*)\"")
    for path, text in _sources("*.py"):
        for key in call.findall(text):
            _collect(found, key, path)
        for code in re.findall(r"\bProblem\(\d{3},\s*\"([a-z_]+)\"", text) + re.findall(
                r"\bproblem_title\(\"([a-z_]+)\"", text):
            _collect(found, f"problem.{code}", path)
        if path.parent.name == "reports":  # the period report's words are the consoles' (w = words(...))
            for key in re.findall(r"\bw\[\"([a-z0-9_]+)\"\]", text):
                _collect(found, key, path)
        for kind in re.findall(r"\badd_timeline\([^,]+,[^,]+,\s*\"([a-z_]+)\"", text):
            _collect(found, f"timeline.kind.{kind}", path)
        if path.name == "evidence.py":
            for key in re.findall(r"\bT\.([a-z0-9_]+)", text):
                _collect(found, f"evidence.{key}", path)
        for prefix in re.findall(r"\bnamespace\(\"([a-z_.]+)\"", text):
            assert any(k.startswith(prefix + ".") for k in catalogue("id")), (path, prefix)
    assert len(found) > 100
    assert sum(k.startswith("timeline.kind.") for k in found) >= 10
    assert _missing(found) == []


@pytest.mark.parametrize("lang, expected", [
    ("id", "Damkar masih belum mengirim unit: instansi cadangan BPBD diberi tahu — dari lapangan"),
    ("en", "Damkar has still not sent units: the backup agency BPBD was notified — dari lapangan"),
])
def test_a_stored_message_reads_in_the_readers_language_with_the_typed_words_as_typed(lang, expected):
    said = message("timeline.escalated_backup", agency="Damkar", step=ref("deadline_step.units"), backup="BPBD")
    assert render(said["code"], said["params"], lang, "dari lapangan") == expected


def test_parameters_in_both_languages_numbers_and_lists_render_for_each_reader():
    said = message("timeline.sector_changed", name="Sektor A", changes=joined("; ", [
        ref("sector.searching_by", team="Damkar"), ref("sector.reshaped", size=ref("sector.area_ha", n=decimal(12.44))),
        ref("sector.note", note="jalan setapak")]))
    assert render(said["code"], said["params"], "id") == (
        "Sektor A: dicari oleh Damkar; batas diubah (12,4 ha); catatan: jalan setapak")
    assert render(said["code"], said["params"], "en") == (
        "Sektor A: searched by Damkar; boundary changed (12.4 ha); note: jalan setapak")
    asked = message("timeline.guided_answers", answers=joined("\n", [
        ref("timeline.guided_answer_q", question=both("Ada korban?", "Anyone hurt?"),
            answer=ref("timeline.answer_yes")),
        ref("timeline.guided_answer", question=both("Objek", "Object"), answer=both("Rumah", "House"))]))
    assert render(asked["code"], asked["params"], "en") == "Guided answers:\n- Anyone hurt? Yes\n- Object: House"
    assert render(asked["code"], asked["params"], "id") == "Jawaban panduan:\n- Ada korban? Ya\n- Objek: Rumah"


def test_a_record_written_before_codes_reads_as_its_text_and_an_unknown_key_never_breaks_a_page():
    assert render(None, None, "en", "Damkar") == "Damkar"
    assert t("no.such.key", "en") == "no.such.key"
    assert t("problem.too_many_logins", "en") == "Too many login attempts; try again in {seconds} seconds"
    with pytest.raises(KeyError):
        message("timeline.no_such_message")


def test_the_consoles_words_name_the_site_and_its_zone():
    paser = words("id", SiteZone.named("Asia/Makassar"), "Kabupaten Paser")
    assert paser["title"] == "Siaga 112 Kabupaten Paser" and paser["st_by_hour"] == "Panggilan per jam (WITA)"
    assert "Bengkalis" not in " ".join(catalogue("id").values()) + " ".join(catalogue("en").values())


def test_a_damaged_catalogue_file_is_refused_plainly():
    with pytest.raises(ValueError, match="not a gettext"):
        i18n.read_mo(b"\x00" * 40)
