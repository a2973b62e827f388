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

import siaga.schema  # noqa: F401  every table is known before any command touches the database (foreign keys)
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
roads_app = typer.Typer(help="Road network for closest-unit recommendations.", no_args_is_help=True)
app.add_typer(roads_app, name="roads")

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
        from siaga.core.i18n import problem_title

        fail(problem_title(problem.code, "en", **problem.params) + (f" ({detail})" if detail else ""))
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
    from urllib.parse import unquote

    from sqlalchemy.engine import make_url

    from siaga.db.engine import normalise_url

    # unquoted: a multi-host URL's `host=a:5432` reads as written, not `host=a%3A5432`
    return unquote(make_url(normalise_url(get_settings().database_url)).render_as_string(hide_password=True))


@app.command()
def serve(host: str = typer.Option(None, help="default SIAGA_HOST or 127.0.0.1"),
          port: int = typer.Option(None, help="default SIAGA_PORT or 8112"),
          workers: int = typer.Option(1, help="app processes (PostgreSQL only for more than one)")) -> None:
    """Serve the web console and the API."""
    import uvicorn

    from siaga.core.http_limits import LimitedHttp

    settings = get_settings()
    if workers > 1 and settings.is_sqlite:
        fail("several workers need PostgreSQL (SIAGA_DATABASE_URL); SQLite serves one process")
    host, port = host or settings.host, port or settings.port
    out.print(f"Siaga 112 on [bold]http://{host}:{port}[/]  (API docs: http://{host}:{port}/docs)")
    # Consoles' event streams end as soon as the stop is asked (app._close_streams_on_stop); any other
    # request still running gets a few seconds, not the two minutes a console could hold the process for.
    # The request's head and body are limited in size and time before any route runs (core.http_limits).
    uvicorn.run("siaga.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, log_level="info", timeout_graceful_shutdown=5, http=LimitedHttp)


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
            fail("; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in exc.errors()))
        created = actions.create_user(ctx, data)
    out.print(f"User [bold]{created.username}[/] ({created.role}) created.")
    out.print(f"One-time password: [bold yellow]{created.one_time_password}[/]")


@users_app.command("password")
def users_password(username: str, keep_tokens: bool = typer.Option(
        False, "--keep-tokens", help="keep the user's API tokens (e.g. a machine client's) working")) -> None:
    """Give a user a new one-time password: ends their sessions and revokes their API tokens."""
    from siaga.core.security import generate_password
    from siaga.domains.users import actions
    from siaga.domains.users.service import get_by_username

    password = generate_password()
    with action_ctx() as ctx:
        user = get_by_username(ctx.db, username)
        if user is None:
            fail(f"no user {username!r}")
        ended, revoked = actions.set_password(ctx, user, password, keep_tokens=keep_tokens)
    out.print(f"New one-time password for [bold]{username}[/]: [bold yellow]{password}[/]")
    out.print(f"Sessions ended: {ended}. API tokens revoked: {revoked}"
              + (" (tokens kept: --keep-tokens)." if keep_tokens else "."))


@users_app.command("totp-reset")
def users_totp_reset(username: str) -> None:
    """Remove a user's two-step verification (a lost phone, an administrator locked out with no other admin):
    their authenticator and recovery codes go and their sessions end; audited. They enrol again at next sign-in."""
    from siaga.domains.users import actions
    from siaga.domains.users.service import get_by_username

    with action_ctx() as ctx:
        user = get_by_username(ctx.db, username)
        if user is None:
            fail(f"no user {username!r}")
        ended = actions.reset_totp(ctx, user)
    out.print(f"Two-step verification of [bold]{username}[/] reset. Sessions ended: {ended}.")


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
    """Load the site's reference data (Bengkalis unless SIAGA_SITE_DIR), demo users (one-time passwords
    printed once) and, for Bengkalis, demo incidents."""
    from siaga.data.demo import ensure_users, load_demo_incidents
    from siaga.data.load import load_reference
    from siaga.data.places import correct_superseded_places

    settings = get_settings()
    with action_ctx() as ctx:
        report = load_reference(ctx, settings.site_folder)
        corrected = correct_superseded_places(ctx, settings.site_folder)
        created = ensure_users(ctx)
        # The demo incidents are placed in Bengkalis: another site gets its users, not Bengkalis' fires.
        n = load_demo_incidents(ctx) if incidents and settings.site_dir is None else 0
    added = ", ".join(f"{v} {k}" for k, v in report.added.items()) or "nothing new"
    out.print(f"Reference data: {added}. Demo incidents: {n}.")
    if corrected:
        out.print(f"Tempat dikoreksi / places corrected: {corrected} (stations, patokan and units moved from a "
                  "point once shipped wrong into the desa they name; see the audit log, place.correct)")
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
            fail("; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in exc.errors()))
    out.print(f"Call from [bold]{number}[/] is ringing in the call-takers' queue (ref {ref}).")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain and, with SIAGA_AUDIT_KEY_FILE and SIAGA_AUDIT_WITNESS set, the chain against
    the signed checkpoints outside the database; exit 1 and list every break."""
    from siaga.core.audit import verify_chain
    from siaga.core.audit_anchor import load_key, verify_anchor

    settings = get_settings()
    anchored = bool(settings.audit_key_file and settings.audit_witness)
    with action_ctx() as ctx:
        result = verify_chain(ctx.db)
        anchor = verify_anchor(ctx.db, load_key(settings.audit_key_file), settings.audit_witness) \
            if anchored else None
    problems = result.problems + (anchor.problems if anchor else [])
    if not problems:
        out.print(f"[green]Audit log chain intact[/]: {result.entries} entries, chain verified.")
        if anchor is None:
            out.print("[yellow]Not anchored[/]: no SIAGA_AUDIT_KEY_FILE/SIAGA_AUDIT_WITNESS; a database owner "
                      "could cut or rewrite the log unseen.")
        elif anchor.checkpoints == 0:
            out.print("[yellow]Not anchored yet[/]: the witness holds no checkpoint; run `siaga audit checkpoint`.")
        else:
            out.print(f"Anchored: {anchor.checkpoints} signed checkpoint(s); covered from {anchor.first_covered} "
                      f"up to entry {anchor.covered_seq}.")
        return
    for problem in problems:
        err.print(f"[red]✗[/] {problem}")
    fail(f"audit log has been tampered with ({len(problems)} problem(s) in {result.entries} entries)")


@audit_app.command("keygen")
def audit_keygen(path: Path = typer.Argument(..., help="where to write the key (never in the database)")) -> None:
    """Create the audit anchoring key; then set SIAGA_AUDIT_KEY_FILE to it."""
    from siaga.core.audit_anchor import keygen

    try:
        keygen(str(path))
    except FileExistsError:
        fail(f"{path} already exists; a key is never overwritten")
    out.print(f"Audit key written to {path} (mode 600). Set SIAGA_AUDIT_KEY_FILE={path}.")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the ledger head and append it to the witness file."""
    from siaga.core.audit_anchor import checkpoint, load_key

    settings = get_settings()
    if not (settings.audit_key_file and settings.audit_witness):
        fail("set SIAGA_AUDIT_KEY_FILE and SIAGA_AUDIT_WITNESS first")
    with action_ctx() as ctx:
        seq, hash_ = checkpoint(ctx.db, load_key(settings.audit_key_file), settings.audit_witness, ctx.clock.now())
    out.print(f"Checkpoint written: entry {seq}, {hash_[:16]}…")


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not (-180 <= parts[0] < parts[2] <= 180 and -90 <= parts[1] < parts[3] <= 90):
        fail(f"--bbox must be MIN_LON,MIN_LAT,MAX_LON,MAX_LAT (west,south,east,north), got {value!r}")
    return parts  # type: ignore[return-value]


@roads_app.command("import")
def roads_import(file: Path = typer.Argument(..., help="OpenStreetMap extract: .osm.pbf (or .osm, .osm.bz2)"),
                 bbox: str = typer.Option(None, help="keep only MIN_LON,MIN_LAT,MAX_LON,MAX_LAT, "
                                          "e.g. 100.9,0.9,102.6,2.2 for Bengkalis")) -> None:
    """Replace the stored road network with the roads and ferries of an OpenStreetMap extract, in one
    transaction: a file that cannot be read leaves the stored network as it was."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from siaga.domains.roads import actions
    from siaga.domains.roads.importer import RoadImportError, read_osm

    box = _bbox(bbox)
    labels = {"read": "Reading OSM ways", "nodes": "Writing road nodes", "edges": "Writing road edges"}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            parsed = read_osm(file, bbox=box, progress=progress)
        except RoadImportError as exc:
            fail(f"{exc}. The stored road network is unchanged.")
        with action_ctx() as ctx:
            network = actions.replace_network(ctx, parsed, progress=progress)
    out.print(f"[green]Road network imported[/]: {network.node_count} nodes, {network.edge_count} edges "
              f"from {network.source}.")


@roads_app.command("info")
def roads_info() -> None:
    """Show the stored road network (source, size, bounding box, demo or not)."""
    from siaga.domains.roads import schemas, service

    with action_ctx() as ctx:
        network = service.current_network(ctx.db)
        info = schemas.NetworkOut.model_validate(network) if network else None
    if info is None:
        out.print("No road network stored. [bold]siaga roads import FILE.osm.pbf[/] (or `siaga demo load`).")
        return
    out.print(f"{info.source}: {info.node_count} nodes, {info.edge_count} edges, "
              f"imported {info.imported_at:%Y-%m-%d %H:%M} UTC, lat {info.min_lat:.4f}..{info.max_lat:.4f}, "
              f"lon {info.min_lon:.4f}..{info.max_lon:.4f}")
    if info.is_demo:
        out.print("[bold yellow]Demo network: approximate, not for operational use.[/]")
    if info.note:
        out.print(info.note)


@roads_app.command("recommend")
def roads_recommend(lat: float = typer.Argument(..., help="incident latitude, e.g. 1.4652"),
                    lon: float = typer.Argument(..., help="incident longitude, e.g. 102.1070"),
                    limit: int = typer.Option(5, help="how many units to offer"),
                    unit_type: list[str] = typer.Option(None, "--type", help="only these unit types (repeatable)"),
                    language: str = typer.Option("en", help="id or en")) -> None:
    """Rank the active units (any status) by road travel time to a point: a check of the network."""
    from siaga.domains.roads import service
    from siaga.domains.units.models import Unit

    with action_ctx() as ctx:
        units = [u for u in ctx.db.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.callsign))
                 if not unit_type or u.type in unit_type]
        recs = service.recommend_units(ctx.db, lat, lon, service.candidates_of(units), limit, language=language)
    table = Table(title=f"Units by travel time to {lat}, {lon}")
    for col in ("rank", "unit", "type", "ETA", "why"):
        table.add_column(col)
    for r in recs:
        eta = f"{r.eta_s / 60:.0f} min" if r.eta_s is not None else "-"
        table.add_row(str(r.rank or "-"), r.callsign, r.vehicle_type, eta, r.explanation)
    out.print(table)


def main() -> None:
    from pydantic import ValidationError

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except ValidationError as exc:  # a SIAGA_* setting with a bad value: say which, never a traceback
        if exc.title != "Settings":
            raise
        for e in exc.errors():
            name = "SIAGA_" + "_".join(str(x) for x in e["loc"]).upper()
            err.print(f"[bold red]Error:[/] configuration {name}={e.get('input')!r}: {e['msg']}")
        sys.exit(2)


from siaga.cli import backup as _backup  # noqa: E402,F401  registers `siaga backup`
from siaga.cli import callers as _callers  # noqa: E402,F401  registers `siaga callers`
from siaga.cli import doctor as _doctor  # noqa: E402,F401  registers `siaga doctor`
from siaga.cli import location as _location  # noqa: E402,F401  registers `siaga location`
from siaga.cli import map as _map  # noqa: E402,F401  registers `siaga map` (and shadows the builtin map() here)
from siaga.cli import regions as _regions  # noqa: E402,F401  registers `siaga regions`
from siaga.cli import report as _report  # noqa: E402,F401  registers `siaga report`
from siaga.cli import simulate as _simulate  # noqa: E402,F401  registers `siaga simulate`
from siaga.cli import site as _site  # noqa: E402,F401  registers `siaga site`
from siaga.cli import staffing as _staffing  # noqa: E402,F401  registers `siaga staffing`
from siaga.cli import telephony as _telephony  # noqa: E402,F401  registers `siaga telephony`
