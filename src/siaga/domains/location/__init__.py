"""Caller location as networks send it: PIDF-LO (RFC 4119 / 5491 / 5139) by value or by reference in a SIP
INVITE, and Advanced Mobile Location (ETSI TS 103 625) by SMS or HTTPS. The parsers are pure and bounded;
every location they find becomes a `calls.schemas.LocationIn`, valid or marked invalid with the reason."""

from siaga.domains.location.errors import AmlAuthError, AmlError, LocationError

__all__ = ["AmlAuthError", "AmlError", "LocationError"]
