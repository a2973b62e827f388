"""Incidents through the JSON API: creation, validation errors, idempotency, conflicts, lifecycle."""

from __future__ import annotations

import pytest

from tests.conftest import ids

NEW_FIRE = {"category_code": "kebakaran", "subcategory_code": "kebakaran.bangunan", "priority": 1,
            "lat": 1.468, "lon": 102.103, "kode_wilayah": "14.03.01.1001", "address_text": "Jl. Ahmad Yani",
            "patokan": "dekat Masjid Agung", "description": "Rumah terbakar"}


def create(api, who="ct", body=None, **headers):  # type: ignore[no-untyped-def]
    return api(who).post("/api/v1/incidents", json=body or NEW_FIRE, headers=headers)


def test_call_taker_creates_incident_with_readable_number_and_timeline(api):
    r = create(api)
    assert r.status_code == 201, r.text
    inc = r.json()
    assert inc["number"] == "BKS-2026-000001"
    assert inc["status"] == "new" and inc["priority"] == 1 and inc["version"] == 1
    assert create(api).json()["number"] == "BKS-2026-000002"
    timeline = api("ct").get(f"/api/v1/incidents/{inc['id']}/timeline").json()
    assert [e["kind"] for e in timeline] == ["created"]
    assert timeline[0]["actor"] == "Test ct"


def test_priority_defaults_from_category(api):
    body = {k: v for k, v in NEW_FIRE.items() if k != "priority"}
    body["category_code"], body["subcategory_code"] = "lainnya", None
    r = create(api, body=body)
    assert r.status_code == 201, r.text
    lainnya = next(c for c in api("ct").get("/api/v1/categories").json() if c["code"] == "lainnya")
    assert r.json()["priority"] == lainnya["default_priority"]


@pytest.mark.parametrize("patch, field", [
    ({"category_code": "no_such_category"}, "body.category_code"),
    ({"subcategory_code": "medis.henti_jantung"}, "body.subcategory_code"),
    ({"kode_wilayah": "99.99"}, "body.kode_wilayah"),
    ({"lat": 95.0}, "body.lat"),
    ({"priority": 9}, "body.priority"),
    ({"unexpected": 1}, "body.unexpected"),
])
def test_bad_incident_gets_problem_json_naming_the_field_and_stores_nothing(api, patch, field):
    r = create(api, body={**NEW_FIRE, **patch})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 422 and problem["title"]
    assert field in [e["field"] for e in problem["errors"]]
    assert api("ct").get("/api/v1/incidents").json() == []


def test_problem_title_follows_accept_language(api):
    r = api("ct").post("/api/v1/incidents", json={**NEW_FIRE, "priority": 9}, headers={"Accept-Language": "en"})
    assert r.json()["title"] == "The submitted data is not valid"
    r = api("ct").post("/api/v1/incidents", json={**NEW_FIRE, "priority": 9})
    assert r.json()["title"] == "Data yang dikirim tidak valid"


def test_idempotency_key_retry_creates_nothing_new(api):
    first = create(api, **{"Idempotency-Key": "call-77-create"})
    again = create(api, **{"Idempotency-Key": "call-77-create"})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert len(api("ct").get("/api/v1/incidents").json()) == 1


def test_idempotency_key_reused_for_another_body_is_refused(api):
    assert create(api, **{"Idempotency-Key": "k1"}).status_code == 201
    r = create(api, body={**NEW_FIRE, "description": "other"}, **{"Idempotency-Key": "k1"})
    assert r.status_code == 422 and r.json()["code"] == "idempotency_mismatch"
    assert len(api("ct").get("/api/v1/incidents").json()) == 1


def test_idempotency_keys_are_per_user(api):
    assert create(api, "ct", **{"Idempotency-Key": "same"}).status_code == 201
    assert create(api, "disp", **{"Idempotency-Key": "same"}).status_code == 201
    assert len(api("ct").get("/api/v1/incidents").json()) == 2


