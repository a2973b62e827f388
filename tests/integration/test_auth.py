"""Browser sessions, CSRF, API tokens and login throttling."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, token_for


def browser(app, address: str = "192.0.2.10", **headers: str) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1:8112",
                      client=(address, 50000), headers=headers)


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


def test_random_usernames_from_one_address_do_not_lock_out_a_colleague_behind_it(app, settings):
    """The probe's finding: 20 failures with random usernames from one NAT locked out everyone behind it.
    Now they slow only guesses of unknown usernames and wrong passwords from there."""
    attacker = browser(app, "198.51.100.7")  # the centre's one public address
    for n in range(settings.login_max_failures * 4):
        assert login(attacker, username=f"nobody{n}", password="x").status_code == 401
    throttled = login(attacker, username="another", password="x")
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    # wrong password for a real user looks the same as an unknown username: no way to enumerate users
    assert login(attacker, username="disp", password="x").status_code == 429
    colleague = browser(app, "198.51.100.7")
    assert login(colleague, username="sup").status_code == 200


def test_an_attack_on_one_account_slows_that_account_only(app, settings):
    attacker = browser(app, "198.51.100.7")
    for _ in range(settings.login_max_failures):
        assert login(attacker, username="disp", password="guess").status_code == 401
    assert login(attacker, username="disp").status_code == 429  # the pair is throttled
    assert login(browser(app, "198.51.100.7"), username="ct").status_code == 200  # another user, same NAT
    assert login(browser(app, "203.0.113.5"), username="disp").status_code == 200  # the owner, elsewhere


def test_guesses_from_many_addresses_together_slow_the_account(app, settings):
    for n in range(settings.login_max_failures * 4):
        assert login(browser(app, f"203.0.113.{n + 1}"), username="disp", password="guess").status_code == 401
    assert login(browser(app, "192.0.2.99"), username="disp").status_code == 429
    assert login(browser(app, "192.0.2.99"), username="ct").status_code == 200


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(app, settings, engine):
    from sqlalchemy import text

    def sessions_from() -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT ip FROM user_session")).scalars())

    # Without SIAGA_TRUSTED_PROXIES a client cannot name its own address (and so escape the throttle)
    assert login(browser(app, "192.0.2.10", **{"X-Forwarded-For": "10.9.9.9"})).status_code == 200
    assert sessions_from() == {"192.0.2.10"}
    app.state.settings = settings.model_copy(update={"trusted_proxies": "192.0.2.0/28, 2001:db8::1"})
    # behind the proxy: the address the proxy saw, not one the client put in front of it
    proxied = browser(app, "192.0.2.1", **{"X-Forwarded-For": "10.9.9.9, 100.64.0.8"})
    assert login(proxied, username="disp").status_code == 200
    assert "100.64.0.8" in sessions_from() and "10.9.9.9" not in sessions_from()
    # each user behind the proxy is throttled by their own address, not the proxy's
    for _ in range(settings.login_max_failures):
        login(browser(app, "192.0.2.1", **{"X-Forwarded-For": "100.64.0.66"}), username="sup", password="x")
    assert login(browser(app, "192.0.2.1", **{"X-Forwarded-For": "100.64.0.66"}), username="sup").status_code == 429
    assert login(browser(app, "192.0.2.1", **{"X-Forwarded-For": "100.64.0.67"}), username="sup").status_code == 200


def test_trusted_proxies_setting_refuses_what_is_not_an_address():
    import pytest
    from pydantic import ValidationError

    from siaga.settings import Settings

    with pytest.raises(ValidationError, match="not an address or network"):
        Settings(trusted_proxies="10.0.0.1, proxy.local")


def test_a_password_typed_as_the_username_is_never_stored(app, engine):
    from sqlalchemy import text

    secret = "Rahasia-Sekali-2026"
    assert login(browser(app), username=secret, password="x").status_code == 401
    assert login(browser(app), username="ct", password="wrong").status_code == 401
    with engine.connect() as conn:
        audit = [str(row) for row in conn.execute(text("SELECT * FROM audit_log"))]
        attempts = [str(row) for row in conn.execute(text("SELECT * FROM login_attempt"))]
    assert attempts and not any(secret in row or secret.casefold() in row for row in attempts + audit)
    assert any("login_failed" in row and "username_digest" in row for row in audit)
    assert any("login_failed" in row and '"ct"' in row for row in audit)  # a real user's name is kept


def test_a_new_password_ends_sessions_and_revokes_tokens(app, api, ctx_factory):
    from siaga.domains.users import actions
    from siaga.domains.users.service import get_by_username

    client = browser(app)
    assert login(client, username="disp").status_code == 200
    token = api("admin").post("/api/v1/tokens", json={"user_id": api("disp").get("/api/v1/me").json()["id"],
                                                      "name": "laptop"}).json()["token"]
    assert browser(app, Authorization=f"Bearer {token}").get("/api/v1/me").status_code == 200
    with ctx_factory("admin") as ctx:
        assert actions.set_password(ctx, get_by_username(ctx.db, "disp"), "a-new-password-1") == (1, 2)
    assert client.get("/api/v1/me").status_code == 401
    assert browser(app, Authorization=f"Bearer {token}").get("/api/v1/me").status_code == 401
    with ctx_factory("admin") as ctx:  # a machine client's tokens can be kept, and that is recorded
        user = get_by_username(ctx.db, "disp")
        assert actions.set_password(ctx, user, "a-new-password-2", keep_tokens=True) == (0, 0)


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
