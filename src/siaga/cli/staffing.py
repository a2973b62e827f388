"""`siaga staffing`: how many operators each hour of the week, from the centre's own calls. The period is
--from .. --to in days of the site's zone, both included (as `siaga report`); calls made by `siaga simulate`
are left out unless --include-simulated."""

from __future__ import annotations

import json
from datetime import date

import typer
from rich.table import Table

from siaga.cli import action_ctx, app, fail, out

DAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_day(value: str | None, option: str) -> date | None:
    from siaga.api.staffing import EARLIEST, LATEST

    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}")
    if not EARLIEST <= day <= LATEST:
        fail(f"{option} must be a day between {EARLIEST} and {LATEST}")
    return day


@app.command("staffing")
def staffing(period_from: str = typer.Option(None, "--from", help="first day YYYY-MM-DD (site's zone); default: "
                                                                  "8 weeks before --to"),
             period_to: str = typer.Option(None, "--to", help="last day YYYY-MM-DD, included: the whole day up "
                                                              "to 24:00 local; default: yesterday"),
             target: float = typer.Option(0.9, help="share of offered calls answered in time, between 0 and 1"),
             within: float = typer.Option(15.0, help="seconds"),
             min_operators: int = typer.Option(1, help="operators on duty at least, every hour (1 = 24/7)"),
             as_json: bool = typer.Option(False, "--json", help="print the API's JSON instead of tables"),
             include_simulated: bool = typer.Option(False, "--include-simulated",
                                                    help="measure the calls made by `siaga simulate` too (default: "
                                                         "left out)")) -> None:
    """Operators needed each hour of the week for TARGET of calls answered within WITHIN seconds (Erlang A
    from the period's arrivals, handle times and caller patience), and a roster of 8-hour shifts. The
    period is --from .. --to, both days included (the site's zone). Calls made by `siaga simulate` are left out
    unless --include-simulated."""
    from siaga.core.clock import site_zone
    from siaga.domains.staffing import service

    start, end = parse_day(period_from, "--from"), parse_day(period_to, "--to")
    if not 0 < target < 1:
        fail(f"--target must be between 0 and 1 (exclusive), e.g. 0.9; got {target}")
    if not 0 < within <= 600:
        fail(f"--within must be seconds, more than 0 and at most 600; got {within}")
    if not 0 <= min_operators <= 50:
        fail("--min-operators must be 0..50")
    if start and end and start > end:
        fail(f"--from {start} is after --to {end}")
    if start and end and (end - start).days + 1 > service.MAX_PERIOD_DAYS:
        fail(f"the period is longer than {service.MAX_PERIOD_DAYS} days")
    with action_ctx() as ctx:
        zone = site_zone(ctx.settings)
        result = service.staffing(ctx.db, ctx.now(), zone, start, end, target, within, min_operators, include_simulated,
                                  ctx.settings.pickup_default_seconds)
    if as_json:
        out.print_json(json.dumps(result.model_dump(mode="json")))
        return
    method = {"erlang_a": "Erlang A (callers give up)", "erlang_c": "Erlang C (no hang-ups seen)",
              "no_data": "no answered call in the period: minimum cover only"}[result.method]
    out.print(f"[bold]Staffing[/] {result.period_from} .. {result.period_to} ({result.days} days, {zone.label}, both "
              f"included): {result.calls_offered:,} calls offered, {result.calls_answered:,} answered, "
              f"{result.calls_abandoned:,} hung up before an answer.")
    if result.simulated_included and result.simulated_calls:
        out.print(f"[yellow]Including {result.simulated_calls:,} simulated calls[/] (made by `siaga simulate`).")
    elif result.simulated_calls:
        out.print(f"Left out: {result.simulated_calls:,} simulated calls (made by `siaga simulate`; "
                  "--include-simulated measures them too).")
    handle = f"{result.handle_s:.0f} s" if result.handle_s is not None else "-"
    patience = f"{result.patience_s:.0f} s" if result.patience_s is not None else "-"
    out.print(f"Average handle time {handle}, average patience {patience}; model: {method}. "
              f"Target: {result.target:.0%} of offered calls answered within {result.within_s:g} s.")
    stay = f", {result.pickup_stay:.0%} of callers stay through it" if result.pickup_stay is not None else ""
    source = (f"median of {result.pickup_measured:,} answered calls" if result.pickup_source == "measured"
              else "the configured default (SIAGA_PICKUP_DEFAULT_SECONDS): none measured")
    out.print(f"Pickup delay (ringing → answered) {result.pickup_s:g} s, {source}{stay}.")
    if result.pickup_ceiling is not None and result.pickup_ceiling < result.target:
        out.print(f"[yellow]No roster can reach the target:[/] with this pickup at most {result.pickup_ceiling:.0%} "
                  "are answered in time (callers hang up while the phone rings); pick up sooner.")
    grid = Table(title=f"Operators needed (hour {zone.label} × day)", show_lines=False)
    grid.add_column("hour", justify="right")
    for d in DAYS_EN:
        grid.add_column(d, justify="right")
    grid.add_column("calls/h (avg)", justify="right")
    for h in range(24):
        cells = [result.hours[d * 24 + h] for d in range(7)]
        rate = sum(c.arrivals_per_hour for c in cells) / 7
        grid.add_row(f"{h:02d}", *[_cell(c.operators, result.peak_operators) for c in cells], f"{rate:.1f}")
    out.print(grid)
    roster = Table(title="Suggested roster: 8-hour shifts (operators)")
    roster.add_column(f"shift ({zone.label})")
    for d in DAYS_EN:
        roster.add_column(d, justify="right")
    for start_hour in result.roster.shift_starts:
        row = []
        for d in range(7):
            n = sum(s.operators for s in result.roster.shifts if s.weekday == d and s.start_hour == start_hour)
            row.append(str(n))
        roster.add_row(f"{start_hour:02d}:00-{(start_hour + result.roster.shift_hours) % 24:02d}:00", *row)
    out.print(roster)
    expected = result.roster.expected_answered_within
    out.print(f"Peak: {result.peak_operators} operators. Operator-hours per week: "
              f"{result.required_operator_hours_per_week} needed hour by hour, "
              f"{result.roster.operator_hours_per_week} in the roster"
              + (f"; predicted {expected:.1%} of calls answered within {result.within_s:g} s." if expected is not None
                 else "."))


def _cell(n: int, peak: int) -> str:
    if peak and n == peak and n > 1:
        return f"[bold red]{n}[/]"
    return str(n)
