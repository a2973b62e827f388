"""Role × endpoint: every API route is checked for every role. A route must name its permission, the
server must enforce exactly the permission table, and the table itself says what the product means."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from siaga.app import API_PREFIX, API_ROUTERS
from siaga.core.authz import PERMISSIONS, ROLES
from tests.conftest import TEST_USERS, ids

PUBLIC = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/login/totp"), ("GET", "/api/v1/health")}
USER_OF_ROLE = {}
for username, role, _agency in TEST_USERS:
    USER_OF_ROLE.setdefault(role, username)


def permission_of(route: APIRoute) -> str | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        perm = getattr(dep.call, "permission", None)
        if perm:
            return perm
        stack.extend(dep.dependencies)
    return None


def api_routes(app) -> list[tuple[str, str, APIRoute]]:  # type: ignore[no-untyped-def]
    out = []
    for router in API_ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods - {"HEAD"}):
                out.append((method, API_PREFIX + route.path, route))
    # The routers we walk are all the API there is: the published OpenAPI agrees.
    published = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() if p.startswith(API_PREFIX)
                 for m in ops}
    assert published == {(m, p) for m, p, _ in out}
    assert len(out) >= 30
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", lambda m: "14.03" if m.group() == "{kode}" else "999999", path)


def test_every_api_route_names_a_permission_or_is_deliberately_public(app):
    missing = [(m, p) for m, p, r in api_routes(app) if (m, p) not in PUBLIC and permission_of(r) is None]
    assert missing == []


def test_role_endpoint_matrix_enforces_the_permission_table(app, api):
    checked = 0
    for method, path, route in api_routes(app):
        if (method, path) in PUBLIC or path == "/api/v1/events":
            continue
        permission = permission_of(route)
        url = concrete(path)
        anonymous = api().request(method, url, json={})
        assert anonymous.status_code == 401, (method, path)
        for role in ROLES:
            r = api(USER_OF_ROLE[role]).request(method, url, json={})
            allowed = role in PERMISSIONS[permission]
            if allowed:
                assert r.status_code != 403, (method, path, role, r.text)
                assert r.status_code < 500, (method, path, role, r.text)
            else:
                assert r.status_code == 403, (method, path, role, r.status_code)
                assert r.json()["code"] == "forbidden"
            checked += 1
    assert checked >= 30 * len(ROLES)


def test_event_stream_requires_a_human_role(api):
    assert api().get("/api/v1/events").status_code == 401
    assert api("phone").get("/api/v1/events").status_code == 403


# What the product means, spelled out for the cells that matter most.
@pytest.mark.parametrize("who, method, path, allowed", [
    ("ct", "POST", "/api/v1/users", False),           # call-takers cannot administer
    ("ct", "POST", "/api/v1/agencies", False),
    ("ct", "POST", "/api/v1/units", False),
    ("ct", "POST", "/api/v1/incidents", True),
    ("damkar", "POST", "/api/v1/incidents", False),   # agencies receive incidents, they don't take calls
    ("damkar", "GET", "/api/v1/calls", False),        # nor see the caller list
    ("damkar", "POST", "/api/v1/assignments/1/state", True),
    ("phone", "POST", "/api/v1/call-events", True),   # the telephony bridge only feeds calls
    ("phone", "GET", "/api/v1/incidents", False),
    ("phone", "POST", "/api/v1/aml", True),           # AML fixes come from the network side...
    ("phone", "POST", "/api/v1/aml/sms", True),
    ("sup", "POST", "/api/v1/aml", True),             # ...or a supervisor relaying one by hand
    ("ct", "POST", "/api/v1/aml", False),             # a call-taker reads fixes, never posts them
    ("disp", "POST", "/api/v1/aml/sms", False),
    ("admin", "POST", "/api/v1/users", True),
    ("admin", "POST", "/api/v1/incidents", False),    # administrators don't dispatch
    ("sup", "GET", "/api/v1/audit/verify", True),
    ("disp", "GET", "/api/v1/audit/verify", False),
    # full numbers: revealed one at a time by call-takers and supervisors only (audited)
    ("sup", "POST", "/api/v1/calls/1/reveal-number", True),
    ("ct", "POST", "/api/v1/measures/1/reveal-number", True),
    ("disp", "POST", "/api/v1/calls/1/reveal-number", False),
    ("admin", "POST", "/api/v1/calls/1/reveal-number", False),
    ("phone", "POST", "/api/v1/calls/1/reveal-number", False),
    # the risk hint is for the centre's staff, never for agencies or the telephony bridge
    ("ct", "GET", "/api/v1/calls/1/risk", True),
    ("damkar", "GET", "/api/v1/calls/1/risk", False),
    ("phone", "GET", "/api/v1/calls/1/risk", False),
    ("damkar", "GET", "/api/v1/calls/1/caller-summary", False),
])
def test_key_cells_of_the_matrix(api, who, method, path, allowed):
    r = api(who).request(method, path, json={})
    assert (r.status_code != 403) is allowed, r.text


def _incident_for(api, agency_code: str) -> dict:  # type: ignore[no-untyped-def]
    agencies = ids(api, "/api/v1/agencies")
    inc = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "description": agency_code}).json()
    r = api("disp").post(f"/api/v1/incidents/{inc['id']}/assignments", json={"agency_id": agencies[agency_code]})
    assert r.status_code == 201
    return r.json()


def test_agency_operator_sees_only_incidents_assigned_to_their_agency(api):
    fire = _incident_for(api, "DAMKAR")
    medical = _incident_for(api, "DINKES")
    assert [i["id"] for i in api("damkar").get("/api/v1/incidents").json()] == [fire["id"]]
    assert [i["id"] for i in api("dinkes").get("/api/v1/incidents").json()] == [medical["id"]]
    assert api("damkar").get(f"/api/v1/incidents/{medical['id']}").status_code == 404
    assert api("damkar").get(f"/api/v1/incidents/{medical['id']}/timeline").status_code == 404
    assert api("damkar").post(f"/api/v1/incidents/{medical['id']}/notes", json={"text": "x"}).status_code == 404
    assert len(api("disp").get("/api/v1/incidents").json()) == 2


def test_agency_operator_acts_only_for_their_own_agency(api):
    medical = _incident_for(api, "DINKES")
    a = medical["assignments"][0]
    r = api("damkar").post(f"/api/v1/assignments/{a['id']}/state", json={"state": "acknowledged", "version": 1})
    assert r.status_code == 404
    r = api("dinkes").post(f"/api/v1/assignments/{a['id']}/state", json={"state": "acknowledged", "version": 1})
    assert r.status_code == 200 and r.json()["assignments"][0]["state"] == "acknowledged"


def test_agency_operator_sees_and_moves_only_their_units(api):
    agencies = ids(api, "/api/v1/agencies")
    units = api("damkar").get("/api/v1/units").json()
    assert units and {u["agency_id"] for u in units} == {agencies["DAMKAR"]}
    ambulance = next(u for u in api("disp").get("/api/v1/units").json() if u["agency_id"] == agencies["DINKES"])
    assert api("damkar").get(f"/api/v1/units/{ambulance['id']}").status_code == 404
    r = api("damkar").post(f"/api/v1/units/{ambulance['id']}/status",
                           json={"status": "out_of_service", "version": ambulance["version"]})
    assert r.status_code == 404
    assert api("disp").get(f"/api/v1/units/{ambulance['id']}").json()["status"] == "available"
