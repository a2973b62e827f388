"""Search sectors (the Bathin Solapan case): several agencies' teams search one area split into sectors drawn
on the incident's map. Anyone who may write in the incident's shared log draws and updates sectors; every
change is in the timeline and reaches every console following the incident, with the incident itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from siaga.db.engine import unit_of_work
from siaga.events.models import Event
from tests.conftest import token_for
from tests.sse import SSEClient

# A plantation block north of Bathin Solapan (Pinggir), about 1.1 km × 1.1 km.
SQUARE = [[1.2900, 101.1900], [1.2900, 101.2000], [1.2800, 101.2000], [1.2800, 101.1900]]


def agency_ids(api) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {a["code"]: a["id"] for a in api("admin").get("/api/v1/agencies").json()}


def missing_person(api, *agencies: str) -> dict:  # type: ignore[no-untyped-def]
    r = api("ct").post("/api/v1/incidents", json={
        "category_code": "orang_hilang", "subcategory_code": "orang_hilang.anak", "lat": 1.285, "lon": 101.195,
        "description": "Anak 7 tahun hilang di kebun sawit"})
    assert r.status_code == 201, r.text
    incident = r.json()
    if agencies:
        ids = agency_ids(api)
        r = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                             json={"agency_ids": [ids[c] for c in agencies]})
        assert r.status_code == 200, r.text
        incident = r.json()
    return incident


def team(api, incident: dict, code: str) -> int:  # type: ignore[no-untyped-def]
    agency_id = agency_ids(api)[code]
    return next(a["id"] for a in incident["assignments"] if a["agency_id"] == agency_id)


def draw(api, incident: dict, who: str = "disp", **fields) -> dict:  # type: ignore[no-untyped-def]
    body = {"name": "Sektor A — kebun sawit utara", "polygon": SQUARE, **fields}
    r = api(who).post(f"/api/v1/incidents/{incident['id']}/sectors", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def patch(api, sector: dict, who: str = "disp", **fields):  # type: ignore[no-untyped-def]
    return api(who).patch(f"/api/v1/sectors/{sector['id']}", json={"version": sector["version"], **fields})


def timeline_texts(api, incident: dict) -> list[str]:  # type: ignore[no-untyped-def]
    entries = api("disp").get(f"/api/v1/incidents/{incident['id']}/timeline").json()
    return [e["text"] for e in entries if e["kind"] == "sector"]


def field_error(r) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    errors = r.json()["errors"]
    return errors[0]["field"], errors[0]["code"]


def test_a_sector_is_drawn_searched_and_cleared_in_the_shared_log(api):
    incident = missing_person(api, "DAMKAR", "DINKES")
    damkar = team(api, incident, "DAMKAR")
    sector = draw(api, incident, assignment_id=damkar)
    assert sector["status"] == "open" and sector["version"] == 1 and sector["assignment_id"] == damkar
    assert sector["polygon"] == SQUARE
    assert 1.1e6 < sector["area_m2"] < 1.3e6  # ~1.11 km × 1.11 km
    shown = api("damkar").get(f"/api/v1/incidents/{incident['id']}").json()
    assert [s["id"] for s in shown["sectors"]] == [sector["id"]]
    assert api("dinkes").get(f"/api/v1/incidents/{incident['id']}/sectors").json()[0]["name"] == sector["name"]

    r = patch(api, sector, "damkar", status="searching")
    assert r.status_code == 200, r.text
    searching = r.json()
    assert searching["status"] == "searching" and searching["version"] == 2
    r = patch(api, searching, "damkar", status="cleared", note="tidak ditemukan")
    assert r.status_code == 200, r.text
    cleared = r.json()
    assert cleared["status"] == "cleared" and cleared["note"] == "tidak ditemukan"
    r = patch(api, cleared, "dinkes", status="open", note="jejak baru di parit")  # another team writes too
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["note"] == "jejak baru di parit"
    again = patch(api, patch(api, r.json(), "damkar", status="searching").json(), "damkar", status="cleared",
                  note="tidak ditemukan lagi").json()
    r = patch(api, again, "disp", status="open")
    assert r.json()["note"] == ""  # reopened without a note: the old finding no longer holds (the timeline has it)

    texts = timeline_texts(api, incident)
    assert texts[0].startswith("Sektor A — kebun sawit utara: sektor baru (") and texts[0].endswith("ha), tim Damkar")
    assert texts[1:] == ["Sektor A — kebun sawit utara: dicari oleh Damkar",
                         "Sektor A — kebun sawit utara: bersih — tidak ditemukan",
                         "Sektor A — kebun sawit utara: dibuka lagi — jejak baru di parit",
                         "Sektor A — kebun sawit utara: dicari oleh Damkar",
                         "Sektor A — kebun sawit utara: bersih — tidak ditemukan lagi",
                         "Sektor A — kebun sawit utara: dibuka lagi"]
    actors = [e["actor"] for e in api("disp").get(f"/api/v1/incidents/{incident['id']}/timeline").json()
              if e["kind"] == "sector"]
    assert actors == ["Test disp", "Test damkar", "Test damkar", "Test dinkes", "Test damkar", "Test damkar",
                      "Test disp"]


def test_call_takers_and_supervisors_draw_too_and_the_team_can_change(api):
    incident = missing_person(api, "DAMKAR", "DINKES")
    sector = draw(api, incident, "ct", name="Sektor B")
    assert sector["assignment_id"] is None
    r = patch(api, sector, "sup", assignment_id=team(api, incident, "DINKES"), name="Sektor B — rawa")
    assert r.status_code == 200, r.text
    moved = r.json()
    r = patch(api, moved, "sup", assignment_id=None)
    assert r.status_code == 200 and r.json()["assignment_id"] is None
    assert timeline_texts(api, incident)[1:] == ["Sektor B — rawa: tim Dinkes / PSC 119; nama sebelumnya Sektor B",
                                                 "Sektor B — rawa: tim dilepas"]
    assert api("admin").post(f"/api/v1/incidents/{incident['id']}/sectors",
                             json={"name": "X", "polygon": SQUARE}).status_code == 403


def test_an_agency_operator_who_starts_an_unassigned_sector_takes_it_for_their_team(api):
    incident = missing_person(api, "DAMKAR")
    sector = draw(api, incident, "damkar")
    r = patch(api, sector, "damkar", status="searching")
    assert r.status_code == 200
    assert r.json()["assignment_id"] == team(api, incident, "DAMKAR")
    assert timeline_texts(api, incident)[-1] == "Sektor A — kebun sawit utara: dicari oleh Damkar"


def test_an_agency_not_on_the_incident_gets_404(api):
    incident = missing_person(api, "DAMKAR")
    sector = draw(api, incident)
    assert api("dinkes").post(f"/api/v1/incidents/{incident['id']}/sectors",
                              json={"name": "Sektor Z", "polygon": SQUARE}).status_code == 404
    r = patch(api, sector, "dinkes", status="searching")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert api("dinkes").get(f"/api/v1/incidents/{incident['id']}/sectors").status_code == 404
    assert api("disp").patch("/api/v1/sectors/999999", json={"version": 1}).status_code == 404
    assert api("disp").get(f"/api/v1/incidents/{incident['id']}").json()["sectors"][0]["version"] == 1


def test_the_team_must_be_an_assignment_of_the_same_incident(api):
    incident = missing_person(api, "DAMKAR")
    elsewhere = missing_person(api, "DINKES")
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/sectors", json={
        "name": "Sektor A", "polygon": SQUARE, "assignment_id": team(api, elsewhere, "DINKES")})
    assert r.status_code == 422 and field_error(r) == ("body.assignment_id", "other_incident")
    sector = draw(api, incident)
    r = patch(api, sector, assignment_id=team(api, elsewhere, "DINKES"))
    assert r.status_code == 422 and field_error(r) == ("body.assignment_id", "other_incident")
    r = patch(api, sector, assignment_id=999_999)
    assert r.status_code == 422 and field_error(r) == ("body.assignment_id", "other_incident")
    # a team whose agency declined cannot be given a sector
    a = next(x for x in incident["assignments"])
    declined = api("damkar").post(f"/api/v1/assignments/{a['id']}/state",
                                  json={"state": "declined", "version": a["version"], "reason": "tidak ada tim"})
    assert declined.status_code == 200
    r = patch(api, sector, assignment_id=a["id"])
    assert r.status_code == 422 and field_error(r) == ("body.assignment_id", "inactive")


@pytest.mark.parametrize("polygon, code", [
    ([[1.29, 101.19], [1.28, 101.20]], "too_short"),                                  # two points
    ([[1.29, 101.19], [1.28, 101.20], [1.29, 101.19]], "too_few_points"),            # closed, but two corners
    ([[1.29, 101.19], [1.29, 101.19], [1.28, 101.20]], "too_few_points"),            # a double click
    ([[1.28, 101.19], [1.29, 101.20], [1.30, 101.21]], "degenerate"),                # on one line
    ([[1.28, 101.19], [1.29, 101.20], [1.28, 101.20], [1.29, 101.19]], "degenerate"),  # a symmetric bow-tie
    ([[1.28, 101.19], [1.30, 101.20], [1.28, 101.20], [1.29, 101.19]], "self_intersecting"),  # crossing edges
    # a corner on another edge
    ([[1.28, 101.19], [1.28, 101.21], [1.29, 101.20], [1.28, 101.20], [1.26, 101.20]], "self_intersecting"),
    ([[91, 101.19], [1.28, 101.20], [1.29, 101.21]], "less_than_equal"),              # latitude out of range
    ([[1.28, 181], [1.28, 101.20], [1.29, 101.21]], "less_than_equal"),               # longitude out of range
    ([[1.28, 101.19, 3], [1.28, 101.20], [1.29, 101.21]], "too_long"),                # not [lat, lon]
    ([[0.5, 101.0], [0.5, 102.5], [2.0, 101.5]], "too_large"),                        # half the regency
    ([[-6.20, 106.80], [-6.21, 106.81], [-6.19, 106.82]], "outside_region"),          # Jakarta, not Bengkalis
    ([[1.28 + i * 1e-4, 101.19] for i in range(202)], "too_long"),                    # over 200 points
])
def test_bad_polygons_are_422_naming_the_polygon(api, polygon, code):
    incident = missing_person(api)
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/sectors", json={"name": "Sektor A", "polygon": polygon})
    assert r.status_code == 422, r.text
    field, got = field_error(r)
    assert field.startswith("body.polygon") and got == code, r.json()
    sector = draw(api, incident)
    r = patch(api, sector, polygon=polygon)
    assert r.status_code == 422 and field_error(r)[1] == code
    assert api("disp").get(f"/api/v1/incidents/{incident['id']}").json()["sectors"][0]["polygon"] == SQUARE


def test_a_closed_ring_and_double_clicks_are_stored_once(api):
    incident = missing_person(api)
    sent = [SQUARE[0], SQUARE[0], *SQUARE[1:], SQUARE[0]]
    sector = draw(api, incident, polygon=sent)
    assert sector["polygon"] == SQUARE
    r = patch(api, sector, polygon=[*SQUARE[:3], [1.2790, 101.1950], SQUARE[3]])
    assert r.status_code == 200 and len(r.json()["polygon"]) == 5
    assert timeline_texts(api, incident)[-1].startswith("Sektor A — kebun sawit utara: batas diubah (")


def test_stale_version_is_409_and_changes_nothing(api):
    incident = missing_person(api, "DAMKAR")
    sector = draw(api, incident)
    assert patch(api, sector, "damkar", status="searching").status_code == 200
    r = patch(api, sector, "disp", name="Sektor A — diubah")  # still holding version 1
    assert r.status_code == 409 and r.json()["code"] == "stale_version" and r.json()["params"]["current"] == 2
    now = api("disp").get(f"/api/v1/incidents/{incident['id']}/sectors").json()[0]
    assert now["name"] == "Sektor A — kebun sawit utara" and now["version"] == 2


def test_cleared_needs_a_note_and_states_move_in_order(api):
    incident = missing_person(api, "DAMKAR")
    sector = draw(api, incident, note="mulai dari jalan koridor")
    r = patch(api, sector, status="cleared", note="tidak ditemukan")  # open → cleared skips the search
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    searching = patch(api, sector, status="searching").json()
    for note in (None, "", "   "):
        body = {"status": "cleared"} if note is None else {"status": "cleared", "note": note}
        r = patch(api, searching, **body)
        assert r.status_code == 422 and field_error(r) == ("body.note", "missing"), r.text
    r = patch(api, searching, status="bogus")
    assert r.status_code == 422 and field_error(r) == ("body.status", "literal_error")
    assert patch(api, searching, status="cleared", note="tidak ditemukan").status_code == 200


def test_names_are_unique_within_an_incident(api):
    incident = missing_person(api)
    draw(api, incident, name="Sektor A")
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/sectors",
                         json={"name": "  sektor a ", "polygon": SQUARE})
    assert r.status_code == 409 and r.json()["code"] == "duplicate" and field_error(r)[0] == "body.name"
    other = draw(api, incident, name="Sektor B")
    r = patch(api, other, name="SEKTOR A")
    assert r.status_code == 409 and field_error(r)[0] == "body.name"
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/sectors", json={"name": "   ", "polygon": SQUARE})
    assert r.status_code == 422 and field_error(r) == ("body.name", "string_too_short")
    assert draw(api, missing_person(api), name="Sektor A")["name"] == "Sektor A"  # another incident's own A


def test_only_open_incidents_take_sectors(api):
    incident = missing_person(api)
    sector = draw(api, incident)
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/status",
                         json={"status": "cancelled", "version": incident["version"], "note": "anak ditemukan"})
    assert r.status_code == 200, r.text
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/sectors", json={"name": "Sektor B", "polygon": SQUARE})
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert r.json()["errors"][0]["code"] == "incident_closed"
    assert patch(api, sector, status="searching").status_code == 409


def test_an_idempotency_key_draws_the_sector_once(api):
    incident = missing_person(api)
    headers = {"Idempotency-Key": "sektor-a-1"}
    body = {"name": "Sektor A", "polygon": SQUARE}
    first = api("disp").post(f"/api/v1/incidents/{incident['id']}/sectors", json=body, headers=headers)
    again = api("disp").post(f"/api/v1/incidents/{incident['id']}/sectors", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert len(api("disp").get(f"/api/v1/incidents/{incident['id']}/sectors").json()) == 1


def test_every_change_is_announced_with_the_incident_to_staff_and_its_agencies(api, engine):
    incident = missing_person(api, "DAMKAR")
    sector = draw(api, incident)
    searching = patch(api, sector, "damkar", status="searching").json()
    with unit_of_work(engine) as db:
        events = db.scalars(select(Event).where(Event.entity == "incident", Event.entity_id == incident["id"])
                            .order_by(Event.id)).all()
        last_two = [(e.kind, e.audience, e.payload["sectors"]) for e in events[-2:]]
    damkar = agency_ids(api)["DAMKAR"]
    for kind, audience, _sectors in last_two:
        assert kind == "incident.updated" and damkar in audience["agencies"]
    assert last_two[0][2] == [sector]
    assert last_two[1][2] == [searching]
    # the snapshot a console loads carries them too
    snapshot = api("damkar").get("/api/v1/snapshot").json()
    assert snapshot["incidents"][str(incident["id"])]["sectors"] == [searching]


def test_a_console_following_the_incident_receives_the_sector_live(api, live_server):
    incident = missing_person(api, "DAMKAR")
    with SSEClient(live_server, token_for("damkar")) as stream:
        sector = draw(api, incident)
        note = stream.until(lambda e: e.event == "timeline.added")  # the shared log first, then the incident
        assert note.data["payload"]["text"].startswith("Sektor A — kebun sawit utara: sektor baru")
        ev = stream.until(lambda e: e.event == "incident.updated" and e.data["entity_id"] == incident["id"])
        assert ev.data["payload"]["sectors"] == [sector]
