"""Guided questions: the call-taker asks them, the answers suggest a priority and reach the agency in
the incident's timeline."""

from __future__ import annotations

import pytest

from tests.conftest import ids


def questions(api, code: str, who: str = "ct"):  # type: ignore[no-untyped-def]
    return api(who).get(f"/api/v1/categories/{code}/questions")


def test_every_active_top_level_category_has_questions(api):
    categories = api("ct").get("/api/v1/categories").json()
    top_level = [c["code"] for c in categories if c["parent_code"] is None and c["active"]]
    assert len(top_level) >= 10
    for code in top_level:
        r = questions(api, code)
        assert r.status_code == 200, code
        assert r.json()["category_code"] == code and 3 <= len(r.json()["questions"]) <= 6, code


def test_a_subcategory_gets_its_parents_questions_and_an_unknown_one_is_404(api):
    fire = questions(api, "kebakaran").json()
    assert questions(api, "kebakaran.bangunan").json() == fire
    trapped = next(q for q in fire["questions"] if q["id"] == "kebakaran.terjebak")
    assert trapped == {"id": "kebakaran.terjebak", "kind": "yesno", "text_id": "Apakah ada orang yang terjebak "
                       "di dalam?", "text_en": "Is anyone trapped inside?", "options": [],
                       "raises_priority_to": 1, "raises_on": "yes"}
    what = next(q for q in fire["questions"] if q["kind"] == "choice")
    assert len(what["options"]) >= 2 and {"value", "text_id", "text_en"} <= set(what["options"][0])
    r = questions(api, "no_such_category")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert questions(api, "kebakaran", who="damkar").status_code == 200  # reference data for everyone


def create(api, body: dict):  # type: ignore[no-untyped-def]
    return api("ct").post("/api/v1/incidents", json=body)


@pytest.mark.parametrize("category, answers, expected", [
    ("lainnya", {"lainnya.nyawa_terancam": True}, 1),
    ("lainnya", {"lainnya.nyawa_terancam": False, "lainnya.korban": True}, 2),
    ("lainnya", {"lainnya.nyawa_terancam": None, "lainnya.uraian": "Atap roboh"}, 4),
    ("pohon_tumbang_infrastruktur", {"infrastruktur.kabel_listrik": True}, 2),
    ("bencana_alam", {"bencana.ketinggian_air": "dada"}, 1),
    ("bencana_alam", {"bencana.ketinggian_air": "lutut"}, 2),
    ("gangguan_keamanan", {"keamanan.pelapor_aman": False}, 1),
])
def test_answers_suggest_the_priority_when_none_is_given(api, category, answers, expected):
    r = create(api, {"category_code": category, "answers": answers})
    assert r.status_code == 201, r.text
    assert r.json()["priority"] == expected


def test_an_explicit_priority_wins_but_the_answers_are_still_recorded(api):
    r = create(api, {"category_code": "lainnya", "priority": 3, "answers": {"lainnya.nyawa_terancam": True}})
    assert r.status_code == 201 and r.json()["priority"] == 3
    timeline = api("ct").get(f"/api/v1/incidents/{r.json()['id']}/timeline").json()
    guided = next(e for e in timeline if e["kind"] == "guided_answers")
    assert {k: v for k, v in guided["data"].items() if k != "asked"} == {
        "answers": {"lainnya.nyawa_terancam": True}, "suggested_priority": 1}
    asked = guided["data"]["asked"]["lainnya.nyawa_terancam"]
    assert asked["version"] == 1 and asked["question"]["text_en"] == "Is anyone's life in danger right now?"


