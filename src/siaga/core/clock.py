"""The one source of 'now': injected so tests and simulations control time. Always UTC-aware."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock that only moves when told to (tests, simulation)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **kwargs: float) -> datetime:
        with self._lock:
            self._now += timedelta(**kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        """Move to `when` (aware), forwards or back: a test starting again from its fixed start."""
        if when.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        with self._lock:
            self._now = when.astimezone(UTC)


def to_local(dt: datetime | None, tz: ZoneInfo = WIB) -> datetime | None:
    return dt.astimezone(tz) if dt is not None else None


def format_local(dt: datetime | None, tz: ZoneInfo = WIB) -> str:
    """'27-11-2026 06:01:55 WIB' — how the consoles show a time."""
    if dt is None:
        return "—"
    local = dt.astimezone(tz)
    return local.strftime("%d-%m-%Y %H:%M:%S ") + (local.tzname() or "")
