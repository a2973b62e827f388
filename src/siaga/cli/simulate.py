"""`siaga simulate`: a realistic call stream for demos, training and load — told as a story in memory,
written as history (--write), or replayed live through the API (--live URL)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import typer
from rich.table import Table

from siaga.cli import action_ctx, app, err, fail, out
from siaga.cli.staffing import parse_day

OUTCOME_LABELS = {
    "emergency": "emergency (incident)", "information": "information", "prank": "prank", "ghost": "ghost (silent)",
    "wrong_number": "wrong number", "test": "test", "abandoned": "hung up in the queue",
    "missed_out_of_hours": "missed: nobody on duty",
}


@app.command("simulate")
def simulate(
    what: str = typer.Argument("history", help="history: simulate the centre (default) | calls: ring demo calls "
                               "into the running centre — real SIP calls through the edge when it runs, otherwise "
                               "call events"),
    count: int = typer.Option(5, "--count", "-n", min=1, max=10000, help="calls: how many"),
    rate: float = typer.Option(0.5, help="calls: new calls per second"),
    via: str = typer.Option("auto", help="calls: sip | events | auto (SIP when the edge and its bridge are up)"),
    talk_ms: int = typer.Option(20000, help="calls via SIP: how long each call talks once answered (ms)"),
    voice: bool = typer.Option(False, "--voice", help="calls via SIP: the caller presses 5 once answered, then "
                               "speaks (sip-tester's recorded speech), so the call-taker hears them and the call "
                               "is recorded with a voice on each side"),
    scenario_name: str = typer.Option("bengkalis-24x7", "--scenario", "-s",
                                      help="scenario name (trial-2025, bengkalis-24x7) or a .json file"),
    period_from: str = typer.Option(None, "--from", help="first day YYYY-MM-DD (site's zone); default: the scenario's"),
    period_to: str = typer.Option(None, "--to", help="last day, inclusive; default: the scenario's"),
    seed: int = typer.Option(None, help="random seed (default: the scenario's); same seed, same calls"),
    roster_spec: str = typer.Option("scenario", "--roster",
                                    help="who is on duty: scenario | recommended (from the scenario's demand) | "
                                         "staffing[:FROM:TO] (from this database's history) | 24x7:N | roster.json"),
    compare: str = typer.Option(None, help="also run the same calls against another roster and compare "
                                           "(e.g. recommended)"),
    write: bool = typer.Option(False, "--write", help="write the calls (and incidents) into the database as history"),
    live: str = typer.Option(None, help="replay live through the API at this base URL, e.g. http://127.0.0.1:8112"),
    token: str = typer.Option(None, help="API token of a telephony user for --live (or SIAGA_SIMULATE_TOKEN)"),
    speed: float = typer.Option(60.0, help="--live: times real time (60 = an hour a minute)"),
    answer: str = typer.Option("sim", help="--live: sim (the simulation answers) or humans (only rings)"),
    operators: str = typer.Option(None, help="--live: usernames that answer, comma-separated"),
    limit: int = typer.Option(None, help="--live: stop after this many calls"),
    run_id: str = typer.Option(None, help="--live: reuse a run id to resume a replay (its events are idempotent)"),
    as_json: bool = typer.Option(False, "--json", help="print the story as JSON"),
    include_simulated: bool = typer.Option(False, "--include-simulated",
                                           help="--roster staffing: measure simulated calls too (by default only "
                                                "the centre's real calls count, as in `siaga staffing`)"),
) -> None:
    """Simulate the centre: calls by hour and weekday, pranks, ghosts, hang-ups, handle times, patience, the
    Bengkalis desa, a roster. Prints where the calls went (answered, hung up in the queue, missed out of hours)."""
    if what == "calls":
        _demo_calls(count, rate, via, talk_ms, seed, voice)
        return
    if what != "history":
        fail(f"unknown simulation {what!r}: history or calls")
    from siaga.core.clock import site_zone
    from siaga.domains.simulate import actions, engine, reference, story
    from siaga.domains.simulate.scenario import ScenarioError, load
    from siaga.settings import get_settings

    if write and live:
        fail("choose --write (history into the database) or --live (replay through the API), not both")
    try:
        scenario = load(scenario_name)
        roster = _roster(roster_spec, scenario, include_simulated)
        other = _roster(compare, scenario, include_simulated) if compare else None
    except ScenarioError as exc:
        fail(str(exc))
    start = parse_day(period_from, "--from") or scenario.start
    end = parse_day(period_to, "--to") or scenario.end
    if start > end:
        fail(f"--from {start} is after --to {end}")
    if (end - start).days > 3 * 366:
        fail("simulate at most three years at a time")
    seed = scenario.seed if seed is None else seed
    if live:
        _live(scenario, roster, seed, start, end, live, token, speed, answer, operators, limit, run_id)
        return
    places, categories = reference.places_from_csv(), reference.categories_from_csv()
    zone = site_zone(get_settings())  # the scenario's hours are the site's local hours

    def in_memory(r):  # type: ignore[no-untyped-def]
        calls = engine.run(engine.generate(scenario, places, categories, seed, start, end, zone=zone),
                           engine.Queue(r, start, end, zone))
        return story.from_calls(calls, r)

    if write:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        expected = round(sum(scenario.arrivals_per_hour_of_week(start, end)) / 7 * ((end - start).days + 1))
        with Progress(TextColumn("Writing calls"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("calls", total=expected)
            with action_ctx() as ctx:
                result = actions.write_history(ctx, scenario, roster, seed, start, end,
                                               progress=lambda n: bar.update(task, completed=n))
            with action_ctx() as ctx:
                told = story.from_database(ctx.db, result.tag, roster, zone)
        out.print(f"[green]Written[/]: {result.calls:,} calls, {result.incidents:,} incidents, "
                  f"{result.assignments:,} agency assignments (run {result.tag}; calls' external_ref "
                  f"sim-{result.tag}-…). The story below is read back from the database.")
        out.print("These rows are marked as simulated: reports, KPIs, the monitoring export, the wallboard and "
                  "staffing leave them out unless asked (--include-simulated).")
    else:
        told = in_memory(roster)
    compared = in_memory(other) if other is not None else None
    if as_json:
        out.print_json(json.dumps({"scenario": scenario.name, "seed": seed, "from": start.isoformat(),
                                   "to": end.isoformat(), "story": told.as_dict(),
                                   "compare": compared.as_dict() if compared else None}))
        return
    print_story(scenario, roster, told, seed, start, end)
    if compared is not None and other is not None:
        print_comparison(told, roster, compared, other)


def _roster(spec, scenario, include_simulated=False):  # type: ignore[no-untyped-def]
    """resolve_roster, plus 'staffing[:FROM:TO]': the roster `siaga staffing` suggests from this database
    (its real calls; simulated ones too with include_simulated)."""
    from siaga.core.clock import site_zone
    from siaga.domains.simulate.scenario import resolve_roster, roster_of, staffing_period
    from siaga.domains.staffing import service

    if not spec or not spec.startswith("staffing"):
        return resolve_roster(spec, scenario)
    first, last = staffing_period(spec)
    with action_ctx() as ctx:
        plan = service.staffing(ctx.db, ctx.now(), site_zone(ctx.settings), first, last, 0.9, 15.0,
                                include_simulated=include_simulated,
                                default_pickup_s=ctx.settings.pickup_default_seconds)
    if plan.method == "no_data":
        if plan.simulated_calls and not plan.simulated_included:
            fail(f"no real answered calls between {plan.period_from} and {plan.period_to} to staff from, only "
                 f"{plan.simulated_calls:,} simulated ones: add --include-simulated to staff from those, or use "
                 "--roster recommended")
        fail(f"no answered calls between {plan.period_from} and {plan.period_to} to staff from: write some history "
             "first, name its period (--roster staffing:FROM:TO), or use --roster recommended")
    return roster_of(f"staffing {plan.period_from}..{plan.period_to}", plan.roster.on_duty)


def print_story(scenario, roster, told, seed, start, end) -> None:  # type: ignore[no-untyped-def]
    from siaga.domains.simulate.story import ANSWERED, SHORT_HANGUP_S, UNANSWERED

    out.print(f"\n[bold]{scenario.title}[/]  ({start} .. {end}, seed {seed})")
    out.print(f"Roster: {roster.label} — {roster.describe()}")
    table = Table(title="Where the calls went")
    for col in ("outcome", "someone on duty", "nobody on duty", "total", "share of offered"):
        table.add_column(col, justify="left" if col == "outcome" else "right")
    for outcome in (*ANSWERED, *UNANSWERED):
        total = told.total(outcome)
        table.add_row(OUTCOME_LABELS[outcome], f"{told.staffed[outcome]:,}", f"{told.unstaffed[outcome]:,}",
                      f"{total:,}", f"{told.share(total):.1%}")
    table.add_row("[bold]answered[/]", f"{sum(told.staffed[k] for k in ANSWERED):,}",
                  f"{sum(told.unstaffed[k] for k in ANSWERED):,}", f"[bold]{told.answered:,}[/]",
                  f"{told.share(told.answered):.1%}")
    table.add_row("[bold]offered[/]", f"{told.offered_staffed:,}", f"{told.offered_unstaffed:,}",
                  f"[bold]{told.offered:,}[/]", "100%")
    out.print(table)
    unanswered = told.offered - told.answered
    if told.offered:
        lines = [f"{told.offered:,} calls offered, {told.answered:,} answered ({told.share(told.answered):.1%})."]
        if unanswered:
            lines.append(
                f"Of the {unanswered:,} not answered: {told.missed:,} ({told.missed / unanswered:.0%}) came when "
                f"nobody was on duty; {told.abandoned:,} ({told.abandoned / unanswered:.0%}) hung up while the "
                f"centre was staffed — {told.short_hangups_staffed:,} of them within {SHORT_HANGUP_S:g} s, "
                "before a phone is usually picked up.")
        if told.answered:
            lines.append(f"Of the answered calls, {told.total('prank'):,} were pranks "
                         f"({told.total('prank') / told.answered:.0%}), {told.total('ghost'):,} silent, and "
                         f"{told.total('emergency'):,} emergencies ({told.incidents:,} incidents).")
        out.print("\n".join(lines))
    if scenario.expected.get("answered") and roster.label == "scenario" and (start, end) == (scenario.start,
                                                                                            scenario.end):
        target = scenario.expected["answered"]
        out.print(f"Published: {scenario.expected.get('offered', '?'):,} offered, {target:,} answered; "
                  f"simulated {told.answered:,} answered ({(told.answered - target) / target:+.1%}).")


def print_comparison(a, roster_a, b, roster_b) -> None:  # type: ignore[no-untyped-def]
    table = Table(title="Same calls, two rosters")
    table.add_column("")
    table.add_column(roster_a.label, justify="right")
    table.add_column(roster_b.label, justify="right")
    rows = [
        ("operator-hours per week", f"{roster_a.operator_hours_per_week}", f"{roster_b.operator_hours_per_week}"),
        ("answered", f"{a.answered:,} ({a.share(a.answered):.1%})", f"{b.answered:,} ({b.share(b.answered):.1%})"),
        ("answered within 15 s", f"{a.answered_within:,} ({a.share(a.answered_within):.1%})",
         f"{b.answered_within:,} ({b.share(b.answered_within):.1%})"),
        ("missed: nobody on duty", f"{a.missed:,}", f"{b.missed:,}"),
        ("hung up in the queue", f"{a.abandoned:,}", f"{b.abandoned:,}"),
        ("  of which within 10 s", f"{a.short_hangups_staffed:,}", f"{b.short_hangups_staffed:,}"),
        ("emergencies answered", f"{a.total('emergency'):,}", f"{b.total('emergency'):,}"),
        ("pranks answered", f"{a.total('prank'):,}", f"{b.total('prank'):,}"),
    ]
    for row in rows:
        table.add_row(*row)
    out.print(table)
    out.print(f"Roster {roster_b.label}: {roster_b.describe()}")


def _live(scenario, roster, seed, start, end, url, token, speed, answer, operators, limit, run_id) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from siaga.domains.simulate import engine, live, reference

    token = token or os.environ.get("SIAGA_SIMULATE_TOKEN")
    if not token:
        fail("--live needs a telephony API token: --token siaga_… or SIAGA_SIMULATE_TOKEN "
             "(create one: siaga users add bridge --role telephony --name Bridge; siaga users token bridge --name sim)")
    if not speed > 0:
        fail("--speed must be more than 0")
    if answer not in ("sim", "humans"):
        fail("--answer is sim or humans")
    run = run_id or f"{scenario.name}-{datetime.now(UTC):%Y%m%d%H%M%S}"
    calls = engine.run(engine.generate(scenario, reference.places_from_csv(), reference.categories_from_csv(),
                                       seed, start, end), engine.Queue(roster, start, end))
    users = [u.strip() for u in operators.split(",") if u.strip()] if operators else None
    out.print(f"Replaying {scenario.name} to {url} at {speed:g}× (run {run}; Ctrl+C stops, --run-id {run} resumes)")
    with httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        try:
            check = client.get("/api/v1/me")
        except httpx.HTTPError as exc:
            fail(f"cannot reach {url}: {exc}")
        if check.status_code == 401:
            fail("the API token was refused (401): check --token")
        role = check.json().get("role") if check.status_code == 200 else None
        if role not in ("telephony", "supervisor"):
            fail(f"the token's user has role {role!r}: --live needs a telephony user's token")
        result = live.replay(client, calls, speed=speed, answer=answer, operators=users, run=run, limit=limit,
                             on_call=lambda n: err.print(f"\r{n:,} calls", end="") if n % 50 == 0 else None)
    err.print("")
    sent = ", ".join(f"{v:,} {k}" for k, v in sorted(result.sent.items()))
    out.print(f"{result.calls:,} calls replayed: {sent or 'nothing sent'}; {result.duplicates:,} already there.")
    out.print(f"Their call_ref is sim-{run}-…: reports, KPIs, the monitoring export, today's wallboard figures and "
              "staffing leave them (and incidents made only from them) out unless asked (--include-simulated).")
    if result.late_s > 1:
        out.print(f"[yellow]The sender fell up to {result.late_s:.1f} s behind schedule[/] (lower --speed).")
    if result.errors:
        for line in result.errors[:10]:
            err.print(f"[red]✗[/] {line}")
        fail(f"{len(result.errors)} events were refused")


def _demo_calls(count: int, rate: float, via: str, talk_ms: int, seed: int | None, voice: bool = False) -> None:
    from siaga.domains.simulate import phone as demo
    from siaga.domains.telephony import edge, service
    from siaga.settings import get_settings

    settings = get_settings()
    if via not in ("auto", "sip", "events"):
        fail(f"--via must be sip, events or auto, got {via!r}")
    if via in ("auto", "sip"):
        with action_ctx() as ctx:
            st = service.edge(ctx.db)
            up = edge.running_pid(edge.default_paths()) is not None and st.state == "up" and \
                st.last_seen_at is not None and (ctx.now() - st.last_seen_at).total_seconds() < 30
        if via == "sip" and not up:
            fail("the SIP edge is not up: `siaga telephony start`, and serve with SIAGA_TELEPHONY_BRIDGE=true "
                 "(or run `siaga telephony bridge`)")
        via = "sip" if up else "events"
    if voice and via != "sip":
        fail("--voice needs the SIP edge: `siaga telephony start`, and serve with SIAGA_TELEPHONY_BRIDGE=true")
    calls = demo.demo_calls(count, seed)
    if via == "sip":
        out.print(f"Placing {count} SIP calls through the edge ({rate}/s); each talks {talk_ms / 1000:.0f} s once "
                  "answered — answer them on an operator phone.")
        try:
            done = demo.place_sip_calls(settings, calls, rate, talk_ms, voice=voice)
        except demo.DemoError as exc:
            fail(str(exc))
        tail = done.stdout.decode(errors="replace").strip().splitlines()[-12:]
        out.print("\n".join(tail), markup=False, highlight=False)
        if done.returncode != 0:
            fail(f"sipp reported failed calls (exit {done.returncode}): unanswered within its timeout?")
        return
    out.print(f"The SIP edge is not running: ringing {count} calls into the queue as call events ({rate}/s).")
    for i, call in enumerate(calls):
        with action_ctx() as ctx:
            demo.ring_call_events(ctx, call)
        out.print(f"  {call.number} ringing ({call.lat}, {call.lon} ± {call.accuracy_m} m)")
        if i < len(calls) - 1:
            demo.pause(rate)