def test_the_agency_reads_the_answers_in_the_timeline(api):
    r = create(api, {"category_code": "kebakaran", "description": "Rumah panggung terbakar", "answers": {
        "kebakaran.objek": "rumah", "kebakaran.terjebak": True, "kebakaran.korban": None}})
    assert r.status_code == 201, r.text
    incident = r.json()
    agencies = ids(api, "/api/v1/agencies")
    assert api("disp").post(f"/api/v1/incidents/{incident['id']}/assignments",
                            json={"agency_id": agencies["DAMKAR"]}).status_code == 201
    timeline = api("damkar").get(f"/api/v1/incidents/{incident['id']}/timeline").json()
    assert [e["kind"] for e in timeline][:2] == ["created", "guided_answers"]
    assert timeline[1]["text"] == ("Jawaban panduan:\n"
                                   "- Apa yang terbakar? Rumah / tempat tinggal\n"
                                   "- Apakah ada orang yang terjebak di dalam? Ya\n"
                                   "- Apakah ada korban luka atau luka bakar? Tidak diketahui")
    audit = api("sup").get(f"/api/v1/audit?entity=incident&entity_id={incident['id']}").json()
    assert audit[-1]["action"] == "incident.create" and audit[-1]["data"]["answers"]["kebakaran.terjebak"] is True


@pytest.mark.parametrize("answers, field", [
    ({"kebakaran.tidak_ada": True}, "body.answers.kebakaran.tidak_ada"),
    ({"medis.sadar": False}, "body.answers.medis.sadar"),              # another category's question
    ({"kebakaran.terjebak": "ya"}, "body.answers.kebakaran.terjebak"),  # a yes/no wants true or false
    ({"kebakaran.objek": "kapal"}, "body.answers.kebakaran.objek"),     # not one of the options
    ({"kebakaran.objek": True}, "body.answers.kebakaran.objek"),
    ({"kebakaran.terjebak": 1}, "body.answers.kebakaran.terjebak"),
    ({"kebakaran.terjebak": True, "x" * 81: True}, "body.answers." + "x" * 81),
])
def test_wrong_answers_are_refused_naming_the_question_and_nothing_is_stored(api, answers, field):
    r = create(api, {"category_code": "kebakaran", "answers": answers})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"].startswith(field) for e in r.json()["errors"]), r.json()["errors"]
    assert api("ct").get("/api/v1/incidents").json() == []
    ok = create(api, {"category_code": "kebakaran"}).json()
    assert ok["number"] == "BKS-2026-000001"  # the refused one took no number


def test_every_wrong_answer_is_reported_at_once(api):
    r = create(api, {"category_code": "kebakaran", "answers": {"kebakaran.terjebak": "ya", "nope": True}})
    assert sorted(e["field"] for e in r.json()["errors"]) == ["body.answers.kebakaran.terjebak",
                                                             "body.answers.nope"]


# --- Questions are data the admin edits (issue 13) --------------------------------------------------------

def admin_question(api, qid: str) -> dict:  # type: ignore[no-untyped-def]
    return next(q for q in api("admin").get("/api/v1/guided-questions").json() if q["id"] == qid)


def asked_ids(api, code: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [q["id"] for q in questions(api, code).json()["questions"]]


def edit(api, qid: str, who: str = "admin", **changes):  # type: ignore[no-untyped-def]
    row = admin_question(api, qid)
    question = {**row["question"], **changes.pop("question", {})}
    return api(who).put(f"/api/v1/guided-questions/{qid}", json={"version": row["version"], "question": question,
                                                                  **changes})


def events(engine, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from siaga.events.models import Event

    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(Event.kind, Event.payload).where(Event.kind == kind)
                                                       .order_by(Event.id))]


