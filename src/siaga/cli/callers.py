"""`siaga callers evidence`: the evidence pack for the police (PDF), acting as the system. The number is
written in full, so the export is audited (`evidence.export`) as from the web."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from siaga.cli import action_ctx, app, fail, out

callers_app = typer.Typer(help="Callers' numbers: the evidence pack for the police.", no_args_is_help=True)
app.add_typer(callers_app, name="callers")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}")
    raise AssertionError  # unreachable: fail() exits


@callers_app.command("evidence")
def evidence(number: str = typer.Argument(..., help="the caller's number, any form (0812…, +62812…)"),
             period_from: str = typer.Option(..., "--from", help="first day YYYY-MM-DD (WIB)"),
             period_to: str = typer.Option(..., "--to", help="the day AFTER the last one, YYYY-MM-DD: [from, to), "
                                                             "at most 366 days"),
             out_file: Path = typer.Option(None, "--out", help="PDF file (default bukti-112-NUMBER-FROM-TO.pdf)"),
             lang: str = typer.Option("id", help="id or en")) -> None:
    """Write the evidence pack (PDF): every call of NUMBER in [from, to), its measures, callbacks and the
    audit-chain hashes proving the records were not altered."""
    from siaga.domains.callers import evidence as ev
    from siaga.domains.calls.numbers import normalise_msisdn
    from siaga.domains.reports.render import PdfUnavailable

    start, end = _day(period_from, "--from"), _day(period_to, "--to")
    if lang not in ("id", "en"):
        fail(f"--lang must be id or en, got {lang!r}")
    full = normalise_msisdn(number)
    if not full:
        fail(f"{number!r} is a withheld or unreadable number: there is no evidence pack for it")
    if end <= start:
        fail(f"--to ({end}) must be after --from ({start}); the period is [from, to)")
    if (end - start).days > ev.MAX_DAYS:
        fail(f"an evidence pack covers at most {ev.MAX_DAYS} days (from {start}, to at most "
             f"{date.fromordinal(start.toordinal() + ev.MAX_DAYS)})")
    target = out_file or Path(f"bukti-112-{full.lstrip('+')}-{start.isoformat()}-{end.isoformat()}.pdf")
    with action_ctx() as ctx:
        try:
            pdf = ev.evidence_pdf(ctx.db, full, start, end, ctx.now(), lang, generated_by="sistem (siaga CLI)")
        except PdfUnavailable as exc:
            fail(str(exc))
        ctx.audit("evidence.export", "caller", full, {"number": full, "from": start.isoformat(),
                                                      "to": end.isoformat(), "by": "system (cli)"})
    try:
        target.write_bytes(pdf)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    out.print(f"Evidence pack for [bold]{full}[/] ({start} – {end}, [from, to)) written to [bold]{target}[/] "
              f"({len(pdf):,} bytes).")
