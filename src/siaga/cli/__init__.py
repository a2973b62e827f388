"""`siaga` command line: serve, db upgrade, users, demo data, audit verification."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from siaga.core.authz import ROLES, SYSTEM
from siaga.core.clock import Clock
from siaga.core.context import Ctx
from siaga.core.errors import Problem
from siaga.db.engine import engine_for, unit_of_work
from siaga.settings import get_settings

app = typer.Typer(help="Siaga 112 — emergency call-handling and dispatch.", no_args_is_help=True,
                  add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users, passwords and API tokens.", no_args_is_help=True)
demo_app = typer.Typer(help="Bengkalis reference and demo data.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(code)


@contextmanager
def action_ctx() -> Iterator[Ctx]:
    """A unit of work acting as the system, with readable errors instead of tracebacks."""
    settings = get_settings()
    try:
        with unit_of_work(engine_for(settings.database_url)) as db:
            yield Ctx(db=db, actor=SYSTEM, clock=Clock(), settings=settings)
    except Problem as problem:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in problem.errors)
        from siaga.core.i18n import t

        fail(t(problem.code, "en", **problem.params) + (f" ({detail})" if detail else ""))
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            fail("the database has no schema yet: run `siaga db upgrade` first")
        fail(f"database error: {exc.orig}")


def alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent.parent / "db" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", get_settings().database_url.replace("%", "%%"))
    return cfg


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations (SQLite file or PostgreSQL from SIAGA_DATABASE_URL)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(), revision)
    except OperationalError as exc:
        fail(f"cannot reach the database: {exc.orig}")
    out.print(f"[green]Database at {revision}[/] ({_safe_url()})")


@db_app.command("current")
def db_current() -> None:
    """Show the applied migration."""
    from alembic import command

    command.current(alembic_config())


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    from siaga.db.engine import normalise_url

    return make_url(normalise_url(get_settings().database_url)).render_as_string(hide_password=True)


@app.command()
def serve(host: str = typer.Option(None, help="default SIAGA_HOST or 127.0.0.1"),
          port: int = typer.Option(None, help="default SIAGA_PORT or 8112"),
          workers: int = typer.Option(1, help="app processes (PostgreSQL only for more than one)")) -> None:
    """Serve the web console and the API."""
    import uvicorn

    settings = get_settings()
    if workers > 1 and settings.is_sqlite:
        fail("several workers need PostgreSQL (SIAGA_DATABASE_URL); SQLite serves one process")
    host, port = host or settings.host, port or settings.port
    out.print(f"Siaga 112 on [bold]http://{host}:{port}[/]  (API docs: http://{host}:{port}/docs)")
    uvicorn.run("siaga.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, log_level="info")


@users_app.command("add")
def users_add(username: str, role: str = typer.Option(..., help=" | ".join(ROLES)),
              name: str = typer.Option(..., "--name", help="full name"),
              agency: str = typer.Option(None, help="agency code, for agency_operator (e.g. DAMKAR)"),
              language: str = typer.Option("id", help="id or en")) -> None:
    """Add a user; prints a one-time password (stored only as an argon2id hash)."""
    from pydantic import ValidationError

    from siaga.domains.agencies.models import Agency
    from siaga.domains.users import actions, schemas

    with action_ctx() as ctx:
        agency_id = None
        if agency:
            agency_id = ctx.db.scalar(select(Agency.id).where(Agency.code == agency.upper()))
            if agency_id is None:
                fail(f"unknown agency code {agency!r}")
        try:
            data = schemas.UserCreate(username=username, full_name=name, role=role, agency_id=agency_id,
                                      language=language)
        except ValidationError as exc:
            fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        created = actions.create_user(ctx, data)
    out.print(f"User [bold]{created.username}[/] ({created.role}) created.")
    out.print(f"One-time password: [bold yellow]{created.one_time_password}[/]")


@users_app.command("password")
def users_password(username: str) -> None:
    """Give a user a new one-time password (ends their sessions)."""
    from siaga.core.security import generate_password
    from siaga.domains.users import actions
    from siaga.domains.users.service import get_by_username

    password = generate_password()
    with action_ctx() as ctx:
        user = get_by_username(ctx.db, username)
        if user is None:
            fail(f"no user {username!r}")
        actions.set_password(ctx, user, password)
    out.print(f"New one-time password for [bold]{username}[/]: [bold yellow]{password}[/]")


@users_app.command("token")
def users_token(username: str, name: str = typer.Option(..., help="what the token is for")) -> None:
    """Create an API token for a machine client (e.g. the telephony bridge, role telephony)."""
    from siaga.domains.users import actions, schemas
    from siaga.domains.users.service import get_by_username

    with action_ctx() as ctx:
        user = get_by_username(ctx.db, username)
        if user is None:
            fail(f"no user {username!r}")
        token = actions.create_api_token(ctx, schemas.TokenCreate(user_id=user.id, name=name))
    out.print(f"API token (shown once): [bold yellow]{token.token}[/]")


@demo_app.command("load")
def demo_load(incidents: bool = typer.Option(True, help="also create demo incidents and calls")) -> None:
    """Load the Bengkalis reference data, demo users (one-time passwords printed once) and incidents."""
    from siaga.data.demo import ensure_users, load_demo_incidents
    from siaga.data.load import load_reference

    with action_ctx() as ctx:
        report = load_reference(ctx)
        created = ensure_users(ctx)
        n = load_demo_incidents(ctx) if incidents else 0
    added = ", ".join(f"{v} {k}" for k, v in report.added.items()) or "nothing new"
    out.print(f"Reference data: {added}. Demo incidents: {n}.")
    if created:
        table = Table(title="Demo users — one-time passwords, shown only now")
        for col in ("username", "role", "password"):
            table.add_column(col)
        for u in created:
            table.add_row(u.username, u.role, u.password)
        out.print(table)
    else:
        out.print("Demo users exist already. Forgot a password? [bold]siaga users password admin[/]")


@demo_app.command("call")
def demo_call(number: str = typer.Argument("081234567890", help="the caller's number"),
              lat: float | None = typer.Option(None, help="caller location (network), e.g. 1.4660"),
              lon: float | None = typer.Option(None, help="e.g. 102.1040"),
              accuracy: float = typer.Option(250.0, help="metres")) -> None:
    """Ring a call into the call-takers' queue, as the SIP edge would (offered, then ringing)."""
    import secrets

    from pydantic import ValidationError

    from siaga.domains.calls import actions, schemas

    ref = "demo-" + secrets.token_hex(6)
    with action_ctx() as ctx:
        now = ctx.now()
        try:
            location = (schemas.LocationIn(source="network", lat=lat, lon=lon, accuracy_m=accuracy)
                        if lat is not None and lon is not None else None)
            for kind in ("offered", "ringing"):
                actions.ingest_call_event(ctx, schemas.CallEventIn(
                    event_id=f"{ref}-{kind}", call_ref=ref, type=kind, at=now, caller_number=number,
                    location=location if kind == "offered" else None))
        except ValidationError as exc:
            fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    out.print(f"Call from [bold]{number}[/] is ringing in the call-takers' queue (ref {ref}).")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 and list every break if an entry was changed or deleted."""
    from siaga.core.audit import verify_chain

    with action_ctx() as ctx:
        result = verify_chain(ctx.db)
    if result.ok:
        out.print(f"[green]Audit log intact[/]: {result.entries} entries, chain verified.")
        return
    for problem in result.problems:
        err.print(f"[red]✗[/] {problem}")
    fail(f"audit log has been tampered with ({len(result.problems)} problem(s) in {result.entries} entries)")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
