"""`siaga report`: the period report (PDF, XLSX, HTML, JSON) or the monitoring export (CSV, JSON) to a file,
with a progress bar on long runs. The period is --from .. --to in days of the site's zone, BOTH included (as `siaga
staffing` and `siaga simulate`): `--from 2026-10-01 --to 2026-10-31` is October. The API's `to` is the day
after the last one, so the command adds a day; --month and --quarter are shortcuts. Calls and incidents
made by `siaga simulate` are left out unless --include-simulated."""

from __future__ import annotations

import re
import sys
from datetime import date, timedelta
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import OperationalError, ProgrammingError

from siaga.cli import app, err, fail, out

FORMATS = ("pdf", "xlsx", "html", "json", "csv")
STEP_LABELS = {"calls": "Calls: counts and answer times", "incidents": "Incidents and NFPA processing",
               "agencies": "Agency stage times", "quality": "Quality review", "labels": "Names",
               "done": "Figures ready"}


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}")
    return None


def _inclusive(start: date | None, last: date | None) -> tuple[date, date]:
    """--from and --to (the last day, included) as the API's [from, to): the day after --to."""
    from siaga.domains.kpi.service import EARLIEST, LATEST, MAX_YEARS

    if start is None:
        fail("--from is required (YYYY-MM-DD, the first day), or give --month or --quarter")
    if last is None:
        fail("--to is required (YYYY-MM-DD, the last day, included), or give --month or --quarter")
    assert start is not None and last is not None
    for option, day in (("--from", start), ("--to", last)):
        if not EARLIEST <= day < LATEST:
            fail(f"{option} must lie between {EARLIEST} and {LATEST - timedelta(days=1)}")
    if last < start:
        fail(f"--to {last} is before --from {start}: --to is the last day of the period, included")
    try:
        limit = start.replace(year=start.year + MAX_YEARS)
    except ValueError:  # 29 February
        limit = start.replace(year=start.year + MAX_YEARS, month=3, day=1)
    if last >= limit:
        fail(f"a period covers at most {MAX_YEARS} years: from {start}, --to at most {limit - timedelta(days=1)}")
    if start.day == 1 and last.day == 1 and last > start:
        err.print(f"[yellow]Note:[/] --to is the last day and is included, so {last} is in the period. For whole "
                  f"months end it the day before (--to {last - timedelta(days=1)}) or use --month / --quarter.")
    return start, last + timedelta(days=1)


