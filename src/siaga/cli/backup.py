"""`siaga backup`: a consistent copy of a SQLite installation now, the list of copies, and `siaga backup
verify`, which restores the newest (or a named one) into a scratch database and checks it (db/backup.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from siaga.cli import alembic_config, app, err, fail, out
from siaga.core.clock import Clock
from siaga.db import backup as backups
from siaga.settings import get_settings

backup_app = typer.Typer(help="Backups of a SQLite installation: take, list, verify (PostgreSQL: pgBackRest).",
                         invoke_without_command=True)
app.add_typer(backup_app, name="backup")

DIR_HELP = "backup folder (default: SIAGA_BACKUP_DIR)"


def _folder(folder: Path | None) -> Path:
    configured = get_settings().backup_dir
    chosen = folder or (Path(configured) if configured else None)
    if chosen is None:
        fail("say where the backups go: --dir FOLDER, or set SIAGA_BACKUP_DIR")
    assert chosen is not None
    return chosen


@backup_app.callback()
def backup_now(ctx: typer.Context, folder: Path | None = typer.Option(None, "--dir", help=DIR_HELP),
               keep: int | None = typer.Option(None, min=1,
                                               help="copies to keep (default: SIAGA_BACKUP_KEEP)")) -> None:
    """Take a consistent copy of the SQLite database now (the service may keep running)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = get_settings()
    try:
        taken = backups.take(settings.database_url, _folder(folder), keep or settings.backup_keep, Clock().now())
    except backups.BackupError as exc:
        fail(str(exc))
    out.print(f"Backup written: {taken.path} ({taken.size:,} bytes). Check it with `siaga backup verify`.")


@backup_app.command("list")
def backup_list(folder: Path | None = typer.Option(None, "--dir", help=DIR_HELP)) -> None:
    """The backups in the folder, newest last."""
    found = backups.backups(_folder(folder))
    if not found:
        fail(f"no backups in {_folder(folder)}")
    table = Table("taken (UTC)", "file", "bytes")
    for b in found:
        table.add_row(f"{b.taken_at:%Y-%m-%d %H:%M:%S}", b.path.name, f"{b.size:,}")
    out.print(table)


@backup_app.command("verify")
def backup_verify(file: Path | None = typer.Argument(None, help="a backup file (default: the newest in the folder)"),
                  folder: Path | None = typer.Option(None, "--dir", help=DIR_HELP),
                  database: str | None = typer.Option(
                      None, "--database", help="check a database already restored elsewhere instead, e.g. the "
                      "PostgreSQL copy pgBackRest restored to a point in time (its URL; never the live one)"),
                  stanza: str | None = typer.Option(
                      None, "--pgbackrest", metavar="STANZA", help="PostgreSQL: restore pgBackRest's newest backup "
                      "of STANZA (and the archived WAL) into a scratch PostgreSQL and check that"),
                  pgbackrest_config: str | None = typer.Option(
                      None, "--pgbackrest-config", help="pgBackRest's configuration file (default: its own)"),
                  target: str | None = typer.Option(
                      None, "--target", help="with --pgbackrest: restore to this moment, e.g. "
                      "'2026-12-05 10:00:00+07' (default: to the end of the archived WAL)")) -> None:
    """Restore a backup into a scratch database and check it: schema at this version's head migration, audit
    chain intact. Prints what it restored; exits 1 when the backup cannot be trusted. Run it weekly."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head() or ""
    if sum(x is not None for x in (file, database, stanza)) > 1:
        fail("give one of a backup file, --database or --pgbackrest, not both")
    if target is not None and stanza is None:
        fail("--target restores to a moment with pgBackRest: give --pgbackrest STANZA too")
    if stanza is not None:
        _verify_pgbackrest(stanza, pgbackrest_config, target, head)
        return
    if database is not None:
        try:
            result = backups.verify_restored(database, head)
        except backups.BackupError as exc:
            fail(str(exc))
        out.print(f"Checked the restored database {result.backup.path} ({result.backup.size:,} bytes).")
        _report(result, head)
        return
    if file is not None:
        if not file.is_file():
            fail(f"{file} does not exist")
        chosen = backups.Backup(path=file, taken_at=datetime.fromtimestamp(file.stat().st_mtime, UTC),
                                size=file.stat().st_size)
    else:
        newest = backups.latest(_folder(folder))
        if newest is None:
            fail(f"no backups in {_folder(folder)}: take one with `siaga backup`")
        assert newest is not None
        chosen = newest
    try:
        result = backups.verify(chosen, head)
    except backups.BackupError as exc:
        fail(str(exc))
    out.print(f"Restored {chosen.path.name} (taken {chosen.taken_at:%Y-%m-%d %H:%M:%S} UTC, {chosen.size:,} bytes) "
              "into a scratch database.")
    _report(result, head)


def _verify_pgbackrest(stanza: str, config: str | None, target: str | None, head: str) -> None:
    from sqlalchemy.engine import make_url

    from siaga.db.engine import normalise_url

    configured = get_settings().database_url
    name = make_url(normalise_url(configured)).database if configured.startswith("postgres") else None
    try:
        with backups.pgbackrest_restored(stanza, name or "siaga", config=config, target=target) as restored:
            result = backups.verify_restored(restored.url, head)
    except backups.BackupError as exc:
        fail(str(exc))
    taken = f"{restored.backup_stopped_at:%Y-%m-%d %H:%M:%S} UTC" if restored.backup_stopped_at else "?"
    to = f"to {target}" if target else "to the end of the archived WAL"
    out.print(f"Restored pgBackRest stanza {stanza}: backup {restored.backup_label} (finished {taken}), "
              f"{to}, into a scratch PostgreSQL {restored.pg_version} (stopped and removed again).")
    _report(result, head)


def _report(result: backups.Verified, head: str) -> None:
    newest_at = f"{result.newest_entry_at:%Y-%m-%d %H:%M:%S} UTC" if result.newest_entry_at else "none"
    out.print(f"Newest audit entry: {newest_at}.")
    shown = {name: result.counts[name] for name in ("call", "incident", "assignment", "app_user", "unit",
                                                     "audit_log") if name in result.counts}
    out.print("Rows: " + ", ".join(f"{name} {n:,}" for name, n in shown.items())
              + f" ({len(result.counts)} tables, {sum(result.counts.values()):,} rows in all).")
    problems = []
    if result.schema_revision != result.head_revision:
        problems.append(f"schema at migration {result.schema_revision or 'none'}, this version expects "
                        f"{result.head_revision}: run `siaga db upgrade` on the restored copy before using it")
    if not result.audit_intact:
        problems.append(f"audit chain broken: {result.audit_problem}")
    if problems:
        for problem in problems:
            err.print(f"[red]✗[/] {problem}")
        fail("the backup cannot be trusted as it is")
    out.print(f"[green]Backup verified[/]: schema at head ({head}), audit chain intact "
              f"({result.audit_entries} entries).")