def test_the_admin_rewords_a_question_and_the_call_taker_asks_the_new_words(api, engine):
    row = admin_question(api, "kebakaran.terjebak")
    assert row["category_code"] == "kebakaran" and row["active"] is True
    changed = {**row["question"], "text_id": "Masih ada orang di dalam bangunan?",
               "text_en": "Is anyone still inside the building?"}
    r = api("admin").put("/api/v1/guided-questions/kebakaran.terjebak",
                         json={"version": row["version"], "question": changed})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == row["version"] + 1
    asked = next(q for q in questions(api, "kebakaran").json()["questions"] if q["id"] == "kebakaran.terjebak")
    assert asked["text_id"] == "Masih ada orang di dalam bangunan?" and asked["raises_priority_to"] == 1
    # the same edit again, from a screen that did not reload: refused, nothing lost
    stale = api("admin").put("/api/v1/guided-questions/kebakaran.terjebak",
                             json={"version": row["version"], "question": row["question"]})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert admin_question(api, "kebakaran.terjebak")["question"]["text_id"] == "Masih ada orang di dalam bangunan?"
    # audited with the words before and after, and announced to the consoles
    audit = api("sup").get("/api/v1/audit?entity=guided_question&entity_id=kebakaran.terjebak").json()
    assert audit[-1]["action"] == "question.update"
    assert audit[-1]["data"]["before"]["question"]["text_id"] == "Apakah ada orang yang terjebak di dalam?"
    assert audit[-1]["data"]["after"]["question"]["text_id"] == "Masih ada orang di dalam bangunan?"
    announced = events(engine, "question.changed")
    assert announced[-1]["payload"] == {"category_code": "kebakaran", "ids": ["kebakaran.terjebak"],
                                        "change": "update"}
    # saving what is stored changes nothing: no new version, no audit entry
    same = edit(api, "kebakaran.terjebak")
    assert same.status_code == 200 and same.json()["version"] == row["version"] + 1
    assert len(api("sup").get("/api/v1/audit?entity=guided_question&entity_id=kebakaran.terjebak").json()) == len(audit)


def test_a_reworded_question_leaves_past_answers_as_they_were_asked(api):
    before = create(api, {"category_code": "kebakaran", "answers": {"kebakaran.objek": "lahan",
                                                                    "kebakaran.terjebak": False}}).json()
    r = edit(api, "kebakaran.objek", question={
        "text_id": "Apa yang sedang terbakar sekarang?", "text_en": "What is burning now?",
        "options": [{"value": "rumah", "text_id": "Rumah", "text_en": "House"},
                    {"value": "lahan", "text_id": "Kebun sawit", "text_en": "Oil-palm plantation"},
                    {"value": "kendaraan", "text_id": "Kendaraan", "text_en": "Vehicle"}]})
    assert r.status_code == 200, r.text
    after = create(api, {"category_code": "kebakaran", "answers": {"kebakaran.objek": "lahan"}}).json()

    def guided(incident: dict) -> dict:
        timeline = api("disp").get(f"/api/v1/incidents/{incident['id']}/timeline").json()
        return next(e for e in timeline if e["kind"] == "guided_answers")

    old, new = guided(before), guided(after)
    # the past incident reads as it was asked, in both languages, with the version it was asked in
    assert "- Apa yang terbakar? Lahan, kebun atau hutan" in old["text"]
    was = old["data"]["asked"]["kebakaran.objek"]
    assert was["version"] == 1 and was["question"]["text_en"] == "What is burning?"
    land = next(o for o in was["question"]["options"] if o["value"] == "lahan")
    assert land["text_en"] == "Land, plantation or forest"
    trapped = old["data"]["asked"]["kebakaran.terjebak"]["question"]
    assert trapped["text_id"] == "Apakah ada orang yang terjebak di dalam?"
    # the next one carries the new words
    assert "- Apa yang sedang terbakar sekarang? Kebun sawit" in new["text"]
    assert new["data"]["asked"]["kebakaran.objek"]["version"] == 2


def test_a_retired_question_is_no_longer_asked_and_old_answers_keep_their_words(api, engine):
    before = create(api, {"category_code": "kebakaran", "answers": {"kebakaran.objek": "rumah"}}).json()
    r = edit(api, "kebakaran.objek", active=False)
    assert r.status_code == 200 and r.json()["active"] is False
    assert "kebakaran.objek" not in asked_ids(api, "kebakaran")
    assert events(engine, "question.changed")[-1]["payload"]["change"] == "retire"
    refused = create(api, {"category_code": "kebakaran", "answers": {"kebakaran.objek": "rumah"}})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.answers.kebakaran.objek"
    timeline = api("disp").get(f"/api/v1/incidents/{before['id']}/timeline").json()
    answered = next(e for e in timeline if e["kind"] == "guided_answers")
    assert "Apa yang terbakar? Rumah / tempat tinggal" in answered["text"]
    # still listed for the admin, and asked again once restored
    assert admin_question(api, "kebakaran.objek")["active"] is False
    assert edit(api, "kebakaran.objek", active=True).status_code == 200
    assert "kebakaran.objek" in asked_ids(api, "kebakaran")


