"""What the location parsers raise when an input cannot be read at all. A document that is read but has bad
parts never raises: its bad parts come back as invalid locations with the reason."""

from __future__ import annotations


class LocationError(ValueError):
    """The input is not a location document this parser can read at all (`reason` says why, one line)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AmlError(LocationError):
    """Not an Advanced Mobile Location message (no AML header, unknown version, not a form post...)."""


class AmlAuthError(AmlError):
    """An AML HTTPS post whose HMAC is missing or does not match the configured key."""
