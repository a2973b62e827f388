"""Response plans as data: the Bengkalis defaults propose the agencies PRODUCT.md names; precedence
is the most specific base rule plus every extra rule; bad rules are refused and change nothing; the
dispatcher confirms a proposal in one step, all or nothing."""

from __future__ import annotations

import pytest

from tests.conftest import ids


def create(api, **fields) -> dict:  # type: ignore[no-untyped-def]
    r = api("ct").post("/api/v1/incidents", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


def proposed(api, incident: dict) -> set[str]:  # type: ignore[no-untyped-def]
    r = api("disp").get(f"/api/v1/incidents/{incident['id']}/proposal")
    assert r.status_code == 200, r.text
    return {a["code"] for a in r.json()["agencies"]}


@pytest.mark.parametrize(("fields", "agencies"), [
    ({"category_code": "kebakaran", "priority": 3}, {"DAMKAR"}),
    ({"category_code": "kebakaran", "priority": 1}, {"DAMKAR"}),  # a high priority alone brings no BPBD
    ({"category_code": "kebakaran", "answers": {"kebakaran.bahan_berbahaya": True}}, {"DAMKAR", "BPBD"}),
    ({"category_code": "kecelakaan_lalu_lintas", "answers": {"kll.jumlah_korban": "satu"}},
     {"DISHUB", "SATPOLPP", "DINKES", "POLRES"}),  # one person hurt: health without picking a subcategory
    ({"category_code": "kecelakaan_lalu_lintas", "answers": {"kll.jumlah_korban": "tidak_ada"}},
     {"DISHUB", "SATPOLPP"}),
    ({"category_code": "bencana_alam", "answers": {"bencana.terjebak": True}}, {"BPBD", "DAMKAR", "SAR"}),
    ({"category_code": "kebakaran", "priority": 3, "answers": {"kebakaran.korban": True}}, {"DAMKAR", "DINKES"}),
    ({"category_code": "kebakaran", "subcategory_code": "kebakaran.hutan_lahan", "priority": 3}, {"DAMKAR", "BPBD"}),
    ({"category_code": "kecelakaan_lalu_lintas"}, {"DISHUB", "SATPOLPP"}),
    ({"category_code": "kecelakaan_lalu_lintas", "subcategory_code": "kecelakaan_lalu_lintas.korban_luka"},
     {"DISHUB", "SATPOLPP", "DINKES", "POLRES"}),
    ({"category_code": "medis"}, {"DINKES"}),
    ({"category_code": "bencana_alam", "subcategory_code": "bencana_alam.banjir"}, {"BPBD", "DINKES"}),
    ({"category_code": "gangguan_keamanan"}, {"POLRES"}),
    ({"category_code": "kdrt"}, {"POLRES"}),
    ({"category_code": "orang_hilang"}, {"BPBD", "SAR", "POLRES"}),
    ({"category_code": "penyelamatan_evakuasi", "subcategory_code": "penyelamatan_evakuasi.air"}, {"SAR", "BPBD"}),
    ({"category_code": "lainnya"}, set()),
])
def test_bengkalis_default_plan(api, fields, agencies):
    assert proposed(api, create(api, **fields)) == agencies


def test_boats_are_proposed_for_water_rescue(api):
    incident = create(api, category_code="orang_hilang", subcategory_code="orang_hilang.perairan")
    units = api("disp").get(f"/api/v1/incidents/{incident['id']}/proposal").json()["units"]
    assert {"type": "rescue_boat", "count": 2} in units


def test_most_specific_base_rule_wins_and_extras_add(api):
    bathin = "14.03.16"
    r = api("admin").post("/api/v1/response-rules", json={
        "name": "Kebakaran di Bathin Solapan → Damkar + Satpol PP", "kind": "base", "category_code": "kebakaran",
        "kode_wilayah": bathin, "agency_codes": ["DAMKAR", "SATPOLPP"]})
    assert r.status_code == 201, r.text
    desa = api("admin").get(f"/api/v1/regions?level=desa&parent={bathin}&limit=5").json()[0]["kode"]
    hazard = {"kebakaran.bahan_berbahaya": True}
    here = create(api, category_code="kebakaran", priority=1, kode_wilayah=desa, answers=hazard)
    elsewhere = create(api, category_code="kebakaran", priority=1, kode_wilayah="14.03.01", answers=hazard)
    assert proposed(api, here) == {"DAMKAR", "SATPOLPP", "BPBD"}  # BPBD: the hazard extra rule still adds
    assert proposed(api, elsewhere) == {"DAMKAR", "BPBD"}


def test_equal_overlapping_rules_are_reported_and_the_older_wins(api):
    first = api("admin").post("/api/v1/response-rules", json={
        "name": "Medis malam → Dinkes", "category_code": "medis", "hour_from": 22, "hour_to": 6,
        "agency_codes": ["DINKES"]}).json()
    second = api("admin").post("/api/v1/response-rules", json={
        "name": "Medis dini hari → Dinkes + BPBD", "category_code": "medis", "hour_from": 4, "hour_to": 8,
        "agency_codes": ["DINKES", "BPBD"]}).json()
    findings = api("admin").get("/api/v1/response-rules/check").json()
    overlap = [f for f in findings if f["kind"] == "overlap"]
    assert overlap and overlap[0]["rule_ids"] == [first["id"], second["id"]]
    assert overlap[0]["message"].endswith("'Medis malam → Dinkes' (yang lebih lama) yang berlaku")
    english = api("admin").get("/api/v1/response-rules/check", headers={"Accept-Language": "en"}).json()
    assert [f["message"] for f in english if f["kind"] == "overlap"][0].endswith(
        "'Medis malam → Dinkes' (the older) wins")
    # The test clock is 01:00 UTC = 08:00 WIB: only the second window (04–08) would... 08 is excluded.
    assert proposed(api, create(api, category_code="medis")) == {"DINKES"}


@pytest.mark.parametrize(("body", "field"), [
    ({"agency_codes": ["PEMADAM"]}, "agency_codes.0"),
    ({"agency_codes": ["DAMKAR"], "subcategory_code": "medis.pingsan"}, "subcategory_code"),
    ({"agency_codes": ["DAMKAR"], "hour_from": 8, "hour_to": 8}, "hour_to"),
    ({"agency_codes": ["DAMKAR"], "answers": {"medis.sadar": False}}, "answers.medis.sadar"),
    ({"agency_codes": ["DAMKAR"], "answers": {"kebakaran.objek": "kapal"}}, "answers.kebakaran.objek"),
    ({"agency_codes": ["DAMKAR"], "units": [{"type": "helicopter", "count": 1}]}, "units.0.type"),
    ({"agency_codes": ["DAMKAR"], "kode_wilayah": "14.03.99"}, "kode_wilayah"),
    ({"agency_codes": []}, "agency_codes"),
])
def test_bad_rules_are_refused_and_nothing_is_stored(api, body, field):
    before = api("admin").get("/api/v1/response-rules").json()
    r = api("admin").post("/api/v1/response-rules", json={"name": "Aturan uji", "category_code": "kebakaran",
                                                          **body})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["body." + field]
    assert api("admin").get("/api/v1/response-rules").json() == before


def test_only_admins_edit_the_plan_and_edits_are_version_checked(api):
    rule = api("admin").get("/api/v1/response-rules").json()[0]
    body = {k: rule[k] for k in ("name", "kind", "category_code", "subcategory_code", "max_priority", "kode_wilayah",
                                 "hour_from", "hour_to", "answers", "agency_codes", "units", "note", "active")}
    assert api("disp").put(f"/api/v1/response-rules/{rule['id']}", json={**body, "version": rule["version"]}
                           ).status_code == 403
    ok = api("admin").put(f"/api/v1/response-rules/{rule['id']}",
                          json={**body, "note": "diperiksa", "version": rule["version"]})
    assert ok.status_code == 200 and ok.json()["note"] == "diperiksa"
    stale = api("admin").put(f"/api/v1/response-rules/{rule['id']}", json={**body, "version": rule["version"]})
    assert stale.status_code == 409


def test_dispatcher_confirms_the_proposal_in_one_step(api):
    incident = create(api, category_code="kecelakaan_lalu_lintas",
                      subcategory_code="kecelakaan_lalu_lintas.korban_luka")
    proposal = api("disp").get(f"/api/v1/incidents/{incident['id']}/proposal").json()
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                         json={"agency_ids": proposal["missing_agency_ids"]})
    assert r.status_code == 200, r.text
    assert len(r.json()["assignments"]) == 4
    assert all(a["state"] == "notified" and a["due_step"] == "acknowledge" for a in r.json()["assignments"])
    after = api("disp").get(f"/api/v1/incidents/{incident['id']}/proposal").json()
    assert after["missing_agency_ids"] == []
    again = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                             json={"agency_ids": proposal["missing_agency_ids"]})
    assert len(again.json()["assignments"]) == 4  # nothing doubled