def test_retiring_a_question_a_response_rule_needs_is_refused_naming_the_rule(api):
    """Retired, 'is anyone trapped' would never be answered again and the rule sending an ambulance to a fire
    with people trapped would never match: the admin is told which rule, and nothing changes."""
    row = admin_question(api, "kebakaran.terjebak")
    r = edit(api, "kebakaran.terjebak", active=False)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    rules = [x for x in api("admin").get("/api/v1/response-rules").json()
             if "kebakaran.terjebak" in (x["answers"] or {})]
    assert rules and all(f"#{x['id']}" in " ".join(e["message"] for e in r.json()["errors"]) for x in rules)
    assert {e["code"] for e in r.json()["errors"]} == {"in_use"}
    assert admin_question(api, "kebakaran.terjebak") == row and "kebakaran.terjebak" in asked_ids(api, "kebakaran")
    # the admin switches the rule off first; then the question can go
    for rule in rules:
        body = {k: rule[k] for k in ("name", "kind", "category_code", "subcategory_code", "max_priority",
                                     "kode_wilayah", "hour_from", "hour_to", "answers", "agency_codes", "units",
                                     "note")}
        off = api("admin").put(f"/api/v1/response-rules/{rule['id']}",
                               json={**body, "active": False, "version": rule["version"]})
        assert off.status_code == 200, off.text
    assert edit(api, "kebakaran.terjebak", active=False).status_code == 200
    # and a rule cannot be switched back on to match an answer nobody is asked for
    again = api("admin").put(f"/api/v1/response-rules/{rules[0]['id']}",
                             json={**body, "active": True, "version": rules[0]["version"] + 1})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "body.answers.kebakaran.terjebak"


def test_taking_away_the_option_a_rule_matches_is_refused(api):
    rule = api("admin").post("/api/v1/response-rules", json={
        "name": "Banjir setinggi dada → + SAR", "kind": "extra", "category_code": "bencana_alam",
        "answers": {"bencana.ketinggian_air": "dada"}, "agency_codes": ["SAR"]})
    assert rule.status_code == 201, rule.text
    options = admin_question(api, "bencana.ketinggian_air")["question"]["options"]
    without = [o for o in options if o["value"] != "dada"]
    r = edit(api, "bencana.ketinggian_air", question={"options": without})
    assert r.status_code == 409 and "Banjir setinggi dada" in r.json()["errors"][0]["message"]
    assert r.json()["errors"][0]["field"] == "body.question.options"
    other = next(o for o in options if o["value"] != "dada")
    fewer = [o for o in options if o["value"] != other["value"]]
    assert edit(api, "bencana.ketinggian_air", question={"options": fewer}).status_code == 200  # unused: fine


def test_an_answer_the_plan_matches_but_nobody_is_asked_for_is_a_finding(api, ctx_factory):
    """A database whose question was retired before rules were checked: the plan check says so."""
    from siaga.domains.incidents.models import GuidedQuestion

    assert not [f for f in api("admin").get("/api/v1/response-rules/check").json() if f["kind"] == "unasked_answer"]
    with ctx_factory("admin") as ctx:
        ctx.db.get(GuidedQuestion, "kll.terjepit").active = False
    found = [f for f in api("admin").get("/api/v1/response-rules/check").json() if f["kind"] == "unasked_answer"]
    assert len(found) == 1 and "kll.terjepit" in found[0]["message"]


