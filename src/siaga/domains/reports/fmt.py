"""Numbers, durations and dates the way each language writes them: 1.026 and 12,5 in Indonesian, 1,026
and 12.5 in English; times in the site's zone."""

from __future__ import annotations

from datetime import datetime

from siaga.core.clock import SiteZone
from siaga.core.i18n import t
from siaga.domains.kpi.service import Period, format_day
from siaga.domains.kpi.service import month_name as month_name

DASH = "—"


def integer(value: int | float | None, lang: str) -> str:
    if value is None:
        return DASH
    text = f"{int(value):,}"
    return text.replace(",", ".") if lang == "id" else text


def decimal(value: float | None, lang: str, places: int = 1) -> str:
    if value is None:
        return DASH
    text = f"{value:,.{places}f}"
    if lang == "id":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def percent(value: float | None, lang: str) -> str:
    return DASH if value is None else decimal(value, lang) + "%"


def duration(seconds: float | None, lang: str) -> str:
    """Seconds up to 100 s, minutes beyond (stage times run to an hour)."""
    if seconds is None:
        return DASH
    if abs(seconds) < 100:
        return t("unit.seconds", lang, n=decimal(seconds, lang))
    return minutes(seconds / 60, lang)


def minutes(value: float | None, lang: str) -> str:
    """'12,5 mnt' / '12.5 min'."""
    return DASH if value is None else t("unit.minutes", lang, n=decimal(value, lang))


def period_text(period: Period, lang: str) -> str:
    """'1 Oktober 2026 – 31 Oktober 2026' (the last day shown is the day before `to`)."""
    first, last = period.start_date, period.last_day
    if first == last:
        return format_day(first, lang)
    return f"{format_day(first, lang)} – {format_day(last, lang)}"


def local_time(moment: datetime, lang: str, zone: SiteZone) -> str:
    """'27 November 2026 08:00 WIB' — in the site's zone, labelled with it."""
    local = zone.local(moment)
    return f"{format_day(local.date(), lang)} {local:%H:%M} {zone.label_at(moment)}"