def test_dispatch_is_all_or_nothing(api):
    incident = create(api, category_code="medis")
    agencies = ids(api, "/api/v1/agencies")
    r = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                         json={"agency_ids": [agencies["DINKES"], 999_999]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.agency_ids.1"
    assert api("disp").get(f"/api/v1/incidents/{incident['id']}").json()["assignments"] == []
    assert api("ct").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                          json={"agency_ids": [agencies["DINKES"]]}).status_code == 403


def test_agency_sees_the_proposal_only_for_its_incidents(api):
    incident = create(api, category_code="medis")
    assert api("dinkes").get(f"/api/v1/incidents/{incident['id']}/proposal").status_code == 404


@pytest.mark.parametrize(("lat", "lon"), [(-6.2, 106.8), (1.45, 104.5), (40.0, 101.5)])
def test_coordinates_outside_the_region_are_refused_and_nothing_is_stored(api, lat, lon):
    before = len(api("disp").get("/api/v1/incidents").json())
    r = api("ct").post("/api/v1/incidents", json={"category_code": "medis", "lat": lat, "lon": lon})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "outside_region"
    assert len(api("disp").get("/api/v1/incidents").json()) == before


def test_the_served_area_is_the_desa_polygons_and_the_sea_off_them_not_a_box(api):
    """Inside the regency's old bounding box but 74 km out in the Strait of Malacca: refused, naming the
    nearest desa. Just across the border (Kota Dumai, 6.7 km from Kelurahan Tanjung Kapal) and 17 km off
    Rupat (a boat): accepted."""
    r = api("ct").post("/api/v1/incidents", json={"category_code": "medis", "lat": 2.2, "lon": 102.5})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "outside_region"
    assert "Bantan Timur" in r.json()["errors"][0]["message"]
    for lat, lon in ((1.665, 101.447), (1.9, 101.2)):
        r = api("ct").post("/api/v1/incidents", json={"category_code": "medis", "lat": lat, "lon": lon})
        assert r.status_code == 201, r.text


def test_coordinates_just_across_the_border_are_accepted(api):
    dumai = api("ct").post("/api/v1/incidents", json={"category_code": "medis", "lat": 1.6667, "lon": 101.4500})
    assert dumai.status_code == 201, dumai.text