def test_stale_version_edit_gets_409_and_does_not_overwrite(api):
    inc = create(api).json()
    ok = api("disp").patch(f"/api/v1/incidents/{inc['id']}", json={"version": 1, "priority": 2})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = api("ct").patch(f"/api/v1/incidents/{inc['id']}", json={"version": 1, "description": "mine"})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    now = api("ct").get(f"/api/v1/incidents/{inc['id']}").json()
    assert now["priority"] == 2 and now["description"] == "Rumah terbakar"


def test_get_incident_has_etag_of_version(api):
    inc = create(api).json()
    r = api("ct").get(f"/api/v1/incidents/{inc['id']}")
    assert r.headers["etag"] == '"1"'


def test_recategorising_drops_subcategory_of_old_category(api):
    inc = create(api).json()
    r = api("disp").patch(f"/api/v1/incidents/{inc['id']}", json={"version": 1, "category_code": "medis"})
    assert r.status_code == 200, r.text
    assert r.json()["category_code"] == "medis" and r.json()["subcategory_code"] is None


def test_full_lifecycle_resolving_stands_the_agency_down_and_closing_needs_a_note(api):
    agencies = ids(api, "/api/v1/agencies")
    inc = create(api).json()
    r = api("disp").post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": agencies["DAMKAR"]})
    assert r.status_code == 201, r.text
    assignment = r.json()["assignments"][0]
    assert assignment["state"] == "notified"
    pumper = next(u for u in api("damkar").get("/api/v1/units").json() if u["type"] == "pumper")
    r = api("damkar").post(f"/api/v1/assignments/{assignment['id']}/units", json={"unit_id": pumper["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dispatched"
    assert r.json()["assignments"][0]["state"] == "units_assigned"
    unit = api("damkar").get(f"/api/v1/units/{pumper['id']}").json()
    assert unit["status"] == "assigned"
    for status in ("en_route", "on_scene"):
        unit = api("damkar").post(f"/api/v1/units/{pumper['id']}/status",
                                  json={"status": status, "version": unit["version"]}).json()
        assert unit["status"] == status
    inc_now = api("disp").get(f"/api/v1/incidents/{inc['id']}").json()
    assert inc_now["status"] == "on_scene"
    ua = inc_now["assignments"][0]["units"][0]
    assert ua["dispatched_at"] and ua["en_route_at"] and ua["on_scene_at"]
    resolve = api("disp").post(f"/api/v1/incidents/{inc['id']}/status",
                               json={"status": "resolved", "version": inc_now["version"]})
    assert resolve.status_code == 200, resolve.text
    version = resolve.json()["version"]
    # Resolving stood the agency down (its unit on scene returns): there is nothing left for it to clear.
    a = api("damkar").get(f"/api/v1/incidents/{inc['id']}").json()["assignments"][0]
    assert a["state"] == "stood_down" and a["stood_down_at"] and a["due_step"] is None
    assert api("damkar").get(f"/api/v1/units/{pumper['id']}").json()["status"] == "returning"
    cleared = api("damkar").post(f"/api/v1/assignments/{a['id']}/state",
                                 json={"state": "cleared", "version": a["version"], "reason": "api padam"})
    assert cleared.status_code == 409 and cleared.json()["code"] == "invalid_transition"
    no_note = api("disp").post(f"/api/v1/incidents/{inc['id']}/status",
                               json={"status": "closed", "version": version})
    assert no_note.status_code == 422 and no_note.json()["errors"][0]["field"] == "body.note"
    closed = api("disp").post(f"/api/v1/incidents/{inc['id']}/status",
                              json={"status": "closed", "version": version, "note": "Api padam, 1 rumah"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert api("disp").get("/api/v1/incidents").json() == []
    assert len(api("disp").get("/api/v1/incidents?all=true").json()) == 1


def test_invalid_status_move_is_a_409_naming_both_states(api):
    inc = create(api).json()
    r = api("disp").post(f"/api/v1/incidents/{inc['id']}/status", json={"status": "closed", "version": 1,
                                                                         "note": "x"})
    assert r.status_code == 409
    assert r.json()["params"] == {"current": "new", "target": "closed"}


def test_unknown_incident_is_404_problem(api):
    r = api("ct").get("/api/v1/incidents/999999")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_malformed_json_is_a_422_problem_not_a_crash(api):
    r = api("ct").post("/api/v1/incidents", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"


def test_notes_and_call_linking_appear_on_the_timeline(api):
    inc = create(api).json()
    call = api("ct").post("/api/v1/calls", json={"caller_number": "081200000001"}).json()
    r = api("ct").post(f"/api/v1/incidents/{inc['id']}/calls", json={"call_id": call["id"]})
    assert r.status_code == 200 and r.json()["call_ids"] == [call["id"]]
    assert api("ct").get(f"/api/v1/calls/{call['id']}").json()["outcome"] == "emergency"
    note = api("ct").post(f"/api/v1/incidents/{inc['id']}/notes", json={"text": "Korban di lantai 2"})
    assert note.status_code == 201
    kinds = [e["kind"] for e in api("ct").get(f"/api/v1/incidents/{inc['id']}/timeline").json()]
    assert kinds == ["created", "call_linked", "note"]


def test_incident_created_from_a_call_links_it(api):
    call = api("ct").post("/api/v1/calls", json={"caller_number": "081200000002"}).json()
    inc = create(api, body={**NEW_FIRE, "call_id": call["id"]}).json()
    assert inc["call_ids"] == [call["id"]]
    again = create(api, body={**NEW_FIRE, "call_id": call["id"]})
    assert again.status_code == 409


def test_nul_characters_are_refused_alike_on_both_databases(api):
    r = api("ct").post("/api/v1/incidents", json={**NEW_FIRE, "description": "api\x00padam"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "nul"
    r = api("ct").get("/api/v1/calls", params={"caller_number": "08\x0012"})
    assert r.status_code == 422
    assert api("ct").get("/api/v1/incidents").json() == []


def test_a_huge_body_is_refused_with_413_and_nothing_stored(api):
    r = api("ct").post("/api/v1/incidents", json={**NEW_FIRE, "description": "x" * (2 * 1024 * 1024)})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    assert api("ct").get("/api/v1/incidents").json() == []


def test_admin_adds_a_subcategory_and_call_takers_can_use_it(api):
    r = api("admin").post("/api/v1/categories", json={
        "code": "bencana_alam.abrasi", "parent_code": "bencana_alam", "name_id": "Abrasi pantai",
        "name_en": "Coastal erosion", "default_priority": 3})
    assert r.status_code == 201, r.text
    inc = create(api, body={"category_code": "bencana_alam", "subcategory_code": "bencana_alam.abrasi"})
    assert inc.status_code == 201 and inc.json()["priority"] == 2  # the category's default, not the sub's
    bad = api("admin").post("/api/v1/categories", json={
        "code": "medis.abrasi", "parent_code": "bencana_alam", "name_id": "Xx", "name_en": "Xx"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.code"
    dup = api("admin").post("/api/v1/categories", json={"code": "medis", "name_id": "Medis", "name_en": "Medical"})
    assert dup.status_code == 409
    assert api("ct").post("/api/v1/categories", json={"code": "x", "name_id": "xx", "name_en": "xx"}).status_code == 403


def test_a_field_over_its_limit_is_refused_naming_the_field_and_the_limit(api):
    r = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "description": "x" * 5001})
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert (error["field"], error["code"], error["limit"]) == ("body.description", "string_too_long", 5000)
    r = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "priority": 9})
    assert r.json()["errors"][0]["limit"] == 4


def test_field_errors_speak_the_readers_language(api):
    body = {"category_code": "kebakaran", "description": "x" * 5001}
    indonesian = api("ct").post("/api/v1/incidents", json=body, headers={"Accept-Language": "id"}).json()
    english = api("ct").post("/api/v1/incidents", json=body, headers={"Accept-Language": "en"}).json()
    assert indonesian["errors"][0]["message"] == "Terlalu panjang: paling banyak 5000 karakter"
    assert english["errors"][0]["message"] == "Too long: at most 5000 characters"
    assert indonesian["title"] != english["title"]
