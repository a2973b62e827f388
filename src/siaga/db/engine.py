"""Engines and units of work. SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE
for writers (so two writers queue instead of failing); PostgreSQL gets a pool and pre-ping. Both write
JSON columns with core.safejson.dumps, so a NaN stored on one is stored alike on the other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from siaga.core.safejson import dumps as json_dumps
from siaga.settings import multihost_url


def normalise_url(url: str) -> str:
    """postgresql:// and postgres:// mean psycopg 3 here; libpq's multi-host form
    (`postgresql://u:p@h1:5432,h2:5432/db?target_session_attrs=read-write`) becomes the `host=` query form
    SQLAlchemy parses (settings.multihost_url)."""
    url = multihost_url(url)
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


# How long connecting to PostgreSQL may take (libpq's connect_timeout, whole seconds, at least 2) unless the
# URL says otherwise: a host that drops packets, or a server that accepts and never answers, would otherwise
# hold a request (and /readyz, which monitoring polls) for as long as the kernel keeps trying.
CONNECT_TIMEOUT_SECONDS = 5
# A database server that vanishes without a word (power lost, cable cut: no TCP reset) would leave a pooled or
# LISTEN connection waiting for minutes, the kernel's retransmission and keepalive defaults. With two servers
# (docs/deployment.md) that is the failover case: an idle connection notices within ~19 s (10 s idle, then 3
# probes 3 s apart), one with unanswered data within 15 s (tcp_user_timeout), and libpq moves to the next host.
TCP_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3,
                 "tcp_user_timeout": 15000}


def make_engine(url: str, *, pool_size: int = 10, connect_timeout: int = CONNECT_TIMEOUT_SECONDS) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=pool_size, max_overflow=20, json_serializer=json_dumps)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # a committed call survives a power cut
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            write = conn.get_execution_options().get("siaga_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    connect_args = {k: v for k, v in {"connect_timeout": connect_timeout, **TCP_KEEPALIVE}.items()
                    if k not in parsed.query}
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True,
                         pool_recycle=1800, json_serializer=json_dumps, connect_args=connect_args)


def libpq_conninfo(engine: Engine) -> str:
    """The libpq connection string of a PostgreSQL engine, for the connections Siaga opens beside the pool
    (the event hub's LISTEN, the bridge's advisory lock): the dialect's own translation of the URL, so a
    multi-host URL keeps its host and port lists and `target_session_attrs` (a rendered SQLAlchemy URL would
    hand libpq `host=h1:5432` as one host name), with the pool's connect_timeout and TCP keepalives unless the
    URL sets them."""
    from psycopg.conninfo import make_conninfo

    _args, params = engine.dialect.create_connect_args(engine.url)
    params = {k: v for k, v in params.items() if k != "context" and v is not None}
    for key, value in {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **TCP_KEEPALIVE}.items():
        params.setdefault(key, value)
    return make_conninfo(**params)


# SQLSTATEs of a PostgreSQL that cannot be reached or is going away: connection exceptions (class 08),
# admin or crash shutdown, "cannot connect now" (starting up), too many connections.
_UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03", "53300")
_SQLITE_UNAVAILABLE = ("unable to open database file", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached (down, restarting, connection lost, file gone),
    as opposed to a statement it refused: the request may be retried as it is."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if type(orig).__module__.startswith("psycopg"):
        sqlstate = getattr(orig, "sqlstate", None)
        # No SQLSTATE: the client library's own failure (refused, reset, timed out), not the server's answer.
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
    return any(words in str(orig).lower() for words in _SQLITE_UNAVAILABLE)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def dialect_insert(bind: Engine | Connection | Session, model: Any) -> Any:
    """INSERT with ON CONFLICT for the dialect in use (SQLite and PostgreSQL both have it)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    name = (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name
    return (pg_insert if name == "postgresql" else sqlite_insert)(model)


def open_session(engine: Engine, *, write: bool, snapshot: bool = False) -> Session:
    """A session whose transaction is a writer (BEGIN IMMEDIATE on SQLite) or a reader.
    snapshot=True gives one consistent view for the whole transaction on PostgreSQL too."""
    options: dict[str, object] = {"siaga_write": write}
    if snapshot and engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    return Session(bind=engine.execution_options(**options), expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """For CLI commands, tickers and tests: commit on success, roll back on any error."""
    session = open_session(engine, write=write)
    try:
        with session.begin():
            yield session
    finally:
        session.close()


def insert_ignoring(table: Any, index: list[str], *returning: Any) -> dict[str, Any]:
    """`INSERT … ON CONFLICT (index) DO NOTHING RETURNING …` prebuilt for each dialect, keyed by
    `conn.dialect.name`: a row comes back only when this insert made it (a claim, a first event)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return {dialect: insert(table).on_conflict_do_nothing(index_elements=index).returning(*returning)
            for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