def test_the_admin_adds_a_question_and_bad_questions_are_refused_readably(api, engine):
    new = {"category_code": "bencana_alam", "question": {
        "id": "banjir.listrik", "kind": "yesno", "text_id": "Apakah listrik masih menyala di area banjir?",
        "text_en": "Is the power still on in the flooded area?", "raises_priority_to": 2}}
    r = api("admin").post("/api/v1/guided-questions", json=new)
    assert r.status_code == 201, r.text
    assert asked_ids(api, "bencana_alam")[-1] == "banjir.listrik"  # after the others when no place is given
    assert events(engine, "question.changed")[-1]["payload"]["ids"] == ["banjir.listrik"]
    made = create(api, {"category_code": "bencana_alam", "answers": {"banjir.listrik": True}})
    assert made.status_code == 201 and made.json()["priority"] == 2
    again = api("admin").post("/api/v1/guided-questions", json=new)
    assert again.status_code == 409 and again.json()["code"] == "duplicate"
    for body, field in (
        ({**new, "category_code": "no_such"}, "body.category_code"),
        ({**new, "category_code": "kebakaran.bangunan"}, "body.category_code"),  # a subcategory
        ({**new, "question": {**new["question"], "id": "x.y", "text_id": ""}}, "body.question.text_id"),
        ({**new, "question": {**new["question"], "id": "x.y", "text_en": "   "}}, "body.question.text_en"),
        ({**new, "question": {**new["question"], "id": "Banjir Listrik"}}, "body.question.id"),
        ({**new, "question": {**new["question"], "id": "x.z", "kind": "choice"}}, "body.question"),
        ({**new, "question": {**new["question"], "id": "x.w", "kind": "choice", "raises_priority_to": None,
                              "options": [{"value": "a", "text_id": "A", "text_en": "A"},
                                          {"value": "a", "text_id": "B", "text_en": "B"}]}}, "body.question"),
    ):
        bad = api("admin").post("/api/v1/guided-questions", json=body)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["errors"][0]["field"].startswith(field), bad.json()
    assert "x.y" not in [q["id"] for q in api("admin").get("/api/v1/guided-questions").json()]
    renamed = edit(api, "banjir.listrik", question={"id": "banjir.lain"})
    assert renamed.status_code == 422 and renamed.json()["errors"][0]["code"] == "immutable"
    rekinded = edit(api, "banjir.listrik", question={"kind": "text", "raises_priority_to": None})
    assert rekinded.status_code == 422 and rekinded.json()["errors"][0]["field"] == "body.question.kind"
    missing = api("admin").put("/api/v1/guided-questions/no.such", json={"version": 1, "active": False})
    assert missing.status_code == 404
    assert api("ct").post("/api/v1/guided-questions", json=new).status_code == 403
    assert api("ct").put("/api/v1/guided-questions/banjir.listrik", json={"version": 1}).status_code == 403


def test_the_admin_reorders_a_categorys_questions_in_one_step(api, engine):
    order = asked_ids(api, "kebakaran")
    wanted = [order[0], *reversed(order[1:])]  # the first (what burns) no response rule names: it may be retired
    assert wanted != order
    r = api("admin").put("/api/v1/categories/kebakaran/questions/order", json={"ids": wanted})
    assert r.status_code == 200, r.text
    assert [q["id"] for q in r.json()] == wanted == asked_ids(api, "kebakaran")
    assert events(engine, "question.changed")[-1]["payload"]["change"] == "reorder"
    audit = api("sup").get("/api/v1/audit?entity=category&entity_id=kebakaran").json()
    assert audit[-1]["action"] == "question.reorder" and audit[-1]["data"] == {"before": order, "after": wanted}
    # a retired question keeps its place among the others, and must be named too
    assert edit(api, wanted[0], active=False).status_code == 200
    for ids_, status, field in (
        (wanted[1:], 409, "body.ids"),                                  # misses one (added meanwhile?)
        (wanted + [wanted[0]], 422, f"body.ids.{len(wanted)}"),         # one twice
        (wanted[:-1] + ["medis.sadar"], 422, f"body.ids.{len(wanted) - 1}"),  # another category's
    ):
        bad = api("admin").put("/api/v1/categories/kebakaran/questions/order", json={"ids": ids_})
        assert bad.status_code == status and bad.json()["errors"][0]["field"] == field, bad.json()
    assert asked_ids(api, "kebakaran") == wanted[1:]  # nothing moved
    assert api("admin").put("/api/v1/categories/no_such/questions/order", json={"ids": ["a"]}).status_code == 404
    assert api("ct").put("/api/v1/categories/kebakaran/questions/order", json={"ids": order}).status_code == 403