def _shortcut(month: str | None, quarter: str | None) -> tuple[date, date] | None:
    if month:
        m = re.fullmatch(r"(\d{4})-(\d{2})", month)
        if not m or not 1 <= int(m[2]) <= 12:
            fail(f"--month must be YYYY-MM, got {month!r}")
        assert m is not None
        year, mon = int(m[1]), int(m[2])
        return date(year, mon, 1), date(year + mon // 12, mon % 12 + 1, 1)
    if quarter:
        q = re.fullmatch(r"(\d{4})-?Q([1-4])", quarter.upper())
        if not q:
            fail(f"--quarter must be YYYY-Qn (e.g. 2026-Q4), got {quarter!r}")
        assert q is not None
        year, first = int(q[1]), 3 * int(q[2]) - 2
        return date(year, first, 1), date(year + (first + 3 > 12), (first + 2) % 12 + 1, 1)
    return None


@app.command("report")
def report(period_from: str = typer.Option(None, "--from", help="first day YYYY-MM-DD (site's zone)"),
           period_to: str = typer.Option(None, "--to", help="last day YYYY-MM-DD, included: the whole day up "
                                                            "to 24:00 local time; e.g. --from 2026-10-01 --to "
                                                            "2026-10-31 is October"),
           month: str = typer.Option(None, help="instead of --from/--to: a month, YYYY-MM"),
           quarter: str = typer.Option(None, help="instead of --from/--to: a quarter, YYYY-Qn"),
           fmt: str = typer.Option("pdf", "--format", help=" | ".join(FORMATS)),
           kind: str = typer.Option(None, help="report (the period report: pdf, xlsx, html, json) or monitoring "
                                               "(the monitoring export: csv, json); default: monitoring for csv, "
                                               "report otherwise"),
           lang: str = typer.Option("id", "--lang", help="id or en (the period report)"),
           out_file: Path = typer.Option(None, "--out", help="file to write; default: a name from the period in "
                                                             "the current folder; - for standard output"),
           include_simulated: bool = typer.Option(False, "--include-simulated",
                                                  help="count the calls and incidents made by `siaga simulate` too "
                                                       "(default: left out; the report says how many)")) -> None:
    """Write the period report (headline KPIs, calls by outcome, service levels, incidents, agency stage
    times) or the monitoring export of calls and incidents for a period of at most two years. The period
    is --from .. --to, both days included (days in SIAGA_TIMEZONE, WIB by default), or --month / --quarter.
    Calls and incidents made by `siaga simulate` are left out unless --include-simulated."""
    from siaga.core.clock import site_zone
    from siaga.db.engine import engine_for
    from siaga.domains.kpi.service import PeriodError, make_period
    from siaga.settings import get_settings

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if lang not in ("id", "en"):
        fail(f"--lang must be id or en, got {lang!r}")
    kind = kind or ("monitoring" if fmt == "csv" else "report")
    if kind not in ("report", "monitoring"):
        fail(f"--kind must be report or monitoring, got {kind!r}")
    if kind == "report" and fmt == "csv":
        fail("the period report has no CSV form: use --format xlsx, or --kind monitoring for the CSV export")
    if kind == "monitoring" and fmt not in ("csv", "json"):
        fail("the monitoring export is csv or json")
    if (month or quarter) and (period_from or period_to):
        fail("give either --from/--to or --month/--quarter, not both")
    days = _shortcut(month, quarter) or _inclusive(_day(period_from, "--from"), _day(period_to, "--to"))
    settings = get_settings()
    zone = site_zone(settings)
    try:
        period = make_period(*days, zone)
    except PeriodError as exc:  # not expected: _inclusive and _shortcut check first
        fail(f"--{exc.field}: {exc.message}")
    engine = engine_for(settings.database_url)
    stem = "monitoring" if kind == "monitoring" else ("laporan" if lang == "id" else "report")
    target = out_file or Path(f"siaga112-{stem}-{period.start_date}_{period.last_day}.{fmt}")
    days_text = "1 day" if period.days == 1 else f"{period.days} days"
    err.print(f"Period {period.start_date} .. {period.last_day} ({zone.label}, {days_text}, both included)")
    from siaga.domains.reports.render import PdfUnavailable

    try:
        if kind == "monitoring":
            data, simulated = _monitoring(engine, period, fmt, include_simulated)
        else:
            data, simulated = _period_report(engine, period, fmt, lang, include_simulated, settings)
    except PdfUnavailable as exc:
        fail(str(exc))
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            fail("the database has no schema yet: run `siaga db upgrade` first")
        fail(f"database error: {exc.orig}")
    finally:
        engine.dispose()
    if simulated.included:
        err.print(f"[yellow]Simulated rows counted[/] (--include-simulated): {simulated.calls:,} calls, "
                  f"{simulated.incidents:,} incidents made by `siaga simulate`.")
    elif simulated.calls or simulated.incidents:
        err.print(f"Left out: {simulated.calls:,} simulated calls and {simulated.incidents:,} simulated incidents "
                  "(made by `siaga simulate`; --include-simulated counts them).")
    if str(target) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        target.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    out.print(f"[green]Written[/] {target} ({len(data):,} bytes)")


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=False)


def _period_report(engine, period, fmt: str, lang: str, include_simulated: bool,  # type: ignore[no-untyped-def]
                   settings):
    from siaga.db.engine import open_session
    from siaga.domains.quality.sampling import SampleRule
    from siaga.domains.reports import period as report_period
    from siaga.domains.reports import render

    with _progress() as bar:
        task = bar.add_task("Report", total=len(report_period.STEPS) + 1)

        def step(name: str, done: int, _total: int) -> None:
            bar.update(task, completed=done, description=STEP_LABELS.get(name, name))

        session = open_session(engine, write=False, snapshot=True)
        try:
            with session.begin():
                built = report_period.build(session, period, lang, progress=step,
                                            include_simulated=include_simulated,
                                            sample_rule=SampleRule.of(settings))
        finally:
            session.close()
        bar.update(task, description=f"Writing {fmt.upper()}")
        data = {"pdf": render.pdf, "xlsx": render.xlsx, "html": lambda r: render.html(r).encode(),
                "json": render.as_json}[fmt](built)
        bar.update(task, completed=len(report_period.STEPS) + 1, description=f"{fmt.upper()} written")
    return data, built.simulated


def _monitoring(engine, period, fmt: str, include_simulated: bool):  # type: ignore[no-untyped-def]
    from siaga.core.clock import Clock
    from siaga.db.engine import open_session
    from siaga.domains.kpi.service import simulated_counts
    from siaga.domains.reports import monitoring

    session = open_session(engine, write=False, snapshot=True)
    try:
        with session.begin():
            total = monitoring.count_records(session, period, include_simulated)
            simulated = simulated_counts(session, period, included=include_simulated)
    finally:
        session.close()
    with _progress() as bar:
        task = bar.add_task("Calls and incidents", total=total)

        def moved(done: int) -> None:
            bar.update(task, completed=done)

        chunks = (monitoring.csv_chunks(engine, period, moved, include_simulated) if fmt == "csv"
                  else monitoring.json_chunks(engine, period, Clock().now(), moved, include_simulated))
        return b"".join(chunks), simulated
