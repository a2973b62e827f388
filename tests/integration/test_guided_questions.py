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
    assert guided["data"] == {"answers": {"lainnya.nyawa_terancam": True}, "suggested_priority": 1}


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


def test_the_admin_rewords_a_question_and_the_call_taker_asks_the_new_words(api):
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


def test_a_retired_question_is_no_longer_asked_and_old_answers_keep_their_words(api):
    before = create(api, {"category_code": "kebakaran", "answers": {"kebakaran.terjebak": True}}).json()
    assert before["priority"] == 1
    row = admin_question(api, "kebakaran.terjebak")
    r = api("admin").put("/api/v1/guided-questions/kebakaran.terjebak",
                         json={"version": row["version"], "active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert "kebakaran.terjebak" not in [q["id"] for q in questions(api, "kebakaran").json()["questions"]]
    refused = create(api, {"category_code": "kebakaran", "answers": {"kebakaran.terjebak": True}})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.answers.kebakaran.terjebak"
    timeline = api("disp").get(f"/api/v1/incidents/{before['id']}/timeline").json()
    answered = next(e for e in timeline if e["kind"] == "guided_answers")
    assert "Apakah ada orang yang terjebak di dalam? Ya" in answered["text"]


def test_the_admin_adds_a_question_and_bad_questions_are_refused_readably(api):
    new = {"category_code": "bencana_alam", "position": 9, "question": {
        "id": "banjir.listrik", "kind": "yesno", "text_id": "Apakah listrik masih menyala di area banjir?",
        "text_en": "Is the power still on in the flooded area?", "raises_priority_to": 2}}
    r = api("admin").post("/api/v1/guided-questions", json=new)
    assert r.status_code == 201, r.text
    assert questions(api, "bencana_alam").json()["questions"][-1]["id"] == "banjir.listrik"
    again = api("admin").post("/api/v1/guided-questions", json=new)
    assert again.status_code == 409
    for body, field in (
        ({**new, "category_code": "no_such"}, "body.category_code"),
        ({**new, "category_code": "kebakaran.bangunan"}, "body.category_code"),  # a subcategory
        ({**new, "question": {**new["question"], "id": "x.y", "text_id": ""}}, "body.question.text_id"),
        ({**new, "question": {**new["question"], "id": "x.z", "kind": "choice"}}, "body.question"),
    ):
        bad = api("admin").post("/api/v1/guided-questions", json=body)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["errors"][0]["field"].startswith(field), bad.json()
    row = admin_question(api, "banjir.listrik")
    renamed = api("admin").put("/api/v1/guided-questions/banjir.listrik", json={
        "version": row["version"], "question": {**row["question"], "id": "banjir.lain"}})
    assert renamed.status_code == 422 and renamed.json()["errors"][0]["code"] == "immutable"
    assert api("ct").post("/api/v1/guided-questions", json=new).status_code == 403
    assert api("ct").put("/api/v1/guided-questions/banjir.listrik", json={"version": 1}).status_code == 403


def test_loading_the_site_again_adds_nothing_and_keeps_the_admins_words(api, ctx_factory):
    from siaga.domains.incidents.questions import load_questions
    from siaga.settings import SHIPPED_SITE

    row = admin_question(api, "medis.sadar")
    api("admin").put("/api/v1/guided-questions/medis.sadar", json={
        "version": row["version"], "question": {**row["question"], "text_id": "Apakah korban sadar dan menjawab?"}})
    with ctx_factory("admin") as ctx:
        assert load_questions(ctx, SHIPPED_SITE) == 0
    assert admin_question(api, "medis.sadar")["question"]["text_id"] == "Apakah korban sadar dan menjawab?"