def test_loading_the_site_again_adds_nothing_and_keeps_the_admins_words(api, ctx_factory):
    from siaga.domains.incidents.questions import load_questions
    from siaga.settings import SHIPPED_SITE

    edit(api, "medis.sadar", question={"text_id": "Apakah korban sadar dan menjawab?"})
    edit(api, "medis.bernapas", active=False)
    with ctx_factory("admin") as ctx:
        assert load_questions(ctx, SHIPPED_SITE) == 0
    assert admin_question(api, "medis.sadar")["question"]["text_id"] == "Apakah korban sadar dan menjawab?"
    assert admin_question(api, "medis.bernapas")["active"] is False


def site_with_questions(tmp_path, categories: dict) -> object:  # type: ignore[no-untyped-def]
    import json

    (tmp_path / "questions.json").write_text(json.dumps({"categories": categories}), encoding="utf-8")
    return tmp_path


GAS = {"id": "kebakaran.tabung_gas", "kind": "yesno", "text_id": "Apakah ada tabung gas di dekat api?",
       "text_en": "Is there a gas cylinder near the fire?", "raises_priority_to": 1}


def test_the_loader_adds_a_new_sites_question_after_the_existing_ones(api, ctx_factory, tmp_path):
    from siaga.domains.incidents.questions import load_questions

    before = asked_ids(api, "kebakaran")
    folder = site_with_questions(tmp_path, {"kebakaran": [GAS]})
    with ctx_factory("admin") as ctx:
        assert load_questions(ctx, folder) == 1
    assert asked_ids(api, "kebakaran") == before + ["kebakaran.tabung_gas"]
    with ctx_factory("admin") as ctx:
        assert load_questions(ctx, folder) == 0  # idempotent


@pytest.mark.parametrize("categories, field", [
    ({"no_such": [GAS]}, "questions.json: categories.no_such"),
    ({"kebakaran.bangunan": [GAS]}, "questions.json: categories.kebakaran.bangunan"),
    ({"kebakaran": [GAS], "medis": [{**GAS, "text_id": "Lagi?"}]}, "questions.json"),    # an id twice
    ({"kebakaran": [{**GAS, "text_id": " "}]}, "questions.json: categories.kebakaran.0.text_id"),
    ({"kebakaran": [{**GAS, "kind": "maybe"}]}, "questions.json: categories.kebakaran.0.kind"),
])
def test_the_loader_refuses_a_wrong_file_whole_saying_where(api, ctx_factory, tmp_path, categories, field):
    from siaga.core.errors import Problem
    from siaga.domains.incidents.questions import load_questions

    folder = site_with_questions(tmp_path, {"kebakaran": [{**GAS, "id": "kebakaran.ok"}], **categories})
    before = api("admin").get("/api/v1/guided-questions").json()
    with pytest.raises(Problem) as refused, ctx_factory("admin") as ctx:
        load_questions(ctx, folder)
    assert refused.value.status == 422
    assert any(e["field"] == field or e["field"].startswith(field) for e in refused.value.errors), refused.value.errors
    assert api("admin").get("/api/v1/guided-questions").json() == before  # nothing added, not even the good one


def test_a_file_that_is_not_json_is_named(api, ctx_factory, tmp_path):
    from siaga.core.errors import Problem
    from siaga.domains.incidents.questions import load_questions

    (tmp_path / "questions.json").write_text('{"categories": {"kebakaran": [', encoding="utf-8")
    with pytest.raises(Problem) as refused, ctx_factory("admin") as ctx:
        load_questions(ctx, tmp_path)
    assert refused.value.errors[0]["field"] == "questions.json" and "not JSON" in refused.value.errors[0]["message"]
