"""Siaga 112: emergency call-handling and unified-response dispatch for an Indonesian regency."""

__version__ = "0.1.0"
