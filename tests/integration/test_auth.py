"""Browser sessions, CSRF, API tokens and login throttling."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, token_for


def browser(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1:8112")


def login(client: TestClient, username: str = "ct", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_login_sets_httponly_strict_cookie_and_returns_csrf_token(app):
    client = browser(app)
    r = login(client)
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert r.json()["user"]["username"] == "ct" and r.json()["csrf_token"]
    assert client.get("/api/v1/me").json()["username"] == "ct"


def test_writes_with_a_session_need_the_csrf_token(app):
    client = browser(app)
    csrf = login(client).json()["csrf_token"]
    body = {"category_code": "kebakaran"}
    r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = client.post("/api/v1/incidents", json=body, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = client.post("/api/v1/incidents", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_wrong_password_is_401_and_stores_no_session(app):
    client = browser(app)
    r = login(client, password="nope")
    assert r.status_code == 401 and r.json()["code"] == "login_failed"
    assert "set-cookie" not in r.headers
    assert client.get("/api/v1/me").status_code == 401


def test_unknown_user_and_wrong_password_look_the_same(app):
    a = login(browser(app), username="nobody", password="x").json()
    b = login(browser(app), username="ct", password="x").json()
    assert a["title"] == b["title"] and a["status"] == b["status"] == 401


def test_login_is_throttled_after_repeated_failures_even_for_the_right_password(app, settings):
    client = browser(app)
    for _ in range(settings.login_max_failures):
        assert login(client, password="bad").status_code == 401
    r = login(client)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.json()["code"] == "too_many_logins"


def test_throttle_forgets_after_the_window(app, settings, clock):
    client = browser(app)
    for _ in range(settings.login_max_failures):
        login(client, password="bad")
    clock.advance(seconds=settings.login_window_seconds + 1)
    assert login(client).status_code == 200


def test_logout_ends_the_session(app):
    client = browser(app)
    csrf = login(client).json()["csrf_token"]
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_session_expires(app, settings, clock):
    client = browser(app)
    login(client)
    clock.advance(hours=settings.session_hours, seconds=1)
    assert client.get("/api/v1/me").status_code == 401


def test_admin_creates_a_user_with_a_one_time_password_that_works(api, app):
    r = api("admin").post("/api/v1/users", json={"username": "operator9", "full_name": "Operator Sembilan",
                                                 "role": "call_taker"})
    assert r.status_code == 201
    otp = r.json()["one_time_password"]
    assert otp and len(otp) >= 16
    listed = api("admin").get("/api/v1/users").json()
    assert "one_time_password" not in next(u for u in listed if u["username"] == "operator9")
    assert login(browser(app), "operator9", otp).status_code == 200


def test_agency_operator_must_name_an_agency(api):
    r = api("admin").post("/api/v1/users", json={"username": "opd9", "full_name": "X", "role": "agency_operator"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.agency_id"


def test_duplicate_username_is_409(api):
    r = api("admin").post("/api/v1/users", json={"username": "ct", "full_name": "X", "role": "call_taker"})
    assert r.status_code == 409


def test_api_token_works_until_revoked(api, app):
    me = api("admin").get("/api/v1/users").json()
    phone = next(u for u in me if u["username"] == "phone")
    created = api("admin").post("/api/v1/tokens", json={"user_id": phone["id"], "name": "kamailio"}).json()
    client = TestClient(app, headers={"Authorization": f"Bearer {created['token']}"})
    assert client.get("/api/v1/me").json()["username"] == "phone"
    assert api("admin").delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_a_bogus_token_is_401_not_500(app):
    client = TestClient(app, headers={"Authorization": "Bearer " + "x" * 5000})
    assert client.get("/api/v1/me").status_code == 401
    assert token_for("ct") != "x"


def test_rotating_the_secret_key_logs_every_browser_out_but_keeps_api_tokens(app, settings, clock, engine):
    from siaga.app import create_app

    client = browser(app)
    login(client)
    cookie = client.cookies.get("siaga_session")
    rotated = create_app(settings.model_copy(update={"secret_key": "rotated"}), clock=clock, engine=engine)
    after = TestClient(rotated, raise_server_exceptions=False, base_url="http://127.0.0.1:8112")
    after.cookies.set("siaga_session", cookie)
    assert after.get("/api/v1/me").status_code == 401
    machine = TestClient(rotated, headers={"Authorization": f"Bearer {token_for('phone')}"})
    assert machine.get("/api/v1/me").status_code == 200
