"""Closest unit by road for an assignment: the agency's free units ranked by travel time on the demo
Bengkalis network, each explained; busy and out-of-service units listed with the reason."""

from __future__ import annotations

from tests.conftest import ids


def assignment_for(api, code: str, **incident) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "medis", **incident}).json()
    agency_id = ids(api, "/api/v1/agencies")[code]
    r = api("disp").post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": agency_id})
    assert r.status_code == 201, r.text
    return inc, next(a for a in r.json()["assignments"] if a["agency_id"] == agency_id)


def test_nearest_ambulance_by_road_comes_first_and_explains_itself(api):
    # Near Duri (Mandau): the Mandau ambulances, not the ones on Bengkalis island across the strait.
    _inc, a = assignment_for(api, "DINKES", lat=1.2900, lon=101.2200)
    recs = api("dinkes").get(f"/api/v1/assignments/{a['id']}/recommendations").json()
    offered = [r for r in recs if r["offered"]]
    assert offered and offered[0]["callsign"].startswith("AMB-MDU")
    assert offered[0]["eta_s"] > 0 and offered[0]["distance_m"] > 0 and offered[0]["explanation"]
    assert [r["rank"] for r in offered] == sorted(r["rank"] for r in offered)
    island = next(r for r in recs if r["callsign"].startswith("AMB-BKS"))
    assert island["offered"] is False or island["eta_s"] > offered[0]["eta_s"]


def test_busy_units_are_listed_with_the_reason(api):
    inc, a = assignment_for(api, "DINKES", lat=1.4650, lon=102.1050)
    units = {u["callsign"]: u for u in api("dinkes").get("/api/v1/units").json()}
    first = api("dinkes").post(f"/api/v1/assignments/{a['id']}/units", json={"unit_id": units["AMB-BKS-01"]["id"]})
    assert first.status_code == 200
    _inc2, b = assignment_for(api, "DINKES", lat=1.4700, lon=102.1100)
    recs = {r["callsign"]: r for r in api("dinkes").get(f"/api/v1/assignments/{b['id']}/recommendations").json()}
    assert recs["AMB-BKS-01"]["offered"] is False and recs["AMB-BKS-01"]["reason"] == "busy"
    assert "bertugas" in recs["AMB-BKS-01"]["explanation"]


def test_english_and_permissions(api):
    _inc, a = assignment_for(api, "DINKES", lat=1.2900, lon=101.2200)
    en = api("dinkes").get(f"/api/v1/assignments/{a['id']}/recommendations",
                           headers={"Accept-Language": "en"}).json()
    assert en[0]["explanation"] and "menit" not in en[0]["explanation"]
    assert api("damkar").get(f"/api/v1/assignments/{a['id']}/recommendations").status_code == 404
    assert api("ct").get(f"/api/v1/assignments/{a['id']}/recommendations").status_code == 403


def test_an_incident_without_coordinates_still_lists_the_free_units(api):
    _inc, a = assignment_for(api, "DINKES")
    recs = api("disp").get(f"/api/v1/assignments/{a['id']}/recommendations").json()
    assert recs and all(r["reason"] == "incident_without_location" for r in recs if r["offered"])
