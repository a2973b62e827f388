"""Correcting an incident after it was created (issue #15): PATCH with the version seen; one timeline entry
per kind of change, in the reader's language; a stale version is a 409 saying who corrected what; bad input is
refused as problem+json and changes nothing; the response plan follows the correction (agencies already sent
stay, the missing ones are offered) and says which of the caller's answers brought which agency."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from siaga.db.engine import unit_of_work
from siaga.events.models import Event
from tests.conftest import ids

CRASH = {"category_code": "kecelakaan_lalu_lintas", "priority": 3, "lat": 1.468, "lon": 102.103,
         "kode_wilayah": "14.03.01.1001", "address_text": "Jl. Ahmad Yani", "description": "Motor jatuh"}


def create(api, **fields) -> dict:  # type: ignore[no-untyped-def]
    r = api("ct").post("/api/v1/incidents", json={**CRASH, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def patch(api, incident: dict, who: str = "ct", **fields):  # type: ignore[no-untyped-def]
    return api(who).patch(f"/api/v1/incidents/{incident['id']}", json={"version": incident["version"], **fields})


def timeline(api, incident: dict, lang: str = "id") -> list[dict]:  # type: ignore[no-untyped-def]
    r = api("disp").get(f"/api/v1/incidents/{incident['id']}/timeline", headers={"Accept-Language": lang})
    assert r.status_code == 200, r.text
    return r.json()


def proposal(api, incident: dict, lang: str = "id") -> dict:  # type: ignore[no-untyped-def]
    r = api("disp").get(f"/api/v1/incidents/{incident['id']}/proposal", headers={"Accept-Language": lang})
    assert r.status_code == 200, r.text
    return r.json()


def test_each_correction_is_a_timeline_entry_in_the_readers_language(api):
    incident = create(api)
    r = patch(api, incident, category_code="kebakaran", subcategory_code="kebakaran.bangunan", priority=1,
              address_text="Jl. Sudirman 12", description="Ruko terbakar, bukan kecelakaan")
    assert r.status_code == 200, r.text
    assert r.json()["version"] == incident["version"] + 1
    assert r.json()["category_code"] == "kebakaran" and r.json()["priority"] == 1
    corrected = [e for e in timeline(api, incident) if e["kind"] == "corrected"]
    assert [e["data"]["field"] for e in corrected] == ["category", "priority", "location", "description"]
    texts = [e["text"] for e in corrected]
    assert texts[0] == "Kategori dikoreksi: Kecelakaan lalu lintas → Kebakaran — Kebakaran bangunan / rumah"
    assert texts[1] == "Prioritas dikoreksi: P3 → P1"
    assert texts[2].startswith("Lokasi dikoreksi: Jl. Ahmad Yani;") and "→ Jl. Sudirman 12;" in texts[2]
    assert texts[3] == "Uraian dikoreksi — Ruko terbakar, bukan kecelakaan"
    english = [e["text"] for e in timeline(api, incident, "en") if e["kind"] == "corrected"]
    assert english[0] == "Category corrected: Traffic accident → Fire — Building / house fire"
    assert english[1] == "Priority corrected: P3 → P1"
    assert all(e["actor"] == "Test ct" and e["code"].startswith("timeline.corrected_") for e in corrected)


def test_a_stale_version_is_a_409_naming_who_corrected_what_and_nothing_is_overwritten(api):
    incident = create(api)
    assert patch(api, incident, "disp", priority=1, address_text="Jl. Sudirman").status_code == 200
    stale = patch(api, incident, description="punya saya")
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")
    body = stale.json()
    assert body["code"] == "stale_version"
    assert body["params"]["changed_by"] == "Test disp"
    assert body["params"]["changed"] == "priority,location"
    assert body["params"]["current"] == incident["version"] + 1
    now = api("ct").get(f"/api/v1/incidents/{incident['id']}").json()
    assert now["description"] == "Motor jatuh" and now["priority"] == 1


@pytest.mark.parametrize(("fields", "field"), [
    ({"category_code": "kapal_terbang"}, "body.category_code"),
    ({"subcategory_code": "medis.pingsan"}, "body.subcategory_code"),
    ({"priority": 9}, "body.priority"),
    ({"priority": None}, "body"),
    ({"kode_wilayah": "14.03.99"}, "body.kode_wilayah"),
    ({"lat": 1.5, "lon": None}, "body.lat"),  # half a position
    ({"lat": -6.2, "lon": 106.8}, "body.lat"),  # Jakarta: outside the regency served
    ({"answers": {"kll.jumlah_korban": "seratus"}}, "body.answers.kll.jumlah_korban"),
    ({"answers": {"medis.sadar": False}}, "body.answers.medis.sadar"),  # another category's question
    ({"colour": "red"}, "body.colour"),
])
def test_bad_corrections_are_refused_as_problem_json_and_change_nothing(api, fields, field):
    incident = create(api)
    r = patch(api, incident, **fields)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]
    after = api("ct").get(f"/api/v1/incidents/{incident['id']}").json()
    assert after["version"] == incident["version"] and after["category_code"] == CRASH["category_code"]
    assert [e["kind"] for e in timeline(api, incident)] == ["created"]


def test_nothing_changed_writes_nothing(api):
    incident = create(api)
    r = patch(api, incident, priority=3, description="Motor jatuh")
    assert r.status_code == 200 and r.json()["version"] == incident["version"]
    assert [e["kind"] for e in timeline(api, incident)] == ["created"]


def test_the_correction_reaches_other_consoles_as_an_event(api, engine):
    agencies = ids(api, "/api/v1/agencies")
    incident = create(api)
    sent = api("disp").post(f"/api/v1/incidents/{incident['id']}/assignments", json={"agency_id": agencies["DISHUB"]})
    assert sent.status_code == 201, sent.text
    r = patch(api, sent.json(), "disp", priority=2)
    assert r.status_code == 200, r.text
    with unit_of_work(engine) as db:
        events = db.scalars(select(Event).where(Event.entity.in_(("incident", "timeline"))).order_by(Event.id)).all()
        last = [(e.kind, e.audience, e.payload) for e in events[-2:]]
    (entry_kind, entry_audience, entry), (kind, audience, payload) = last
    assert entry_kind == "timeline.added" and entry["text"] == "Prioritas dikoreksi: P3 → P2"
    assert kind == "incident.updated" and payload["priority"] == 2
    assert agencies["DISHUB"] in audience["agencies"] and agencies["DISHUB"] in entry_audience["agencies"]


def test_an_injured_caller_brings_health_with_the_reason_in_words(api):
    """The motorbike crash: one person hurt. No subcategory picked; the answer alone brings Dinkes and Polres,
    and the proposal says which answer did."""
    incident = create(api, answers={"kll.jumlah_korban": "satu"})
    p = proposal(api, incident)
    by_code = {a["code"]: a for a in p["agencies"]}
    assert set(by_code) == {"DISHUB", "SATPOLPP", "DINKES", "POLRES"}
    assert by_code["DINKES"]["reasons"] == [
        "karena jawaban: Berapa orang korban? 1 orang (aturan 'Kecelakaan, 1 korban → + Dinkes + Polres')"]
    assert by_code["DISHUB"]["reasons"] == ["aturan 'Kecelakaan lalu lintas → Dishub + Satpol PP'"]
    english = {a["code"]: a for a in proposal(api, incident, "en")["agencies"]}
    assert english["DINKES"]["reasons"] == [
        "because of the answer: How many people are hurt? 1 person (rule 'Kecelakaan, 1 korban → + Dinkes + Polres')"]


def test_corrected_answers_re_propose_keeping_the_agencies_sent_and_offering_the_missing(api):
    agencies = ids(api, "/api/v1/agencies")
    incident = create(api, answers={"kll.jumlah_korban": "tidak_ada"})
    assert set(proposal(api, incident)["missing_agency_ids"]) == {agencies["DISHUB"], agencies["SATPOLPP"]}
    sent = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                            json={"agency_ids": [agencies["DISHUB"], agencies["SATPOLPP"]]})
    assert sent.status_code == 200, sent.text
    r = patch(api, sent.json(), "disp", answers={"kll.jumlah_korban": "satu", "kll.terjepit": True})
    assert r.status_code == 200, r.text
    assert r.json()["priority"] == 1  # a trapped victim raises the priority (answers never lower it)
    assert {a["agency_id"] for a in r.json()["assignments"]} == {agencies["DISHUB"], agencies["SATPOLPP"]}
    p = proposal(api, r.json())
    states = {a["code"]: a["assignment_state"] for a in p["agencies"]}
    assert states["DISHUB"] == "notified" and states["SATPOLPP"] == "notified"  # sent ones stay
    assert set(p["missing_agency_ids"]) == {agencies["DINKES"], agencies["POLRES"], agencies["DAMKAR"]}
    entries = timeline(api, incident)
    answers = [e for e in entries if e["kind"] == "guided_answers"][-1]
    assert answers["text"].startswith("Jawaban panduan dikoreksi:\n- Berapa orang korban? 1 orang")
    assert [e["data"]["field"] for e in entries if e["kind"] == "corrected"] == ["priority"]
    # one action sends the missing ones; those sent earlier are left as they were
    done = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                            json={"agency_ids": p["missing_agency_ids"]})
    assert done.status_code == 200, done.text
    assert proposal(api, done.json())["missing_agency_ids"] == []


def test_a_new_category_drops_the_old_answers(api):
    incident = create(api, answers={"kll.jumlah_korban": "satu"})
    r = patch(api, incident, category_code="medis")
    assert r.status_code == 200, r.text
    got = api("ct").get(f"/api/v1/incidents/{incident['id']}").json()
    assert got["answers"] == {}
    assert timeline(api, incident, "en")[-1]["text"] == "Guided answers removed (the old category's questions)"
