"""TOTP codes, sealed secrets, recovery codes and sign-in tickets (core.totp), without a database."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.core import totp
from siaga.core.authz import HUMAN_ROLES
from siaga.settings import HUMAN_ROLES as SETTINGS_HUMAN_ROLES
from siaga.settings import Settings

KEY = "site secret"
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
secrets_ = st.binary(min_size=20, max_size=20).map(lambda b: base64.b32encode(b).decode())


@settings(max_examples=200, deadline=None)
@given(secret=secrets_, now=moments, offset=st.integers(-1, 1))
def test_a_code_within_one_step_either_way_is_accepted_once(secret: str, now: datetime, offset: int) -> None:
    step = totp.step_at(now) + offset
    code = pyotp.TOTP(secret).at(step * totp.STEP_SECONDS)  # what the phone shows
    found = totp.matching_step(secret, code, now, last_step=0)
    assert found is not None and totp.code_at(secret, found) == code
    assert found == step or totp.code_at(secret, step) == totp.code_at(secret, found)  # a 1-in-a-million twin
    # the step it matched is remembered: the same code (or one from before it) is refused from then on
    assert totp.matching_step(secret, code, now, last_step=found) is None


@settings(max_examples=200, deadline=None)
@given(secret=secrets_, now=moments, offset=st.integers(2, 10_000), sign=st.sampled_from([-1, 1]))
def test_a_code_two_or_more_steps_away_is_refused(secret: str, now: datetime, offset: int, sign: int) -> None:
    code = totp.code_at(secret, totp.step_at(now) + sign * offset)
    window = {totp.code_at(secret, totp.step_at(now) + d) for d in (-1, 0, 1)}
    found = totp.matching_step(secret, code, now, last_step=0)
    assert found is None or code in window  # only a code that happens to equal one in the window


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 34 5"])
def test_what_is_not_six_ascii_digits_is_no_code(typed: str) -> None:
    secret = totp.new_secret()
    assert totp.matching_step(secret, typed, datetime(2026, 12, 5, tzinfo=UTC), 0) is None


def test_spaces_in_a_typed_code_do_not_matter() -> None:
    secret, now = totp.new_secret(), datetime(2026, 12, 5, tzinfo=UTC)
    code = totp.code_at(secret, totp.step_at(now))
    assert totp.matching_step(secret, f" {code[:3]} {code[3:]} ", now, 0) == totp.step_at(now)


def test_the_secret_is_sealed_for_its_user_and_key() -> None:
    secret = totp.new_secret()
    sealed = totp.seal(KEY, 7, secret)
    assert secret not in sealed and totp.unseal(KEY, 7, sealed) == secret
    assert totp.unseal(KEY, 8, sealed) is None  # moved onto another user's row
    assert totp.unseal("another key", 7, sealed) is None
    assert totp.unseal(KEY, 7, sealed[:-4] + "AAAA") is None
    assert totp.unseal(KEY, 7, "garbage") is None


def test_the_enrolment_qr_code_is_inline_svg_of_the_otpauth_uri() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "sup")
    assert uri.startswith("otpauth://totp/") and "secret=JBSWY3DPEHPK3PXP" in uri and "Siaga" in uri
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg") and "http" not in svg


def test_recovery_codes_are_unique_and_their_digest_ignores_case_and_dashes() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == totp.RECOVERY_CODES == len(set(codes))
    code = codes[0]
    assert totp.looks_like_recovery_code(code) and not totp.looks_like_recovery_code("123456")
    digest = totp.recovery_digest(KEY, 3, code)
    assert totp.recovery_digest(KEY, 3, code.upper().replace("-", " ")) == digest
    assert totp.recovery_digest(KEY, 4, code) != digest and code not in digest


def test_a_ticket_names_its_user_until_it_expires_and_cannot_be_forged() -> None:
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    ticket = totp.make_ticket(KEY, 42, now)
    assert totp.read_ticket(KEY, ticket, now + timedelta(seconds=totp.TICKET_SECONDS)) == 42
    assert totp.read_ticket(KEY, ticket, now + timedelta(seconds=totp.TICKET_SECONDS + 1)) is None
    assert totp.read_ticket("another key", ticket, now) is None
    forged = "43" + ticket[2:]
    assert totp.read_ticket(KEY, forged, now) is None
    assert totp.read_ticket(KEY, "1.2.3", now) is None and totp.read_ticket(KEY, "", now) is None


def test_required_roles_are_checked_when_the_settings_are_read() -> None:
    assert SETTINGS_HUMAN_ROLES == HUMAN_ROLES
    assert Settings(totp_required_roles="admin, supervisor").totp_roles() == {"admin", "supervisor"}
    assert Settings(totp_required_roles="").totp_roles() == frozenset()
    assert Settings.model_fields["totp_required_roles"].default == "admin,supervisor"
    with pytest.raises(ValueError, match="admni"):
        Settings(totp_required_roles="admni")
    with pytest.raises(ValueError, match="telephony"):
        Settings(totp_required_roles="telephony")  # machine clients use API tokens
