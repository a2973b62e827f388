"""A phone number typed into free text — an incident's description, a timeline note, an agency's reason —
reaches a reader without `numbers.reveal` (dispatcher, administrator, agency operator) masked, as the
structured caller number does: in the REST API, the snapshot and the event stream alike. Call-takers and
supervisors read it whole. What is stored stays whole, even after a masked reader edits the text."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from siaga.db.engine import unit_of_work
from siaga.domains.incidents.models import Incident, SearchSector
from tests.conftest import token_for
from tests.sse import SSEClient

TYPED = "api di dapur, hubungi Pak Budi 0812-7777-1234 atau kantor (0766) 21234, 3 orang, pukul 14:30"
MASKED = "api di dapur, hubungi Pak Budi ****234 atau kantor ****234, 3 orang, pukul 14:30"
NOTE = "keluarga minta ditelepon di +62 813 5555 6789"
NOTE_MASKED = "keluarga minta ditelepon di ****789"


def _incident_with_free_text(api) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "description": TYPED}).json()
    damkar = next(a for a in api("admin").get("/api/v1/agencies").json() if a["code"] == "DAMKAR")
    r = api("disp").post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": damkar["id"]})
    assert r.status_code == 201, r.text
    note = api("ct").post(f"/api/v1/incidents/{inc['id']}/notes", json={"text": NOTE})
    assert note.status_code == 201, note.text
    return inc, note.json()


def test_free_text_is_masked_for_readers_without_numbers_reveal(api):
    inc, note = _incident_with_free_text(api)
    assert note["note"] == NOTE  # the call-taker who wrote it reads it back whole
    for who, description, typed in (("ct", TYPED, NOTE), ("sup", TYPED, NOTE), ("disp", MASKED, NOTE_MASKED),
                                    ("admin", MASKED, NOTE_MASKED), ("damkar", MASKED, NOTE_MASKED)):
        assert api(who).get(f"/api/v1/incidents/{inc['id']}").json()["description"] == description, who
        listed = {i["id"]: i for i in api(who).get("/api/v1/incidents").json()}
        assert listed[inc["id"]]["description"] == description, who
        snapshot = api(who).get("/api/v1/snapshot").json()
        assert snapshot["incidents"][str(inc["id"])]["description"] == description, who
        entries = api(who).get(f"/api/v1/incidents/{inc['id']}/timeline").json()
        noted = next(e for e in entries if e["id"] == note["id"])
        assert noted["note"] == typed and typed in noted["text"], who
        assert "7777" not in str(entries) or description == TYPED, who
    # The incident page's timeline fragment follows the same rule.
    for who, shown, hidden in (("damkar", "****789", "5555"), ("disp", "****789", "5555"), ("sup", "5555", None)):
        page = api(who).get(f"/incident/{inc['id']}/timeline")
        assert page.status_code == 200 and shown in page.text, who
        assert hidden is None or hidden not in page.text, who
    # An agency operator's own note with a number is masked in what they get back, too.
    own = api("damkar").post(f"/api/v1/incidents/{inc['id']}/notes", json={"text": "pelapor 081399998888"})
    assert own.status_code == 201 and own.json()["note"] == "pelapor ****888"


def test_a_masked_reader_who_edits_the_description_keeps_the_stored_numbers(api, engine):
    inc, _ = _incident_with_free_text(api)
    shown = api("disp").get(f"/api/v1/incidents/{inc['id']}").json()
    r = api("disp").patch(f"/api/v1/incidents/{inc['id']}",
                          json={"version": shown["version"], "description": shown["description"] + ", lantai 2"})
    assert r.status_code == 200, r.text
    assert r.json()["description"] == MASKED + ", lantai 2"
    with unit_of_work(engine, write=False) as db:
        stored = db.scalar(select(Incident.description).where(Incident.id == inc["id"]))
    assert stored == TYPED + ", lantai 2"
    assert api("sup").get(f"/api/v1/incidents/{inc['id']}").json()["description"] == TYPED + ", lantai 2"


def test_the_event_stream_masks_free_text_as_the_rest_api_does(live_server, api):
    def post(who: str, path: str, body: dict) -> httpx.Response:
        return httpx.post(live_server + path, json=body, headers={"Authorization": f"Bearer {token_for(who)}"},
                          timeout=10)

    with SSEClient(live_server, token_for("disp")) as disp, SSEClient(live_server, token_for("sup")) as sup:
        inc = post("ct", "/api/v1/incidents", {"category_code": "kebakaran", "description": TYPED}).json()
        created = lambda e: e.event == "incident.created" and e.data["entity_id"] == inc["id"]  # noqa: E731
        assert disp.until(created).data["payload"]["description"] == MASKED
        assert sup.until(created).data["payload"]["description"] == TYPED
        post("ct", f"/api/v1/incidents/{inc['id']}/notes", {"text": NOTE})
        noted = lambda e: e.event == "timeline.added" and e.data["payload"].get("note")  # noqa: E731
        assert disp.until(noted).data["payload"]["note"] == NOTE_MASKED
        assert sup.until(noted).data["payload"]["note"] == NOTE


def test_a_sector_note_is_masked_and_an_agency_edit_keeps_its_number(api, engine):
    inc, _ = _incident_with_free_text(api)
    square = [[1.2900, 101.1900], [1.2900, 101.2000], [1.2800, 101.2000], [1.2800, 101.1900]]
    sector = api("disp").post(f"/api/v1/incidents/{inc['id']}/sectors", json={"name": "Sektor A", "polygon": square})
    assert sector.status_code == 201, sector.text
    s = api("sup").patch(f"/api/v1/sectors/{sector.json()['id']}",
                         json={"version": sector.json()["version"], "note": NOTE})
    assert s.status_code == 200 and s.json()["note"] == NOTE, s.text
    shown = api("damkar").get(f"/api/v1/incidents/{inc['id']}/sectors").json()[0]
    assert shown["note"] == NOTE_MASKED
    assert api("damkar").get(f"/api/v1/incidents/{inc['id']}").json()["sectors"][0]["note"] == NOTE_MASKED
    r = api("damkar").patch(f"/api/v1/sectors/{shown['id']}",
                            json={"version": shown["version"], "note": shown["note"] + ", sudah dicek"})
    assert r.status_code == 200 and r.json()["note"] == NOTE_MASKED + ", sudah dicek", r.text
    with unit_of_work(engine, write=False) as db:
        assert db.scalar(select(SearchSector.note).where(SearchSector.id == shown["id"])) == NOTE + ", sudah dicek"
