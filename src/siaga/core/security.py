"""Passwords (argon2id), session and API tokens (random, stored only as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

API_TOKEN_PREFIX = "siaga_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Compared against when the username does not exist, so both paths take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


def generate_password() -> str:
    """A one-time password a person can type: four groups of four from an unambiguous alphabet."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """API tokens: a plain SHA-256, so rotating the secret key does not cut off machine clients."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_digest(secret: str, cookie: str) -> str:
    """Browser sessions: keyed by HMAC-SHA256 with the secret key. A copy of the database alone cannot
    confirm a cookie, and rotating SIAGA_SECRET_KEY logs every browser out."""
    return hmac.new(secret.encode(), cookie.encode(), hashlib.sha256).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
