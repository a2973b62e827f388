"""Test databases: every test runs against a freshly seeded database of the backend chosen by
SIAGA_TEST_BACKEND (sqlite or postgresql; `make test` runs the suite once for each).

The seed — migrations, the Bengkalis reference data, one user and API token per role — is built once
per session; each test gets a copy (SQLite: a file copy; PostgreSQL: truncate and re-insert)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from siaga.core.authz import SYSTEM
from siaga.core.clock import FixedClock
from siaga.core.context import Ctx
from siaga.core.security import digest, hash_password
from siaga.db.engine import make_engine, normalise_url, unit_of_work
from siaga.db.models import Base
from siaga.settings import Settings

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
    url: str
    template: Path | None = None
    rows: dict[str, list[dict[str, Any]]] | None = None


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("seed") / "template.db"
        url = f"sqlite:///{path}"
        _migrate(url)
        engine = make_engine(url)
        _seed(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield Seeded(url=url, template=path)
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
    engine.dispose()
    try:
        yield Seeded(url=url, rows=rows)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _reset_postgres(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = [t for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers, no FK checks
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        for table in tables:
            if rows[table.name]:
                conn.execute(insert(table), rows[table.name])
            pk = list(table.primary_key.columns)
            if len(pk) != 1:
                continue
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": pk[0].name}).scalar()
            if seq:
                conn.execute(text(f"SELECT setval('{seq}', COALESCE((SELECT MAX({pk[0].name}) FROM "
                                  f'"{table.name}"), 0) + 1, false)'))


@pytest.fixture
def db_url(seeded: Seeded, tmp_path: Path) -> str:
    if seeded.template is not None:
        path = tmp_path / f"siaga-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(seeded.template, path)
        return f"sqlite:///{path}"
    engine = make_engine(seeded.url, pool_size=1)
    assert seeded.rows is not None
    _reset_postgres(engine, seeded.rows)
    engine.dispose()
    return seeded.url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(db_url: str) -> Settings:
    # The deadline ticker is off: tests that need it drive it (tick / fire_due) with the fixed clock.
    return Settings(database_url=db_url, secret_key="test", event_poll_seconds=0.2,
                    sse_keepalive_seconds=0.5, deadline_tick_seconds=0)


@pytest.fixture
def app(settings: Settings, clock: FixedClock, engine: Engine):  # type: ignore[no-untyped-def]
    from siaga.app import create_app

    return create_app(settings, clock=clock, engine=engine)


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
def live_server(app):  # type: ignore[no-untyped-def]
    """The test app served by a real uvicorn on a free port (in a thread): a real HTTP peer for SSE."""
    import threading
    import time

    import uvicorn

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
