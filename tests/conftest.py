"""Test databases: every test runs against a database in the seeded state, of the backend chosen by
SIAGA_TEST_BACKEND (sqlite or postgresql; `make test` runs the suite once for each).

Expensive things are built once per session (per xdist worker): the seed — migrations, the Bengkalis
reference data, one user and API token per role —, the engine, the settings and the app (Warehouse's
pattern). What a test changed is undone underneath them before the next test: SQLite copies the seeded
template back into the session's database through SQLite's backup API; PostgreSQL truncates and re-seeds
only the tables a test wrote to (triggers note them in an unlogged table).

Tests that touch no database (their fixtures never reach `seeded`, and they are not marked
`both_backends`) run once, in the SQLite pass; the PostgreSQL pass deselects them."""

from __future__ import annotations

import os

# Commands run in the test's process (tests/cli.py) print through consoles made when siaga.cli is first
# imported, at this width: a message is not wrapped mid-phrase wherever the suite happens to import it first.
os.environ["COLUMNS"] = "200"

import sqlite3  # noqa: E402
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Connection, Engine, Table, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from siaga.core.authz import SYSTEM
from siaga.core.clock import FixedClock
from siaga.core.context import Ctx
from siaga.core.security import digest, hash_password
from siaga.db.engine import make_engine, normalise_url, unit_of_work
from siaga.schema import Base
from siaga.settings import Settings

# No example is failed for its time (hypothesis's deadline): on 2 cores shared by the two passes an example can
# take ten times its idle time, and speed is the benchmarks' business, never a timed assertion here.
hypothesis_settings.register_profile("siaga", deadline=None)
hypothesis_settings.load_profile("siaga")

BACKEND = os.environ.get("SIAGA_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = normalise_url(os.environ.get("SIAGA_TEST_DATABASE_URL",
                                            "postgresql://postgres@127.0.0.1:5432/postgres"))
START = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 08:00 WIB

# username, role, agency code
TEST_USERS = [
    ("ct", "call_taker", None),
    ("disp", "dispatcher", None),
    ("sup", "supervisor", None),
    ("admin", "admin", None),
    ("damkar", "agency_operator", "DAMKAR"),
    ("dinkes", "agency_operator", "DINKES"),
    ("phone", "telephony", None),
]
PASSWORD = "correct horse battery staple"


def token_for(username: str) -> str:
    return f"siaga_test_token_for_{username}"


def pytest_report_header(config: pytest.Config) -> str:
    return f"siaga test backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass runs only what touches a database: a test whose fixtures reach the seeded
    database, or one marked both_backends (it makes databases of its own). The rest ran on SQLite."""
    if BACKEND != "postgresql":
        return
    keep, drop = [], []
    for item in items:
        needs_db = "seeded" in getattr(item, "fixturenames", ()) or item.get_closest_marker("both_backends")
        (keep if needs_db else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent.parent / "src/siaga/db/migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


def _seed(engine: Engine) -> None:
    from siaga.data.load import load_reference
    from siaga.domains.agencies.models import Agency
    from siaga.domains.users.models import ApiToken, User

    password_hash = hash_password(PASSWORD)
    with unit_of_work(engine) as db:
        ctx = Ctx(db=db, actor=SYSTEM, clock=FixedClock(START), settings=Settings())
        load_reference(ctx)
        agencies = {a.code: a.id for a in db.scalars(select(Agency))}
        for username, role, agency in TEST_USERS:
            user = User(username=username, full_name=f"Test {username}", role=role,
                        agency_id=agencies[agency] if agency else None, password_hash=password_hash,
                        language="id", active=True, created_at=START)
            db.add(user)
            db.flush()
            db.add(ApiToken(user_id=user.id, name="test", token_hash=digest(token_for(username)),
                            prefix=token_for(username)[:12], created_at=START))


@dataclass
class Seeded:
    url: str  # the session's database; reset to the seed before every test
    template: Path | None = None  # SQLite: the seeded database file
    rows: dict[str, list[dict[str, Any]]] | None = None  # PostgreSQL: the seed, table by table
    counts: dict[str, int] = field(default_factory=dict)
    mark: int = 0  # PostgreSQL: rows whose xmin is above this were written after the last reset
    setval: str = ""  # PostgreSQL: puts every sequence back (built once the engine exists)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a database through SQLite's backup API: page by page under SQLite's own locks, so connections
    still open on the target (a pool) see the new content; no file is swapped under them."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    if BACKEND == "sqlite":
        folder = tmp_path_factory.mktemp("seed")
        template = folder / "template.db"
        url = f"sqlite:///{template}"
        _migrate(url)
        engine = make_engine(url)
        _seed(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        live = folder / "siaga.db"
        _sqlite_copy(template, live)
        yield Seeded(url=f"sqlite:///{live}", template=template)
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"siaga_test_{worker}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    _migrate(url)
    engine = make_engine(url)
    _seed(engine)
    rows: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows[table.name] = [dict(r._mapping) for r in conn.execute(table.select())]
    seed = Seeded(url=url, rows=rows, counts={name: len(r) for name, r in rows.items()})
    with engine.begin() as conn:
        seed.mark = conn.execute(text("SELECT txid_current()")).scalar_one()
    engine.dispose()
    try:
        yield seed
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _written_tables(conn: Connection, seed: Seeded) -> list[Table]:
    """The tables a test changed: a row count that differs from the seed's, or a row version (xmin) newer
    than the last reset. Deleting and re-inserting the same number of rows shows as a newer xmin."""
    tables = Base.metadata.sorted_tables
    parts = [f"SELECT {i} AS i, count(*) AS n, count(*) FILTER (WHERE xmin::text::bigint > :mark) AS fresh "
             f'FROM "{t.name}"' for i, t in enumerate(tables)]
    result = conn.execute(text(" UNION ALL ".join(parts)), {"mark": seed.mark % 2**32})
    return [tables[i] for i, n, fresh in result if fresh or n != seed.counts[tables[i].name]]


def _reset_postgres(engine: Engine, seed: Seeded) -> None:
    assert seed.rows is not None
    with engine.begin() as conn:
        written = _written_tables(conn, seed)
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers, no FK checks
        for table in reversed(written):
            conn.execute(text(f'DELETE FROM "{table.name}"'))
        for table in written:
            if seed.rows[table.name]:
                conn.execute(insert(table), seed.rows[table.name])
        # Every sequence back to the seed's next value (a rolled-back insert moves one without a row).
        conn.execute(text(seed.setval))
        seed.mark = conn.execute(text("SELECT txid_current()")).scalar_one()


@pytest.fixture(scope="session")
def session_engine(seeded: Seeded) -> Iterator[Engine]:
    eng = make_engine(seeded.url)
    if eng.dialect.name == "postgresql":
        seeded.setval = _setval_sql_for(eng)
    yield eng
    eng.dispose()


def _setval_sql_for(engine: Engine) -> str:
    """setval for every table whose primary key has a sequence (asked of the database once)."""
    parts = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            if len(pk) != 1:
                continue
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": pk[0].name}).scalar()
            if seq:
                parts.append(f"setval('{seq}', COALESCE((SELECT MAX(\"{pk[0].name}\") FROM "
                             f'"{table.name}"), 0) + 1, false)')
    return "SELECT " + (", ".join(parts) or "1")


@pytest.fixture
def db_url(seeded: Seeded, session_engine: Engine) -> str:
    """The session's database, in the seeded state: whatever the previous test wrote is undone first."""
    if seeded.template is not None:
        session_engine.dispose()  # pooled connections reopen on the restored file
        _sqlite_copy(seeded.template, Path(make_url(seeded.url).database or ""))
    else:
        _reset_postgres(session_engine, seeded)
    from siaga.domains.regions.service import forget_geocoders

    forget_geocoders()  # it trusts its cache for a second: the database changed underneath it
    return seeded.url


