"""SQL expressions that mean the same on SQLite and PostgreSQL: seconds between two stored times, the UTC
hour of a stored time (from which Python derives the WIB calendar: WIB is UTC+7 all year, Indonesia keeps
no daylight saving), and the kecamatan of a kode wilayah."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float


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
    UTC) on PostgreSQL — each the cheapest its database computes. WIB is a whole number of hours from
    UTC, so each UTC hour lies in exactly one WIB hour: grouping by it and converting the few thousand
    groups in Python gives every WIB calendar grouping (day, week, month, hour, day of week) from ONE
    scan, and reads the stored text on SQLite instead of parsing each time with strftime."""

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


def kecamatan_of(kode: Any) -> ColumnElement[str]:
    """The kecamatan code (14.03.16) of a kode wilayah at kecamatan or desa level; NULL above that level."""
    return case((func.length(kode) >= 8, func.substr(kode, 1, 8)), else_=None)
