"""The console pages as HTTP: who may open which screen, where login sends you, the language choice,
and the security headers every page carries."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD


def browser_for(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return client


@pytest.mark.parametrize(("user", "home"), [("ct", "/calltaker"), ("disp", "/board"), ("sup", "/board"),
                                            ("admin", "/board"), ("damkar", "/agency")])
def test_each_role_lands_on_its_screen(app, user, home):
    client = browser_for(app, user)
    assert client.get("/").headers["location"] == home
    assert client.get(home).status_code == 200


@pytest.mark.parametrize(("user", "path", "status"), [
    ("damkar", "/board", 403), ("damkar", "/calltaker", 403), ("damkar", "/wallboard", 403),
    ("damkar", "/field", 200), ("ct", "/agency", 403), ("admin", "/calltaker", 403), ("disp", "/field", 200)])
def test_screens_are_refused_to_other_roles(app, user, path, status):
    assert browser_for(app, user).get(path).status_code == status


def test_not_logged_in_goes_to_login_and_comes_back(app):
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.get("/board")
    assert r.status_code == 303 and r.headers["location"] == "/?next=/board"
    login = client.get("/?next=/board")
    assert 'name="next" value="/board"' in login.text
    r = client.post("/login", data={"username": "disp", "password": PASSWORD, "next": "/board"})
    assert client.get(r.headers["location"]).headers["location"] == "/board"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "board"])
def test_login_never_sends_you_to_another_site(app, target):
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.post("/login", data={"username": "disp", "password": PASSWORD, "next": target})
    assert client.get(r.headers["location"]).headers["location"] == "/board"


def test_language_choice_is_stored_for_the_user(app):
    client = browser_for(app, "sup")
    page = client.get("/board")
    assert "Papan dispatcher" in page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    assert client.post("/language", data={"language": "en", "csrf_token": "wrong", "back": "/board"}).status_code == 403
    r = client.post("/language", data={"language": "en", "csrf_token": csrf, "back": "/board"})
    assert r.status_code == 303 and r.headers["location"] == "/board"
    assert "Units by status" in client.get("/board").text
    assert "Units by status" in browser_for(app, "sup").get("/board").text  # another device follows
    bad = client.post("/language", data={"language": "xx", "csrf_token": csrf, "back": "/board"})
    assert bad.status_code == 422


def test_pages_carry_a_content_security_policy(app):
    page = browser_for(app, "ct").get("/calltaker")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-eval'" in csp and "frame-ancestors 'none'" in csp
    assert "https:" not in csp.replace("https://", "")  # no wildcard hosts
    assert page.headers["x-frame-options"] == "DENY"


def test_reference_data_cannot_break_out_of_its_script_tag(app, ctx_factory):
    from siaga.domains.regions import actions, schemas

    with ctx_factory("admin") as ctx:
        actions.create_landmark(ctx, schemas.LandmarkCreate(
            name="</script><script>alert(1)</script>", kind="other", lat=1.46, lon=102.1))
    page = browser_for(app, "ct").get("/calltaker")
    blob = re.search(r'<script type="application/json" id="siaga-ref">(.*?)</script>', page.text, re.S).group(1)
    ref = json.loads(blob)
    assert any(lm["name"] == "</script><script>alert(1)</script>" for lm in ref["landmarks"])
    assert len(ref["regions"]) >= 166 and ref["lang"] == "id"


def test_timeline_fragment_is_in_wib_and_only_for_those_who_may_see(app, api):
    created = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran"}).json()
    fragment = browser_for(app, "disp").get(f"/incident/{created['id']}/timeline")
    assert fragment.status_code == 200 and "27-11-2026 08:00:00 WIB" in fragment.text
    assert browser_for(app, "damkar").get(f"/incident/{created['id']}/timeline").status_code == 404
    assert browser_for(app, "damkar").get(f"/incident/{created['id']}").status_code == 404


@pytest.mark.parametrize("incident_id", ["99999999999999999999999", "9223372036854775808", "0", "-1", "abc",
                                         "١٢", "1e3"])
def test_an_incident_address_naming_no_incident_is_the_not_found_page(app, incident_id):
    """Ids beyond the database's range (PostgreSQL's bigint overflowed into a 500) or not numbers at all are
    the same 404 page a missing incident gets; the timeline fragment answers 404/422 as the API does."""
    page = browser_for(app, "disp").get(f"/incident/{incident_id}")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    fragment = browser_for(app, "disp").get(f"/incident/{incident_id}/timeline")
    assert fragment.status_code in (404, 422) and fragment.headers["content-type"].startswith(
        "application/problem+json")
