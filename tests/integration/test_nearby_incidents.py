"""Open incidents near a caller: what powers duplicate suggestions. Same category first, then nearest;
only open, recent, located incidents the user may see."""

from __future__ import annotations

import pytest

from tests.conftest import ids

HERE = (1.4680, 102.1030)           # Bengkalis town
M_PER_DEG_LAT = 111_195.08


def north(metres: float) -> dict:  # type: ignore[no-untyped-def]
    return {"lat": HERE[0] + metres / M_PER_DEG_LAT, "lon": HERE[1]}


def create(api, category: str, where: dict | None, **extra) -> dict:  # type: ignore[no-untyped-def]
    r = api("ct").post("/api/v1/incidents", json={"category_code": category, **(where or {}), **extra})
    assert r.status_code == 201, r.text
    return r.json()


def nearby(api, who: str = "ct", **params):  # type: ignore[no-untyped-def]
    return api(who).get("/api/v1/incidents/nearby", params={"lat": HERE[0], "lon": HERE[1], **params})


@pytest.fixture
def scene(api, clock) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    made = {"old_fire": create(api, "kebakaran", north(200))}
    clock.advance(hours=4)
    made |= {
        "fire": create(api, "kebakaran", north(800), subcategory_code="kebakaran.kendaraan"),
        "medical": create(api, "medis", north(300)),
        "far_fire": create(api, "kebakaran", north(5000)),
        "unlocated_fire": create(api, "kebakaran", None),
        "cancelled_fire": create(api, "kebakaran", north(100)),
    }
    c = made["cancelled_fire"]
    r = api("disp").post(f"/api/v1/incidents/{c['id']}/status",
                         json={"status": "cancelled", "version": c["version"], "note": "Duplikat"})
    assert r.status_code == 200
    return made


def test_same_category_first_then_nearest_with_distances(api, scene):
    r = nearby(api, category_code="kebakaran.bangunan")  # a subcategory: its parent is what matches
    assert r.status_code == 200, r.text
    found = r.json()
    assert [i["id"] for i in found] == [scene["fire"]["id"], scene["medical"]["id"]]
    assert [i["same_category"] for i in found] == [True, False]
    assert found[0]["distance_m"] == pytest.approx(800, abs=2)
    assert found[1]["distance_m"] == pytest.approx(300, abs=2)
    assert found[0]["number"] == scene["fire"]["number"] and found[0]["assignments"] == []


def test_without_a_category_nearest_comes_first(api, scene):
    found = nearby(api).json()
    assert [i["id"] for i in found] == [scene["medical"]["id"], scene["fire"]["id"]]
    assert not any(i["same_category"] for i in found)


def test_radius_age_and_limit_decide_what_is_near(api, scene):
    wide = nearby(api, radius_m=10_000, category_code="kebakaran").json()
    assert [i["id"] for i in wide] == [scene["fire"]["id"], scene["far_fire"]["id"], scene["medical"]["id"]]
    older = nearby(api, since_minutes=300, category_code="kebakaran").json()
    assert [i["id"] for i in older] == [scene["old_fire"]["id"], scene["fire"]["id"], scene["medical"]["id"]]
    assert [i["id"] for i in nearby(api, limit=1).json()] == [scene["medical"]["id"]]
    assert nearby(api, radius_m=100).json() == []


def test_an_agency_operator_sees_only_their_agencys_incidents(api, scene):
    agencies = ids(api, "/api/v1/agencies")
    r = api("disp").post(f"/api/v1/incidents/{scene['fire']['id']}/assignments",
                         json={"agency_id": agencies["DAMKAR"]})
    assert r.status_code == 201
    assert [i["id"] for i in nearby(api, who="damkar").json()] == [scene["fire"]["id"]]
    assert nearby(api, who="dinkes").json() == []


@pytest.mark.parametrize("params, field", [
    ({"lat": 91}, "query.lat"),
    ({"lat": -90.5}, "query.lat"),
    ({"lon": 180.01}, "query.lon"),
    ({"lat": "nan"}, "query.lat"),
    ({"lon": "inf"}, "query.lon"),
    ({"lat": "utara"}, "query.lat"),
    ({"radius_m": 0}, "query.radius_m"),
    ({"radius_m": 1_000_000}, "query.radius_m"),
    ({"since_minutes": 0}, "query.since_minutes"),
    ({"category_code": "no_such_thing"}, "query.category_code"),
])
def test_bad_coordinates_and_filters_are_a_problem_naming_the_field(api, params, field):
    r = nearby(api, **params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]


def test_a_point_is_required(api):
    r = api("ct").get("/api/v1/incidents/nearby", params={"lat": 1.0})
    assert r.status_code == 422 and "query.lon" in [e["field"] for e in r.json()["errors"]]


def test_a_pole_or_the_antimeridian_does_not_break_the_search(api, ctx_factory):
    """The API refuses such coordinates for Bengkalis incidents; the search must still survive rows that
    another deployment (or an old import) holds, so they go straight into the table here."""
    from siaga.domains.incidents.models import Incident

    with ctx_factory("disp") as ctx:
        for n, (lat, lon) in enumerate(((89.9999, 10.0), (0.0, -179.9999))):
            ctx.db.add(Incident(number=f"TEST-POLE-{n}", category_code="medis", priority=2, status="new", lat=lat,
                                lon=lon, created_at=ctx.now(), address_text="", patokan="", description="",
                                outcome_note="", answers={}))
    assert len(nearby(api, lat=89.9999, lon=-170.0).json()) == 1
    assert len(nearby(api, lat=0.0, lon=179.9999).json()) == 1
