"""`siaga callers`: the evidence pack for the police (PDF; the number written in full, so the export is
audited as `evidence.export`, as from the web), the nuisance-risk hint's training and honest evaluation
(`risk-train`), and the retention purge (`purge`). Each acts as the system."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer

from siaga.cli import action_ctx, app, fail, out

callers_app = typer.Typer(help="Callers' numbers: the evidence pack for the police, the risk hint, retention.",
                          no_args_is_help=True)
app.add_typer(callers_app, name="callers")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}")
    raise AssertionError  # unreachable: fail() exits


@callers_app.command("evidence")
def evidence(number: str = typer.Argument(..., help="the caller's number, any form (0812…, +62812…)"),
             period_from: str = typer.Option(..., "--from", help="first day YYYY-MM-DD (site's zone)"),
             period_to: str = typer.Option(..., "--to", help="last day YYYY-MM-DD, included (as in `siaga "
                                                             "report`); at most 366 days"),
             out_file: Path = typer.Option(None, "--out", help="PDF file (default bukti-112-NUMBER-FROM-TO.pdf)"),
             lang: str = typer.Option("id", help="id or en")) -> None:
    """Write the evidence pack (PDF): every call of NUMBER from the first day to the last (both included,
    days in the site's zone), its measures, callbacks and the audit-chain hashes proving the records were not
    altered."""
    from siaga.core.clock import site_zone
    from siaga.domains.calls.numbers import normalise_msisdn
    from siaga.domains.reports import evidence as ev
    from siaga.domains.reports.render import PdfUnavailable

    start, last = _day(period_from, "--from"), _day(period_to, "--to")
    end = last + timedelta(days=1)  # the pack's period is [start, end)
    if lang not in ("id", "en"):
        fail(f"--lang must be id or en, got {lang!r}")
    full = normalise_msisdn(number)
    if not full:
        fail(f"{number!r} is a withheld or unreadable number: there is no evidence pack for it")
    if last < start:
        fail(f"--to ({last}) is the last day: it must be on or after --from ({start})")
    if (end - start).days > ev.MAX_DAYS:
        fail(f"an evidence pack covers at most {ev.MAX_DAYS} days (from {start}, --to at most "
             f"{date.fromordinal(start.toordinal() + ev.MAX_DAYS - 1)})")
    target = out_file or Path(f"bukti-112-{full.lstrip('+')}-{start.isoformat()}-{last.isoformat()}.pdf")
    with action_ctx() as ctx:
        zone = site_zone(ctx.settings)
        try:
            pdf = ev.evidence_pdf(ctx.db, full, start, end, ctx.now(), lang, generated_by="sistem (siaga CLI)",
                                  retention_days=ctx.settings.nuisance_retention_days, zone=zone)
        except PdfUnavailable as exc:
            fail(str(exc))
        ctx.audit("evidence.export", "caller", full, {"number": full, "from": start.isoformat(),
                                                      "to": end.isoformat(), "by": "system (cli)"})
    try:
        target.write_bytes(pdf)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    out.print(f"Evidence pack for [bold]{full}[/] ({start} – {last}, both included, {zone.label}) written to "
              f"[bold]{target}[/] ({len(pdf):,} bytes).")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@callers_app.command("risk-train")
def risk_train(train_from: str = typer.Option(..., "--train-from", help="first day of the training "
                                                                                  "period (site's zone)"),
               train_to: str = typer.Option(..., "--train-to", help="last day of the training period, included"),
               test_from: str = typer.Option(..., "--test-from", help="first day of the evaluation period; after "
                                                                      "--train-to (a LATER period)"),
               test_to: str = typer.Option(..., "--test-to", help="last day of the evaluation period, included"),
               max_genuine_flagged: float = typer.Option(
                   0.05, help="the threshold flags at most this share of the training period's genuine emergencies"),
               save: bool = typer.Option(True, "--save/--no-save", help="store it as the active model (default) or "
                                                                        "only print the evaluation"),
               as_json: bool = typer.Option(False, "--json", help="print the evaluation as JSON")) -> None:
    """Train the nuisance-risk hint on the labelled calls of one period and evaluate it honestly on a LATER
    period: precision, recall, and the share of genuine emergencies it would have wrongly flagged. The hint
    only ever informs the call-taker; nothing acts on it."""
    import json

    from siaga.domains.callers import actions

    periods = [_day(v, o) for v, o in ((train_from, "--train-from"), (train_to, "--train-to"),
                                        (test_from, "--test-from"), (test_to, "--test-to"))]
    if periods[1] < periods[0] or periods[3] < periods[2]:
        fail("each --…-to is the period's last day (included): it must be on or after its --…-from")
    if periods[2] <= periods[1]:
        fail(f"the evaluation must be on a LATER period: --test-from ({periods[2]}) must be after --train-to "
             f"({periods[1]})")
    shown = [f"{periods[0]} – {periods[1]}", f"{periods[2]} – {periods[3]}"]
    day = timedelta(days=1)
    periods = [periods[0], periods[1] + day, periods[2], periods[3] + day]  # [from, to) from here on
    with action_ctx() as ctx:
        model = actions.train_risk_model(ctx, *periods, max_genuine_flagged=max_genuine_flagged, save=save)
    if as_json:
        out.print_json(json.dumps({"id": model.id, "active": model.active, "threshold": model.params["threshold"],
                                   "metrics": model.metrics}))
        return
    from rich.table import Table

    table = Table(title="Nuisance-risk hint — evaluation (positive = prank)")
    table.add_column("")
    for name in ("train", "test (later)"):
        table.add_column(name, justify="right")
    tr, te = model.metrics["train"], model.metrics["test"]
    rows = [
        ("period (both days included, local days)", *shown),
        ("calls offered", f"{tr['offered']:,}", f"{te['offered']:,}"),
        ("genuine emergencies / offered", _share(tr["emergency_share_of_offered"]),
         _share(te["emergency_share_of_offered"])),
        ("labelled calls (scored)", f"{tr['calls']:,}", f"{te['calls']:,}"),
        ("pranks among them", f"{tr['pranks']:,}", f"{te['pranks']:,}"),
        ("flagged", f"{tr['flagged']:,}", f"{te['flagged']:,}"),
        ("precision (flagged that were pranks)", _share(tr["precision"]), _share(te["precision"])),
        ("recall (pranks flagged)", _share(tr["recall"]), _share(te["recall"])),
        ("genuine emergencies wrongly flagged", f"{tr['genuine_flagged']} of {tr['emergencies']} "
         f"({_share(tr['genuine_flagged_share'])})", f"{te['genuine_flagged']} of {te['emergencies']} "
         f"({_share(te['genuine_flagged_share'])})"),
    ]
    for row in rows:
        table.add_row(*row)
    out.print(table)
    coef = ", ".join(f"{k} {v:+.2f}" for k, v in model.metrics["coefficients"].items())
    out.print(f"Threshold {model.params['threshold']:.3f} (at most {_share(max_genuine_flagged)} of the training "
              f"period's genuine emergencies flagged). Coefficients (standardised): {coef}.")
    if model.active:
        out.print(f"[green]Saved[/] as risk model #{model.id}, now the active one: the call-taker screen shows its "
                  "hint (petunjuk, bukan keputusan).")
    else:
        out.print("Not saved (--no-save).")


@callers_app.command("purge")
def purge(dry_run: bool = typer.Option(False, "--dry-run", help="only count what would be anonymised")) -> None:
    """Anonymise nuisance records older than SIAGA_NUISANCE_RETENTION_DAYS: prank, ghost and wrong-number calls
    with no incident (number, notes, location detail), ended measures, callback attempts, and the event log's
    copies of call payloads. Rows stay, so statistics still count them; audited with counts, never numbers.
    The app's ticker runs the same purge by itself every few hours."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from siaga.core.clock import Clock, site_zone
    from siaga.db.engine import engine_for
    from siaga.domains.callers import retention
    from siaga.settings import get_settings

    settings = get_settings()
    try:
        totals = retention.purge_all(engine_for(settings.database_url), Clock(), settings, dry_run=dry_run)
    except (OperationalError, ProgrammingError) as exc:
        fail(f"the database has no schema yet, or cannot be reached: run `siaga db upgrade` first ({exc.orig})")
        raise AssertionError from exc  # unreachable: fail() exits
    what = "Would anonymise" if dry_run else "Anonymised"
    out.print(f"{what} records older than {settings.nuisance_retention_days} days (before "
              f"{site_zone(settings).format(totals['cutoff'])}): {totals['calls']:,} calls "
              f"({totals['locations']:,} locations), "
              f"{totals['measures']:,} ended measures, {totals['callbacks']:,} callback attempts, "
              f"{totals['events']:,} event payloads; {totals['idempotency_records']:,} stored responses "
              f"{'would be ' if dry_run else ''}deleted."
              + ("" if dry_run else f" ({totals['batches']} batches, each audited as retention.purge)"))
