"""The one source of 'now': injected so tests and simulations control time. Always UTC-aware."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from siaga.settings import known_zone

if TYPE_CHECKING:
    from siaga.settings import Settings

# The names Indonesians read on a clock; any other zone is labelled by its offset from UTC.
INDONESIAN_LABELS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
                     "Asia/Ujung_Pandang": "WITA", "Asia/Jayapura": "WIT"}


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


def _offset_label(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True)
class SiteZone:
    """The site's time zone (settings.timezone): the one in which days, hours, shifts, incident-number years
    and response-plan windows are reckoned and times are shown. A value, not a global, so a test can run a
    WITA site beside the default WIB one."""

    name: str
    tz: ZoneInfo
    label: str  # WIB / WITA / WIT, else the zone's fixed UTC offset ("UTC+07:00"), else its name (it has DST)

    @classmethod
    def named(cls, name: str) -> SiteZone:
        """The zone called `name`; ValueError with a readable message when zoneinfo does not know it."""
        return _zone(name)

    @property
    def long_label(self) -> str:
        """'WIB (UTC+07:00)' where the zone keeps one offset; the bare label (its name) where it has DST."""
        if self.label == self.name:
            return self.label
        offset = _offset_label(datetime(2026, 1, 1, 12, tzinfo=self.tz).utcoffset())
        return offset if self.label == offset else f"{self.label} ({offset})"

    @property
    def description(self) -> str:
        """'Asia/Jakarta (WIB, UTC+7)': how reports and exports name the zone their times are in."""
        if self.label == self.name:
            return self.name
        offset = _offset_label(datetime(2026, 1, 1, 12, tzinfo=self.tz).utcoffset()).replace(":00", "")
        offset = offset.replace("+0", "+").replace("-0", "-")
        return f"{self.name} ({self.label}, {offset})" if self.name in INDONESIAN_LABELS else f"{self.name} ({offset})"

    def label_at(self, moment: datetime) -> str:
        """The label for one moment: a zone with daylight saving has a different offset in summer."""
        if self.name in INDONESIAN_LABELS:
            return self.label
        return _offset_label(moment.astimezone(self.tz).utcoffset())

    @property
    def whole_hours(self) -> bool:
        """Whether every offset of the zone is a whole number of hours, so each UTC hour lies in one local hour."""
        return all(_offset_minutes(self.tz, year, month) % 60 == 0 for year in (1970, 2000, 2026)
                   for month in (1, 4, 7, 10))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def day_start(self, day: date) -> datetime:
        """00:00 local on `day`, as UTC."""
        return datetime.combine(day, time(0), self.tz).astimezone(UTC)

    def format(self, moment: datetime | None) -> str:
        """'27-11-2026 06:01:55 WIB' — how the consoles show a time."""
        if moment is None:
            return "—"
        return moment.astimezone(self.tz).strftime("%d-%m-%Y %H:%M:%S ") + self.label_at(moment)


def _offset_minutes(tz: ZoneInfo, year: int, month: int) -> int:
    offset = datetime(year, month, 1, 12, tzinfo=tz).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


@lru_cache(maxsize=64)
def _zone(name: str) -> SiteZone:
    tz = ZoneInfo(known_zone(name))
    if name in INDONESIAN_LABELS:
        label = INDONESIAN_LABELS[name]
    else:
        offsets = {datetime(2026, m, 1, 12, tzinfo=tz).utcoffset() for m in (1, 7)}
        label = _offset_label(offsets.pop()) if len(offsets) == 1 else name
    return SiteZone(name, tz, label)


def site_zone(settings: Settings) -> SiteZone:
    """The zone of this site, from SIAGA_TIMEZONE (checked when the settings are read)."""
    return _zone(settings.timezone)

