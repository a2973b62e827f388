"""Two PostgreSQL servers behind one URL (issue #18): libpq's multi-host form is accepted as written, and
the connections Siaga opens beside the pool (the event hub's LISTEN, the bridge's lock) get every host."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from siaga.db.engine import libpq_conninfo, make_engine, normalise_url
from siaga.settings import Settings, multihost_url

LIBPQ = "postgresql://siaga:s3cret@10.0.0.1:5432,10.0.0.2:5433/siaga?target_session_attrs=read-write"


def test_libpq_multihost_form_becomes_sqlalchemy_host_query():
    url = make_url(normalise_url(LIBPQ))
    assert url.drivername == "postgresql+psycopg" and url.database == "siaga"
    assert url.username == "siaga" and url.password == "s3cret"
    assert url.query["host"] == ("10.0.0.1:5432", "10.0.0.2:5433")
    assert url.query["target_session_attrs"] == "read-write"


@pytest.mark.parametrize("url", [
    "sqlite:///var/siaga.db",
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql+psycopg://u@/db?host=a:1&host=b:2",
])
def test_other_urls_are_unchanged(url):
    assert multihost_url(url) == url


def test_without_query_or_password():
    assert multihost_url("postgres://u@h1,h2:6000/db") == "postgres://u@/db?host=h1&host=h2:6000"


def test_the_setting_takes_the_libpq_form():
    assert Settings(database_url=LIBPQ).database_url == multihost_url(LIBPQ)


def test_side_connections_get_every_host_and_a_connect_timeout():
    engine = make_engine(LIBPQ)
    info = dict(part.split("=", 1) for part in libpq_conninfo(engine).split())
    assert info["host"] == "10.0.0.1,10.0.0.2" and info["port"] == "5432,5433"
    assert info["target_session_attrs"] == "read-write" and info["connect_timeout"] == "5"
    assert info["dbname"] == "siaga" and info["user"] == "siaga"
    single = make_engine("postgresql://u:p@db:5432/x?connect_timeout=2")
    assert "connect_timeout=2" in libpq_conninfo(single) and "host=db" in libpq_conninfo(single)


def test_a_server_gone_silent_is_noticed_by_keepalives_unless_the_url_says_otherwise():
    engine = make_engine(LIBPQ + "&keepalives_idle=30")
    info = dict(part.split("=", 1) for part in libpq_conninfo(engine).split())
    assert info["keepalives"] == "1" and info["tcp_user_timeout"] == "15000"
    assert info["keepalives_idle"] == "30"  # the URL's own