@pytest.fixture
def engine(db_url: str, session_engine: Engine) -> Engine:
    return session_engine


@pytest.fixture(scope="session")
def session_clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def clock(session_clock: FixedClock) -> FixedClock:
    session_clock.set(START)
    return session_clock


@pytest.fixture(scope="session")
def session_settings(seeded: Seeded) -> Settings:
    # The deadline ticker is off: tests that need it drive it (tick / fire_due) with the fixed clock.
    # Two-step verification is required of no role: the suite signs in with passwords; TOTP tests require it.
    return Settings(database_url=seeded.url, secret_key="test", event_poll_seconds=0.2,
                    sse_keepalive_seconds=0.5, deadline_tick_seconds=0, totp_required_roles="")


@pytest.fixture
def settings(db_url: str, session_settings: Settings) -> Settings:
    return session_settings


@pytest.fixture(scope="session")
def session_app(session_settings: Settings, session_clock: FixedClock, session_engine: Engine):  # type: ignore[no-untyped-def]
    from siaga.app import create_app

    return create_app(session_settings, clock=session_clock, engine=session_engine)


@pytest.fixture
def app(session_app, settings: Settings, clock: FixedClock, engine: Engine):  # type: ignore[no-untyped-def]
    """The session's app (built once; its lifespan is never run here: live_server serves an app of its
    own), with what a test may have changed on it put back."""
    session_app.state.settings = settings
    return session_app


@pytest.fixture
def api(app):  # type: ignore[no-untyped-def]
    """API clients per role, authenticated with that role's API token: api('disp').post(...)."""
    from fastapi.testclient import TestClient

    clients: dict[str, TestClient] = {}

    def get(username: str | None = None) -> TestClient:
        key = username or ""
        if key not in clients:
            headers = {"Authorization": f"Bearer {token_for(username)}"} if username else {}
            clients[key] = TestClient(app, headers=headers, raise_server_exceptions=False)
        return clients[key]

    yield get
    for c in clients.values():
        c.close()


@pytest.fixture
def ctx_factory(engine: Engine, clock: FixedClock, settings: Settings):  # type: ignore[no-untyped-def]
    """Open a unit of work acting as a seeded user: `with ctx_factory('disp') as ctx: ...`."""
    from contextlib import contextmanager

    from siaga.domains.users.actions import principal_of
    from siaga.domains.users.models import User

    @contextmanager
    def make(username: str = "disp") -> Iterator[Ctx]:
        with unit_of_work(engine) as db:
            user = db.scalar(select(User).where(User.username == username))
            assert user is not None
            yield Ctx(db=db, actor=principal_of(user), clock=clock, settings=settings)

    return make


def ids(api_get, path: str, who: str = "admin", key: str = "code") -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {row[key]: row["id"] for row in api_get(who).get(path).json()}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(settings: Settings, clock: FixedClock, engine: Engine):  # type: ignore[no-untyped-def]
    """An app of its own served by a real uvicorn on a free port (in a thread): a real HTTP peer for SSE.
    Its own, not the session's: the hub and the ticker it starts belong to this server's event loop."""
    import threading
    import time

    import uvicorn

    from siaga.app import create_app

    app = create_app(settings, clock=clock, engine=engine)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    assert not thread.is_alive(), "the app did not shut down within 10 s"


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend under test, of the test's own (migrations, a new site)."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"siaga_empty_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
