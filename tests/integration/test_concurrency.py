"""Two people acting at the same instant: one wins, the other gets a clear 409; nothing is overwritten.
Requests run concurrently against a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import httpx

from tests.conftest import token_for


def client(base: str, who: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token_for(who)}"}, timeout=30)


def race(*calls):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, fn):  # type: ignore[no-untyped-def]
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_dispatchers_editing_one_incident_one_wins_one_gets_409(live_server):
    a, b = client(live_server, "disp"), client(live_server, "sup")
    for round_ in range(5):
        inc = a.post("/api/v1/incidents", json={"category_code": "medis"}).json()
        url = f"/api/v1/incidents/{inc['id']}"
        ra, rb = race(
            lambda url=url: a.patch(url, json={"version": 1, "description": "A"}),
            lambda url=url: b.patch(url, json={"version": 1, "description": "B"}))
        assert sorted([ra.status_code, rb.status_code]) == [200, 409], (round_, ra.text, rb.text)
        winner = "A" if ra.status_code == 200 else "B"
        final = a.get(f"/api/v1/incidents/{inc['id']}").json()
        assert final["description"] == winner and final["version"] == 2


def test_two_dispatchers_sending_the_same_unit_only_one_gets_it(live_server):
    a, b = client(live_server, "disp"), client(live_server, "sup")
    agencies = {x["code"]: x["id"] for x in a.get("/api/v1/agencies").json()}
    pumper = next(u for u in a.get(f"/api/v1/units?agency_id={agencies['DAMKAR']}").json())
    incidents = []
    for _ in range(2):
        inc = a.post("/api/v1/incidents", json={"category_code": "kebakaran"}).json()
        inc = a.post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": agencies["DAMKAR"]}).json()
        incidents.append(inc)
    ra, rb = race(
        lambda: a.post(f"/api/v1/assignments/{incidents[0]['assignments'][0]['id']}/units",
                       json={"unit_id": pumper["id"]}),
        lambda: b.post(f"/api/v1/assignments/{incidents[1]['assignments'][0]['id']}/units",
                       json={"unit_id": pumper["id"]}))
    assert sorted([ra.status_code, rb.status_code]) == [200, 409], (ra.text, rb.text)
    loser = ra if ra.status_code == 409 else rb
    assert loser.json()["code"] in ("unit_unavailable", "stale_version", "conflict")
    active = [ua for i in incidents for a_ in a.get(f"/api/v1/incidents/{i['id']}").json()["assignments"]
              for ua in a_["units"] if ua["active"]]
    assert len(active) == 1


def test_an_out_of_service_unit_cannot_be_assigned(api):
    agencies = {x["code"]: x["id"] for x in api("disp").get("/api/v1/agencies").json()}
    unit = api("disp").get(f"/api/v1/units?agency_id={agencies['DINKES']}").json()[0]
    r = api("dinkes").post(f"/api/v1/units/{unit['id']}/status", json={"status": "out_of_service",
                                                                      "version": unit["version"]})
    assert r.status_code == 200
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "medis"}).json()
    inc = api("disp").post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": agencies["DINKES"]}).json()
    r = api("disp").post(f"/api/v1/assignments/{inc['assignments'][0]['id']}/units", json={"unit_id": unit["id"]})
    assert r.status_code == 409 and r.json()["code"] == "unit_unavailable"
    assert r.json()["params"]["unit_status"] == "out_of_service"


def test_concurrent_retries_with_one_idempotency_key_create_one_incident(live_server):
    a = client(live_server, "ct")
    results = race(*[lambda: a.post("/api/v1/incidents", json={"category_code": "medis"},
                                    headers={"Idempotency-Key": "retry-storm"}) for _ in range(4)])
    assert all(r.status_code in (201, 409) for r in results), [r.text for r in results]
    bodies = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(bodies) == 1
    assert len(a.get("/api/v1/incidents").json()) == 1
