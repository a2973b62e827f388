"""SQL expressions that mean the same on SQLite and PostgreSQL: seconds between two stored times, the UTC
hour (or quarter-hour) of a stored time, from which Python derives the calendar of the site's zone, and the
kecamatan of a kode wilayah."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float

from siaga.core.clock import SiteZone


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads like the SQL function it renders
    """`later − earlier` in seconds, rounded to the millisecond; NULL when either time is NULL."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # date_part() is double precision (EXTRACT is numeric since PostgreSQL 14, and slower).
    return f"(round(date_part('epoch', {later} - {earlier}) * 1000) / 1000)"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)"


class utc_hour(FunctionElement[Any]):  # noqa: N801
    """The UTC hour a stored time falls in: text 'YYYY-MM-DD HH' on SQLite, a timestamp (without time zone,
    UTC) on PostgreSQL — each the cheapest its database computes. WIB, WITA and WIT (and most zones) are a
    whole number of hours from UTC, so each UTC hour lies in exactly one local hour: grouping by it and
    converting the few thousand groups in Python (zoneinfo, so daylight saving too) gives every local
    calendar grouping (day, week, month, hour, day of week) from ONE scan, reads the stored text on SQLite
    instead of parsing each time with strftime, and needs no time zone support in the database."""

    inherit_cache = True
    name = "utc_hour"


@compiles(utc_hour, "postgresql")
def _utc_hour_pg(element: utc_hour, compiler: Any, **kw: Any) -> str:
    (col,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"date_trunc('hour', {col} AT TIME ZONE 'UTC')"


@compiles(utc_hour, "sqlite")
def _utc_hour_sqlite(element: utc_hour, compiler: Any, **kw: Any) -> str:
    (col,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"substr({col}, 1, 13)"  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), see db.base.UTCDateTime


class utc_quarter_hour(FunctionElement[Any]):  # noqa: N801
    """The UTC quarter-hour a stored time falls in ('YYYY-MM-DD HH:MM' on SQLite, a timestamp on PostgreSQL),
    for a zone whose offset is not whole hours (UTC+05:30, +05:45): every offset is a multiple of 15 minutes,
    so each quarter lies in exactly one local hour."""

    inherit_cache = True
    name = "utc_quarter_hour"


@compiles(utc_quarter_hour, "postgresql")
def _utc_quarter_pg(element: utc_quarter_hour, compiler: Any, **kw: Any) -> str:
    (col,) = (compiler.process(c, **kw) for c in element.clauses)
    utc = f"({col} AT TIME ZONE 'UTC')"
    return f"(date_trunc('hour', {utc}) + floor(date_part('minute', {utc}) / 15) * interval '15 minutes')"


@compiles(utc_quarter_hour, "sqlite")
def _utc_quarter_sqlite(element: utc_quarter_hour, compiler: Any, **kw: Any) -> str:
    (col,) = (compiler.process(c, **kw) for c in element.clauses)
    minute = f"substr({col}, 15, 2)"
    return (f"(substr({col}, 1, 14) || CASE WHEN {minute} < '15' THEN '00' WHEN {minute} < '30' THEN '15' "
            f"WHEN {minute} < '45' THEN '30' ELSE '45' END)")


def utc_cell(column: Any, whole_hours: bool) -> ColumnElement[Any]:
    """The finest UTC bucket that still lies in one local hour of the site's zone (SiteZone.whole_hours)."""
    return utc_hour(column) if whole_hours else utc_quarter_hour(column)


def local_of_cell(cell: str | datetime, zone: SiteZone) -> datetime:
    """The start of a utc_cell group, as the database returned it (text on SQLite, a naive UTC timestamp on
    PostgreSQL), in the site's zone."""
    if isinstance(cell, datetime):
        start = cell
    else:
        start = datetime.strptime(cell, "%Y-%m-%d %H:%M" if len(cell) > 13 else "%Y-%m-%d %H")
    return start.replace(tzinfo=UTC).astimezone(zone.tz)


def kecamatan_of(kode: Any) -> ColumnElement[str]:
    """The kecamatan code (14.03.16) of a kode wilayah at kecamatan or desa level; NULL above that level."""
    return case((func.length(kode) >= 8, func.substr(kode, 1, 8)), else_=None)
