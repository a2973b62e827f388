"""Two-factor sign-in with TOTP (RFC 6238, what authenticator apps compute): secrets sealed at rest, codes checked
within one 30-second step either way and never accepted twice, recovery codes kept as keyed digests, and the
short-lived signed ticket that carries a correct password over to the code step."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ISSUER = "Siaga 112"
STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps either side of now: a phone clock 30 s off, or a code typed as it turned over
RECOVERY_CODES = 10
TICKET_SECONDS = 300  # time from a correct password to typing the code
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper and typed


def _key(secret_key: str, purpose: str) -> bytes:
    """A key of its own for each use, derived from the site's secret (SIAGA_SECRET_KEY): a key that leaks from
    one use tells nothing about the others, nor about the secret."""
    return hmac.new(secret_key.encode(), ("siaga-totp:" + purpose).encode(), hashlib.sha256).digest()


def new_secret() -> str:
    """160 random bits in base32, as RFC 4226 recommends and every authenticator app accepts."""
    return pyotp.random_base32(32)


def seal(secret_key: str, user_id: int, secret: str) -> str:
    """The TOTP secret encrypted (AES-256-GCM) for storage, bound to its user: a copy of the database alone does not
    yield codes, and a sealed secret moved onto another user's row does not open."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key(secret_key, "seal")).encrypt(nonce, secret.encode(), str(user_id).encode())
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret_key: str, user_id: int, stored: str) -> str | None:
    """The secret back, or None when it does not open (another user's row, a changed SIAGA_SECRET_KEY)."""
    if not stored.startswith("v1:"):
        return None
    try:
        raw = base64.urlsafe_b64decode(stored[3:].encode())
        return AESGCM(_key(secret_key, "seal")).decrypt(raw[:12], raw[12:], str(user_id).encode()).decode()
    except (InvalidTag, ValueError):
        return None


def provisioning_uri(secret: str, username: str, site: str = "") -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    issuer = f"{ISSUER} {site}".strip()
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=username,
                                                                                     issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as a QR code in inline SVG, drawn here: the secret never goes to an outside service."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff"))


def step_at(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_step(secret: str, code: str, now: datetime, last_step: int) -> int | None:
    """The time step whose code `code` is, within WINDOW steps of `now` and after `last_step` (the step of the
    last code accepted for this user: a code seen once, or one older than it, is refused). None: no match."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    now_step = step_at(now)
    found = None
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        # every candidate compared, in constant time: the answer's timing does not tell which step matched
        if hmac.compare_digest(code_at(secret, step), code) and step > last_step and found is None:
            found = step
    return found


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes for when the phone is lost: each 10 characters (about 50 bits), shown once, usable once."""
    return ["".join(secrets.choice(_ALPHABET) for _ in range(5)) + "-" +
            "".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(count)]


def looks_like_recovery_code(code: str) -> bool:
    return len(_normal(code)) == 10


def _normal(code: str) -> str:
    return "".join(ch for ch in code.casefold() if ch.isalnum())


def recovery_digest(secret_key: str, user_id: int, code: str) -> str:
    """What is stored of a recovery code: a digest keyed with the site's secret and bound to its user. Dashes,
    spaces and case do not matter when it is typed back."""
    message = f"{user_id}:{_normal(code)}".encode()
    return hmac.new(_key(secret_key, "recovery"), message, hashlib.sha256).hexdigest()


def make_ticket(secret_key: str, user_id: int, now: datetime) -> str:
    """A signed, short-lived proof that `user_id` gave the right password: the code step needs it. It opens no
    session by itself and holds nothing secret."""
    expires = int(now.timestamp()) + TICKET_SECONDS
    body = f"{user_id}.{expires}.{secrets.token_urlsafe(9)}"
    return body + "." + _sign(secret_key, body)


def read_ticket(secret_key: str, ticket: str, now: datetime) -> int | None:
    """The user a ticket was made for, or None when it is forged, garbled or expired."""
    body, _, signature = ticket.rpartition(".")
    parts = body.split(".")
    if len(parts) != 3 or not hmac.compare_digest(_sign(secret_key, body), signature):
        return None
    try:
        user_id, expires = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return user_id if now.timestamp() <= expires else None


def _sign(secret_key: str, body: str) -> str:
    return hmac.new(_key(secret_key, "ticket"), body.encode(), hashlib.sha256).hexdigest()[:32]
