"""Alembic environment: the URL comes from the caller's config (siaga db upgrade) or SIAGA_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from siaga.db.engine import make_engine, normalise_url
from siaga.schema import Base  # noqa: F401  (registers every table)
from siaga.settings import get_settings

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(normalise_url(url), pool_size=1)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Never wait forever on a lock held by a running service: fail fast, retry later.
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.commit()  # SET autobegan a transaction; alembic must own its own
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
