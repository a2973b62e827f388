"""Two-step sign-in with an authenticator app (TOTP): enrolment, the code step, the throttle and the audit, recovery
codes, sessions held to enrolment, the admin's and the command line's reset. Time steps move with the fixed clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siaga.core.audit import AuditEntry
from siaga.core.clock import FixedClock
from siaga.domains.users.models import LoginAttempt, RecoveryCode, UserTotp
from siaga.settings import Settings
from tests.conftest import PASSWORD, token_for
from tests.integration.test_auth import browser, login


@pytest.fixture
def settings(db_url: str, session_settings: Settings) -> Settings:
    """As shipped: administrators and supervisors must sign in with a second factor."""
    return session_settings.model_copy(update={"totp_required_roles": "admin,supervisor"})


def signed_in(app, username: str = "sup", address: str = "192.0.2.10") -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    client = browser(app, address)
    r = login(client, username)
    assert r.status_code == 200, r.text
    return client, r.json()["csrf_token"]


def code(secret: str, clock: FixedClock) -> str:
    return pyotp.TOTP(secret).at(clock.now())  # what the phone shows now


def enrol(client: TestClient, csrf: str, clock: FixedClock) -> tuple[str, list[str]]:
    started = client.post("/api/v1/me/totp", headers={"X-CSRF-Token": csrf})
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["qr_svg"].startswith("<svg") and secret in started.json()["otpauth_uri"]
    assert started.headers["cache-control"] == "no-store"
    confirmed = client.post("/api/v1/me/totp/confirm", json={"code": code(secret, clock)},
                            headers={"X-CSRF-Token": csrf})
    assert confirmed.status_code == 200, confirmed.text
    clock.advance(seconds=30)  # the code used to confirm is spent; sign-ins below use the next one
    return secret, confirmed.json()["recovery_codes"]


def enrolled(app, clock: FixedClock, username: str = "sup") -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    client, csrf = signed_in(app, username, "192.0.2.99")
    return enrol(client, csrf, clock)


def ticket_for(app, username: str = "sup", address: str = "192.0.2.10") -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    client = browser(app, address)
    r = login(client, username)
    assert r.status_code == 202, r.text
    assert "set-cookie" not in r.headers and client.get("/api/v1/me").status_code == 401
    assert r.json()["second_factor"] == "totp"
    return client, r.json()["ticket"]


def audit(engine: Engine, action: str) -> list[dict]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEntry.data).where(AuditEntry.action == action).order_by(AuditEntry.seq))
        return [json.loads(data) for (data,) in rows]


def user_id(api, username: str) -> int:  # type: ignore[no-untyped-def]
    return next(u["id"] for u in api("admin").get("/api/v1/users").json() if u["username"] == username)


def test_a_required_role_is_held_to_enrolment_until_it_enrols(app, api, clock):
    client, csrf = signed_in(app, "sup")
    r = client.get("/api/v1/incidents")
    assert r.status_code == 403 and r.json()["code"] == "totp_enrolment_required"
    assert "verifikasi dua langkah" in r.json()["title"]
    assert client.get("/api/v1/events").status_code == 403
    assert client.get("/api/v1/me").status_code == 200
    status = client.get("/api/v1/me/totp").json()
    assert status["required"] is True and status["enabled"] is False
    # the console sends every screen to the enrolment page, and shows nothing else there
    for path in ("/", "/board", "/incident/1", "/users"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/totp", path
    page = client.get("/totp")
    assert page.status_code == 200 and 'id="totp-required"' in page.text and 'href="/board"' not in page.text
    # an API token (a machine client, or a script) is not held
    assert api("sup").get("/api/v1/incidents").status_code == 200
    enrol(client, csrf, clock)
    assert client.get("/api/v1/incidents").status_code == 200
    assert client.get("/board", follow_redirects=False).status_code == 200


def test_a_role_that_does_not_require_it_signs_in_with_a_password_alone(app):
    client, _csrf = signed_in(app, "ct")
    assert client.get("/api/v1/incidents").status_code == 200
    assert client.get("/api/v1/me/totp").json() == {"enabled": False, "enabled_at": None, "pending": False,
                                                    "required": False, "recovery_codes_left": 0}


def test_after_enrolment_signing_in_needs_the_code(app, engine, clock):
    secret, codes = enrolled(app, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    client, ticket = ticket_for(app)
    r = client.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": code(secret, clock)})
    assert r.status_code == 200, r.text
    assert "HttpOnly" in r.headers["set-cookie"] and r.json()["user"]["username"] == "sup"
    assert client.get("/api/v1/incidents").status_code == 200
    assert audit(engine, "user.login")[-1] == {"ip": "192.0.2.10", "second_factor": "totp"}
    assert audit(engine, "user.totp_enabled")[-1] == {"recovery_codes": 10}


def test_the_secret_and_recovery_codes_are_not_stored_readable(app, engine, clock):
    secret, codes = enrolled(app, clock)
    with engine.connect() as conn:
        sealed = conn.execute(select(UserTotp.secret_sealed)).scalar_one()
        digests = set(conn.execute(select(RecoveryCode.digest)).scalars())
    assert secret not in sealed and sealed.startswith("v1:")
    assert len(digests) == 10 and not digests & set(codes)
    assert not any(c.replace("-", "") in d for c in codes for d in digests)


def test_a_wrong_code_is_a_failed_sign_in_throttled_and_audited(app, engine, clock, settings):
    secret, _codes = enrolled(app, clock)
    client, ticket = ticket_for(app)
    right = code(secret, clock)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(settings.login_max_failures):
        r = client.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": wrong})
        assert r.status_code == 401 and r.json()["code"] == "login_failed"
        assert "set-cookie" not in r.headers
    # the same throttle as passwords: this username from this address is refused, even with the right code...
    r = client.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": right})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # ...and with the right password
    assert login(client, "sup").status_code == 429
    failed = audit(engine, "user.login_failed")
    assert failed[-1] == {"username": "sup", "ip": "192.0.2.10", "factor": "totp"}
    assert len(failed) == settings.login_max_failures
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.known)) == len(failed)
    # another address is not locked out by it
    other, ticket = ticket_for(app, address="192.0.2.77")
    assert other.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": right}).status_code == 200


def test_a_code_is_accepted_once(app, clock):
    secret, _codes = enrolled(app, clock)
    used = code(secret, clock)
    client, ticket = ticket_for(app)
    assert client.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": used}).status_code == 200
    # someone who saw it typed, within the same half minute or the next
    thief, ticket = ticket_for(app, address="198.51.100.9")
    assert thief.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": used}).status_code == 401
    clock.advance(seconds=30)
    assert thief.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": used}).status_code == 401
    # the code of the step before the last one used is refused too, though still inside the window
    earlier = pyotp.TOTP(secret).at(clock.now(), counter_offset=-1)
    assert thief.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": earlier}).status_code == 401
    assert thief.post("/api/v1/auth/login/totp",
                      json={"ticket": ticket, "code": code(secret, clock)}).status_code == 200


def test_a_recovery_code_signs_in_once(app, engine, clock):
    _secret, codes = enrolled(app, clock)
    client, ticket = ticket_for(app)
    typed = codes[3].upper().replace("-", " ")  # read off paper
    r = client.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": typed})
    assert r.status_code == 200, r.text
    assert audit(engine, "user.login")[-1]["second_factor"] == "recovery_code"
    assert audit(engine, "user.login")[-1]["recovery_codes_left"] == 9
    assert client.get("/api/v1/me/totp").json()["recovery_codes_left"] == 9
    again, ticket = ticket_for(app, address="192.0.2.11")
    assert again.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": codes[3]}).status_code == 401
    assert again.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": codes[4]}).status_code == 200


def test_a_ticket_expires_and_cannot_be_forged(app, clock):
    secret, _codes = enrolled(app, clock)
    client, ticket = ticket_for(app)
    forged = client.post("/api/v1/auth/login/totp", json={"ticket": "1" + ticket, "code": code(secret, clock)})
    assert forged.status_code == 401 and forged.json()["code"] == "login_ticket_expired"
    clock.advance(seconds=301)
    late = client.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": code(secret, clock)})
    assert late.status_code == 401 and late.json()["code"] == "login_ticket_expired"


def test_admin_reset_is_audited_ends_sessions_and_enrolment_starts_again(app, api, engine, clock):
    secret, _codes = enrolled(app, clock)
    client, ticket = ticket_for(app)
    r = client.post("/api/v1/auth/login/totp", json={"ticket": ticket, "code": code(secret, clock)})
    assert r.status_code == 200
    sup = user_id(api, "sup")
    assert api("disp").delete(f"/api/v1/users/{sup}/totp").status_code == 403
    assert api("sup").delete(f"/api/v1/users/{sup}/totp").status_code == 403  # not one's own either
    assert api("admin").delete("/api/v1/users/999999/totp").status_code == 404
    assert api("admin").delete(f"/api/v1/users/{sup}/totp").status_code == 204
    assert client.get("/api/v1/me").status_code == 401  # the session ended
    entry = audit(engine, "user.totp_reset")[-1]
    assert entry == {"username": "sup", "had_totp": True, "sessions_ended": 2}
    # a password alone opens a session again, held to enrolment
    again, _csrf = signed_in(app, "sup")
    assert again.get("/api/v1/incidents").json()["code"] == "totp_enrolment_required"


def test_the_admin_users_page_resets_two_step_verification(app, api, engine, clock):
    enrolled(app, clock, "ct")
    admin, _csrf = signed_in(app, "admin")
    enrol(admin, _csrf, clock)
    page = admin.get("/users")
    assert page.status_code == 200 and 'id="user-ct"' in page.text
    ct = user_id(api, "ct")
    forged = admin.post(f"/users/{ct}/totp/reset", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert forged.status_code == 403
    r = admin.post(f"/users/{ct}/totp/reset", data={"csrf_token": _csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/users?reset=ct"
    assert audit(engine, "user.totp_reset")[-1]["username"] == "ct"
    assert 'id="users-done"' in admin.get(r.headers["location"]).text
    dispatcher, _ = signed_in(app, "disp")
    assert dispatcher.get("/users").status_code == 403


def test_disabling_needs_a_current_code_and_a_role_that_allows_it(app, engine, clock, settings):
    client, csrf = signed_in(app, "ct")
    secret, _codes = enrol(client, csrf, clock)
    wrong = client.request("DELETE", "/api/v1/me/totp", json={"code": "000000" if code(secret, clock) != "000000"
                                                                else "111111"}, headers={"X-CSRF-Token": csrf})
    assert wrong.status_code == 422 and wrong.json()["code"] == "totp_code_wrong"
    assert audit(engine, "user.login_failed")[-1]["to"] == "disable"  # counted like a failed sign-in
    r = client.request("DELETE", "/api/v1/me/totp", json={"code": code(secret, clock)}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert audit(engine, "user.totp_disabled")
    assert login(browser(app, "192.0.2.12"), "ct").status_code == 200  # a password alone again
    sup, sup_csrf = signed_in(app, "sup")
    sup_secret, _ = enrol(sup, sup_csrf, clock)
    refused = sup.request("DELETE", "/api/v1/me/totp", json={"code": code(sup_secret, clock)},
                          headers={"X-CSRF-Token": sup_csrf})
    assert refused.status_code == 403 and refused.json()["code"] == "totp_required_by_role"


def test_enrolment_confirms_only_with_a_code_from_the_new_secret(app, clock):
    client, csrf = signed_in(app, "sup")
    headers = {"X-CSRF-Token": csrf}
    assert client.post("/api/v1/me/totp/confirm", json={"code": "123456"}, headers=headers).json()["code"] == \
        "totp_not_started"
    first = client.post("/api/v1/me/totp", headers=headers).json()["secret"]
    second = client.post("/api/v1/me/totp", headers=headers).json()["secret"]  # started again: a new secret
    assert first != second
    r = client.post("/api/v1/me/totp/confirm", json={"code": code(first, clock)}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "totp_code_wrong"
    assert client.get("/api/v1/me/totp").json()["pending"] is True
    r = client.post("/api/v1/me/totp/confirm", json={"code": code(second, clock)}, headers=headers)
    assert r.status_code == 200
    assert client.post("/api/v1/me/totp", headers=headers).json()["code"] == "totp_already_enabled"


def test_the_console_asks_for_the_code_after_the_password(app, clock):
    secret, _codes = enrolled(app, clock)
    client = browser(app)
    page = client.post("/login", data={"username": "sup", "password": PASSWORD, "next": "/board"},
                       follow_redirects=False)
    assert page.status_code == 200 and 'name="ticket"' in page.text and "set-cookie" not in page.headers
    ticket = page.text.split('name="ticket" value="')[1].split('"')[0]
    wrong = client.post("/login/totp", data={"ticket": ticket, "code": "12345x", "next": "/board"})
    assert wrong.status_code == 401 and 'name="ticket"' in wrong.text and "login-error" in wrong.text
    r = client.post("/login/totp", data={"ticket": ticket, "code": code(secret, clock), "next": "/board"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?next=/board"
    assert client.get("/board", follow_redirects=False).status_code == 200


def test_the_command_line_resets_a_locked_out_admin(app, db_url, engine, clock):
    enrolled(app, clock, "admin")
    env = {**os.environ, "SIAGA_DATABASE_URL": db_url, "SIAGA_SECRET_KEY": "test", "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "siaga", "users", "totp-reset", "admin"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "reset" in r.stdout and "Sessions ended: 1" in r.stdout
    assert audit(engine, "user.totp_reset")[-1] == {"username": "admin", "had_totp": True, "sessions_ended": 1}
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(UserTotp)) == 0


def test_api_tokens_are_not_asked_for_a_code(app, api, clock):
    enrolled(app, clock, "admin")
    client = TestClient(app, headers={"Authorization": f"Bearer {token_for('admin')}"})
    assert client.get("/api/v1/users").status_code == 200
