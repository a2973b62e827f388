"""Quality review through the API, on both databases: the checklist as data (seeded, edited by admins, an item
retired while old reviews keep it), the queue drawn by the sampling rule, one review per call with a 409 for a
second supervisor, masked comments, audited; the call-taker's own feedback only; agencies see nothing; the
period report's QA figures."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import Call
from siaga.domains.quality.sampling import SampleRule, in_random_share
from siaga.domains.users.models import User
from tests.conftest import START

ITEMS = ["greeting", "address_confirmed", "callback_confirmed", "right_category", "instructions_given"]
ALL_PASS = dict.fromkeys(ITEMS, "pass")


def _ids_not_random(n: int, start: int = 1000) -> list[int]:
    """Call ids the random share (5 %) leaves out: the tests choose what samples each call."""
    out, i = [], start
    while len(out) < n:
        if not in_random_share(i, SampleRule().percent):
            out.append(i)
        i += 1
    return out


def _calls(engine, specs) -> list[int]:  # type: ignore[no-untyped-def]
    """specs: (id, minutes before START, answer seconds, outcome, operator username, status)."""
    with unit_of_work(engine) as db:
        users = {u.username: u.id for u in db.scalars(select(User))}
        for call_id, minutes_ago, answer_s, outcome, operator, status in specs:
            offered = START - timedelta(minutes=minutes_ago)
            answered = offered + timedelta(seconds=answer_s) if answer_s is not None else None
            db.add(Call(id=call_id, external_ref=f"qa-{call_id}", caller_number="081234567890", status=status,
                        offered_at=offered, answered_at=answered,
                        ended_at=(answered or offered) + timedelta(seconds=60) if status != "answered" else None,
                        operator_id=users[operator] if operator else None, outcome=outcome, notes=""))
    return [s[0] for s in specs]


def _sample(engine):  # type: ignore[no-untyped-def]
    a, b, c, d, e, f = _ids_not_random(6)
    _calls(engine, [
        (a, 50, 5, "emergency", "ct", "ended"),     # quick, genuine: not sampled
        (b, 40, 4, "prank", "ct", "ended"),         # prank: sampled
        (c, 30, 3, "ghost", "sup", "ended"),        # ghost: sampled
        (d, 20, 45, "emergency", "ct", "ended"),    # a long answer: sampled
        (e, 10, 45, "emergency", "ct", "answered"),  # still live: never reviewable
        (f, 60, None, "abandoned", None, "abandoned"),  # nobody answered
    ])
    return a, b, c, d, e, f


def test_the_checklist_is_seeded_data_an_admin_edits(api):
    items = api("sup").get("/api/v1/qa/checklist").json()
    assert [i["id"] for i in items] == ITEMS
    assert items[0]["label_id"] == "Salam & identitas" and items[0]["label_en"] == "Greeting and identification"
    r = api("admin").post("/api/v1/qa/checklist", json={"id": "empathy", "label_id": "Empati",
                                                        "label_en": "Empathy"})
    assert r.status_code == 201 and r.json()["position"] == 5
    assert api("admin").post("/api/v1/qa/checklist", json={"id": "empathy", "label_id": "x",
                                                           "label_en": "x"}).status_code == 409
    r = api("admin").put("/api/v1/qa/checklist/empathy", json={"version": 1, "label_id": "Empati ditunjukkan"})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = api("admin").put("/api/v1/qa/checklist/empathy", json={"version": 1, "active": False})
    assert r.status_code == 409 and r.json()["code"] == "stale_version"
    assert api("admin").put("/api/v1/qa/checklist/nope", json={"version": 1}).status_code == 404
    for who in ("sup", "ct", "disp", "damkar"):
        assert api(who).post("/api/v1/qa/checklist", json={"id": "x", "label_id": "x",
                                                           "label_en": "x"}).status_code == 403
    assert api("damkar").get("/api/v1/qa/checklist").status_code == 403


def test_queue_lists_sampled_calls_oldest_first_with_why(api, engine):
    a, b, c, d, e, f = _sample(engine)
    queue = api("sup").get("/api/v1/qa/queue").json()
    assert [(q["call_id"], q["reasons"]) for q in queue] == [(b, ["prank"]), (c, ["ghost"]), (d, ["long_answer"])]
    assert queue[0]["operator_name"] == "Test ct" and queue[2]["answer_s"] == 45.0
    # reviewed calls leave the queue
    assert api("sup").put(f"/api/v1/qa/reviews/{b}", json={"results": ALL_PASS}).status_code == 200
    assert [q["call_id"] for q in api("sup").get("/api/v1/qa/queue").json()] == [c, d]
    for who in ("ct", "disp", "admin", "damkar", "phone"):
        assert api(who).get("/api/v1/qa/queue").status_code == 403


def test_a_review_is_scored_masked_audited_and_one_per_call(api, engine):
    _a, b, _c, d, e, f = _sample(engine)
    results = {**ALL_PASS, "callback_confirmed": "fail", "instructions_given": "na"}
    r = api("sup").put(f"/api/v1/qa/reviews/{b}",
                       json={"results": results, "comment": "Tidak menelepon balik 0812-3456-7890; 3 orang."})
    assert r.status_code == 200, r.text
    review = r.json()
    assert review["score"] == 75.0  # 3 passed of 4 judged; n/a counts neither way
    assert review["comment"] == "Tidak menelepon balik ****890; 3 orang."
    assert review["sampled_for"] == ["prank"] and review["reviewer_name"] == "Test sup"
    assert review["operator_name"] == "Test ct" and review["version"] == 1
    # a second supervisor who did not see this review: 409, said in words
    r = api("sup").put(f"/api/v1/qa/reviews/{b}", json={"results": ALL_PASS}, headers={"Accept-Language": "en"})
    assert r.status_code == 409 and r.json()["code"] == "stale_version"
    assert "changed by someone else" in r.json()["title"].lower() or r.json()["title"]
    # an edit at the version seen
    r = api("sup").put(f"/api/v1/qa/reviews/{b}", json={"version": 1, "results": ALL_PASS, "comment": "ok"})
    assert r.status_code == 200 and r.json()["score"] == 100.0 and r.json()["version"] == 2
    assert api("sup").put(f"/api/v1/qa/reviews/{b}", json={"version": 1, "results": ALL_PASS}).status_code == 409
    with unit_of_work(engine) as db:
        actions = [a.action for a in db.scalars(select(AuditEntry).where(AuditEntry.entity == "call",
                                                                         AuditEntry.entity_id == str(b))
                                                     .order_by(AuditEntry.seq))]
        logged = [a.data for a in db.scalars(select(AuditEntry).where(AuditEntry.action == "qa.review.create"))]
    assert actions[-2:] == ["qa.review.create", "qa.review.update"]
    assert "0812" not in str(logged)
    # every active item needs a result; unknown items and bad results are named
    r = api("sup").put(f"/api/v1/qa/reviews/{d}", json={"results": {"greeting": "pass", "bogus": "pass"}})
    assert r.status_code == 422
    fields = {e["field"]: e["code"] for e in r.json()["errors"]}
    assert fields["body.results.bogus"] == "unknown" and fields["body.results.address_confirmed"] == "missing"
    assert api("sup").put(f"/api/v1/qa/reviews/{d}", json={"results": {**ALL_PASS, "greeting": "ok"}}
                          ).status_code == 422
    # a live call or an unanswered one cannot be reviewed; an unknown call is 404
    assert api("sup").put(f"/api/v1/qa/reviews/{e}", json={"results": ALL_PASS}).json()["code"] == \
        "call_not_reviewable"
    assert api("sup").put(f"/api/v1/qa/reviews/{f}", json={"results": ALL_PASS}).status_code == 409
    assert api("sup").put("/api/v1/qa/reviews/999999", json={"results": ALL_PASS}).status_code == 404
    assert api("sup").get(f"/api/v1/qa/reviews/{d}").status_code == 404


def test_a_retired_item_keeps_old_reviews_readable(api, engine):
    _a, b, c, _d, _e, _f = _sample(engine)
    assert api("sup").put(f"/api/v1/qa/reviews/{b}", json={"results": ALL_PASS}).status_code == 200
    item = next(i for i in api("admin").get("/api/v1/qa/checklist").json() if i["id"] == "greeting")
    assert api("admin").put("/api/v1/qa/checklist/greeting", json={"version": item["version"], "active": False}
                            ).status_code == 200
    old = api("sup").get(f"/api/v1/qa/reviews/{b}", headers={"Accept-Language": "en"}).json()
    greeting = next(x for x in old["results"] if x["item_id"] == "greeting")
    assert greeting == {"item_id": "greeting", "label": "Greeting and identification", "active": False,
                        "result": "pass"}
    # a new review needs no result for it and may not give one
    rest = {k: v for k, v in ALL_PASS.items() if k != "greeting"}
    r = api("sup").put(f"/api/v1/qa/reviews/{c}", json={"results": ALL_PASS})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "retired"
    assert api("sup").put(f"/api/v1/qa/reviews/{c}", json={"results": rest}).status_code == 200
    # editing the old review keeps the retired item's result
    r = api("sup").put(f"/api/v1/qa/reviews/{b}", json={"version": 1, "results": {**rest, "right_category": "fail"}})
    assert r.status_code == 200
    assert {x["item_id"]: x["result"] for x in r.json()["results"]}["greeting"] == "pass"


def test_call_takers_see_only_their_own_feedback_and_agencies_nothing(api, engine):
    _a, b, c, _d, _e, _f = _sample(engine)  # b was ct's call, c sup's
    for call_id in (b, c):
        assert api("sup").put(f"/api/v1/qa/reviews/{call_id}", json={"results": ALL_PASS, "comment": "Bagus"}
                              ).status_code == 200
    mine = api("ct").get("/api/v1/qa/feedback").json()
    assert [f["call_id"] for f in mine] == [b] and mine[0]["comment"] == "Bagus"
    assert api("ct").get(f"/api/v1/qa/reviews/{c}").status_code == 403
    assert api("ct").get("/api/v1/qa/reviews").status_code == 403
    for who in ("damkar", "dinkes"):
        for path in ("/api/v1/qa/feedback", "/api/v1/qa/queue", "/api/v1/qa/reviews", f"/api/v1/qa/reviews/{b}",
                     "/api/v1/qa/checklist"):
            r = api(who).get(path)
            assert r.status_code == 403 and r.json()["code"] == "forbidden", (who, path)
    assert [r["call_id"] for r in api("sup").get("/api/v1/qa/reviews?operator_id="
                                                 f"{mine[0]['operator_id']}").json()] == [b]


def test_the_period_report_carries_the_qa_figures(api, engine):
    a, b, c, d, _e, _f = _sample(engine)
    for call_id, results in ((b, {**ALL_PASS, "greeting": "fail"}), (c, ALL_PASS),
                             (a, {**ALL_PASS, "right_category": "na"})):
        assert api("sup").put(f"/api/v1/qa/reviews/{call_id}", json={"results": results}).status_code == 200
    day = (START - timedelta(days=1)).date().isoformat()
    end = (START + timedelta(days=1)).date().isoformat()
    report = api("sup").get(f"/api/v1/reports/period?from={day}&to={end}&format=json&lang=en").json()
    qa = report["qa"]
    assert qa["sample_size"] == 3 and qa["reviewed"] == 3 and qa["reviewed_sampled"] == 2
    assert qa["mean_score"] == round((80.0 + 100.0 + 100.0) / 3, 1)
    items = {i["item_id"]: i for i in qa["items"]}
    assert items["greeting"]["pass_rate"] == round(100 * 2 / 3, 1) and items["greeting"]["label"] == \
        "Greeting and identification"
    assert items["right_category"]["not_applicable"] == 1 and items["right_category"]["pass_rate"] == 100.0
    ops = {o["name"]: o for o in qa["operators"]}
    assert ops["Test ct"]["sampled"] == 2 and ops["Test ct"]["reviewed"] == 2 and ops["Test ct"]["mean_score"] == 90.0
    assert ops["Test sup"]["sampled"] == 1 and ops["Test sup"]["mean_score"] == 100.0
    html = api("sup").get(f"/api/v1/reports/period?from={day}&to={end}&format=html&lang=id").text
    assert "Tinjauan mutu" in html and "Salam &amp; identitas" in html


def test_the_pages_follow_the_same_rules(app, api, engine):
    from tests.integration.test_web_pages import browser_for

    _a, b, c, d, _e, _f = _sample(engine)
    assert api("sup").put(f"/api/v1/qa/reviews/{b}", json={"results": ALL_PASS, "comment": "Rapi"}).status_code == 200
    sup = browser_for(app, "sup")
    queue = sup.get("/qa")
    assert queue.status_code == 200 and "Tinjauan mutu" in queue.text
    assert f'id="qa-call-{c}"' in queue.text and f'id="qa-call-{d}"' in queue.text
    assert f'id="qa-call-{b}"' not in queue.text
    assert "Jawab lama" in queue.text and "Diam" in queue.text
    page = sup.get(f"/qa/call/{b}")
    assert page.status_code == 200 and 'data-version="1"' in page.text and "Rapi" in page.text
    assert sup.get("/qa/call/999999").status_code == 404 and sup.get("/qa/call/abc").status_code == 404
    mine = browser_for(app, "ct").get("/feedback")
    assert mine.status_code == 200 and f'id="feedback-{b}"' in mine.text and "Rapi" in mine.text
    assert browser_for(app, "admin").get("/qa-checklist").status_code == 200
    for user, path in (("damkar", "/qa"), ("damkar", "/feedback"), ("damkar", f"/qa/call/{b}"), ("ct", "/qa"),
                       ("disp", "/qa"), ("sup", "/qa-checklist"), ("sup", "/feedback"), ("admin", "/qa")):
        r = browser_for(app, user).get(path)
        assert r.status_code == 403, (user, path, r.status_code)
        assert "Rapi" not in r.text


def test_the_database_draws_the_sample_as_python_does(engine):
    """The queue and the report let the database apply the rule: its integer arithmetic must give Python's
    draw for every id, the largest ones too (a product over 2^63 would overflow, or turn into a float on
    SQLite)."""
    import random

    from sqlalchemy import BigInteger, literal

    from siaga.domains.quality.sampling import P, draw, draw_sql

    rng = random.Random(17)
    ids = [*range(1, 120), P - 1, P, P + 1, 2 * P - 1, 2**31, 2**32 + 5, 2**53 - 1,
           *(rng.randrange(1, 2**53) for _ in range(200))]
    with unit_of_work(engine) as db:
        got = list(db.execute(select(*[draw_sql(literal(i, BigInteger)) for i in ids])).one())
    assert got == [draw(i) for i in ids]


def test_the_queue_and_the_report_agree_with_the_rule_call_by_call(api, app, engine, settings):
    """400 calls of random outcomes and answer times (some exactly on the threshold): the calls the database
    puts in the queue and counts in the report are those sample_reasons names, for a 20 % share."""
    import random

    from siaga.domains.quality.sampling import sample_reasons

    rng = random.Random(5)
    specs = []
    for n in range(400):
        answer = rng.choice([3, 19.999, 20, 20.001, 45, rng.uniform(0, 40)])
        outcome = rng.choice(["emergency", "emergency", "information", "prank", "ghost", "wrong_number", "test"])
        specs.append((20_000 + n * 7, 600 - n, answer, outcome, rng.choice(["ct", "sup"]), "ended"))
    _calls(engine, specs)
    rule = SampleRule(20.0, 20.0)
    expected = [s[0] for s in specs if sample_reasons(s[0], s[3], round(float(s[2]), 3), rule)]
    assert 100 < len(expected) < 300
    app.state.settings = settings.model_copy(update={"qa_sample_percent": 20.0, "qa_long_answer_seconds": 20.0})
    queue = api("sup").get("/api/v1/qa/queue").json()
    assert [q["call_id"] for q in queue] == expected
    assert all(q["reasons"] == sample_reasons(q["call_id"], q["outcome"], round(float(
        next(s[2] for s in specs if s[0] == q["call_id"])), 3), rule) for q in queue)
    day = (START - timedelta(days=1)).date().isoformat()
    end = (START + timedelta(days=1)).date().isoformat()
    report = api("sup").get(f"/api/v1/reports/period?from={day}&to={end}&format=json").json()
    assert report["qa"]["sample_size"] == len(expected)


def test_simulated_calls_are_never_sampled(api, engine):
    (sim,) = _ids_not_random(1, start=30_000)
    _calls(engine, [(sim, 15, 50, "prank", "ct", "ended")])
    with unit_of_work(engine) as db:
        db.get(Call, sim).simulated = True
    assert sim not in [q["call_id"] for q in api("sup").get("/api/v1/qa/queue").json()]
    day = (START - timedelta(days=1)).date().isoformat()
    end = (START + timedelta(days=1)).date().isoformat()
    assert api("sup").get(f"/api/v1/reports/period?from={day}&to={end}").json()["qa"]["sample_size"] == 0
    with_sim = api("sup").get(f"/api/v1/reports/period?from={day}&to={end}&include_simulated=true").json()
    assert with_sim["qa"]["sample_size"] == 1
