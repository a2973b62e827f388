"""`siaga telephony`: the SIP edge (Kamailio) — its configuration, start, stop and health — the bridge to
it, and operators' phone lines."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import typer

from siaga.cli import action_ctx, app, fail, out

telephony_app = typer.Typer(help="The SIP edge (Kamailio): config, start, stop, status, bridge; phone lines.",
                            no_args_is_help=True)
app.add_typer(telephony_app, name="telephony")


def _paths(directory: Path | None):  # type: ignore[no-untyped-def]
    from siaga.domains.telephony.edge import EdgePaths, default_paths

    return EdgePaths(directory.resolve()) if directory else default_paths()


DIR_OPTION = typer.Option(None, "--dir", help="where the rendered config, pid file and log live "
                                              "(default var/telephony)")


@telephony_app.command("config")
def config(directory: Path = DIR_OPTION,
           stdout: bool = typer.Option(False, "--stdout", help="print the configuration, do not write it")) -> None:
    """Render Kamailio's configuration from the settings (SIAGA_TELEPHONY_*) and check it with `kamailio -c`."""
    from siaga.domains.telephony import edge
    from siaga.settings import get_settings

    paths = _paths(directory)
    try:
        if stdout:
            out.print(edge.render_config(get_settings(), paths), markup=False, highlight=False)
            return
        written = edge.write_config(get_settings(), paths)
    except edge.EdgeError as exc:
        fail(str(exc))
    out.print(f"Configuration written and checked: {written}")


@telephony_app.command("start")
def start(directory: Path = DIR_OPTION) -> None:
    """Render, check and start the SIP edge (as a daemon). Start `siaga serve` with
    SIAGA_TELEPHONY_BRIDGE=true (or `siaga telephony bridge`) so calls reach the consoles."""
    from siaga.domains.telephony import edge, media
    from siaga.settings import get_settings

    settings = get_settings()
    paths = _paths(directory)
    if settings.telephony_media:  # media first: the edge's first call already goes through it
        try:
            mpid = media.start(settings, media.MediaPaths(paths.directory))
        except media.MediaError as exc:
            fail(str(exc))
        out.print(f"Media (rtpengine) running (pid {mpid}) on {settings.telephony_media_interface} ports "
                  f"{settings.telephony_rtp_ports}; recordings into {media.spool_dir(settings)}")
        _default_prompts_if_missing(settings)
    try:
        pid = edge.start(settings, paths)
    except edge.EdgeError as exc:
        fail(str(exc))
    out.print(f"SIP edge running (pid {pid}) on {settings.telephony_listen}; evapi {settings.telephony_evapi}")
    if settings.telephony_wss_listen or settings.telephony_ws_listen:
        cert, _key = edge.tls_pair(settings, paths)
        out.print("Browser lines: " + ", ".join(f"{scheme}://{addr}" for scheme, addr in (
            ("wss", settings.telephony_wss_listen), ("ws", settings.telephony_ws_listen)) if addr)
            + (f"; TLS certificate {cert}" + ("" if settings.telephony_tls_cert else " (self-signed: see "
               "docs/telephony.md, 'The browser line')") if settings.telephony_wss_listen else ""))


@telephony_app.command("stop")
def stop(directory: Path = DIR_OPTION) -> None:
    """Stop the SIP edge and its media (rtpengine): calls in progress lose their audio."""
    from siaga.domains.telephony import edge, media

    paths = _paths(directory)
    out.print("SIP edge stopped" if edge.stop(paths) else "SIP edge was not running")
    out.print("Media (rtpengine) stopped" if media.stop(media.MediaPaths(paths.directory))
              else "Media (rtpengine) was not running")


@telephony_app.command("status")
def status(directory: Path = DIR_OPTION,
           as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
    """Is the edge running, is its media (rtpengine) answering, is the bridge connected, which phones are
    registered, what is waiting. Exits 1 when the edge or its media is not running or the bridge has not
    been heard from in the last 30 seconds."""
    from siaga.domains.telephony import edge, media, service
    from siaga.settings import get_settings

    settings = get_settings()
    pid = edge.running_pid(_paths(directory))
    mpid = media.running_pid(media.MediaPaths(_paths(directory).directory)) if settings.telephony_media else None
    media_ok = not settings.telephony_media or (bool(mpid) and media.ping(settings))
    with action_ctx() as ctx:
        st = service.status(ctx.db, ctx.now())
        now = ctx.now()
    fresh = st.edge.state == "up" and st.edge.last_seen_at is not None and \
        (now - st.edge.last_seen_at).total_seconds() < 30
    if as_json:
        out.print_json(json.dumps({"process": pid, "bridge_connected": fresh,
                                   "media": {"enabled": settings.telephony_media, "process": mpid,
                                             "answering": media_ok}, **st.model_dump(mode="json")}))
    else:
        out.print(f"Kamailio: {'running, pid ' + str(pid) if pid else '[red]not running[/]'}")
        if settings.telephony_media:
            out.print(f"Media (rtpengine): {'running, pid ' + str(mpid) if mpid else '[red]not running[/]'}"
                      + ("" if media_ok or not mpid else " [red]not answering on " +
                         settings.telephony_rtpengine_ng + "[/]"))
        else:
            out.print("Media (rtpengine): off (SIAGA_TELEPHONY_MEDIA=false): audio goes straight, unrecorded")
        seen = st.edge.last_seen_at.isoformat(timespec="seconds") if st.edge.last_seen_at else "never"
        out.print(f"Bridge: {'[green]connected[/]' if fresh else '[red]not connected[/]'} (last heartbeat {seen})")
        for line in st.lines:
            state = "busy" if line.busy else line.presence
            reg = "registered" if line.registered else "[yellow]phone not registered[/]"
            out.print(f"  {line.extension}  {line.username:<16} {state:<10} {reg}")
        out.print(f"Waiting calls: {len(st.queue)}")
        _print_announce_status(settings, st.edge.detail)
    if not pid or not fresh or not media_ok:
        raise typer.Exit(1)


# --- the waiting prompt (domains/telephony/announce.py) -----------------------------------------------------

def _regency_name() -> str:
    """The regency the database serves ("Kabupaten Bengkalis"), '' when it cannot be read."""
    try:
        from siaga.db.engine import engine_for, unit_of_work
        from siaga.domains.regions.service import served_regency
        from siaga.settings import get_settings

        with unit_of_work(engine_for(get_settings().database_url), write=False) as db:
            regency = served_regency(db)
        return regency.name if regency else ""
    except Exception:  # noqa: BLE001 - no database yet: the prompt names no regency
        return ""


def _default_prompts_if_missing(settings) -> None:  # type: ignore[no-untyped-def]
    from siaga.domains.telephony import announce

    if not settings.telephony_announce or announce.prompt_path(settings).exists():
        return
    try:
        path, _ = announce.write_defaults(settings, _regency_name())
        out.print(f"Waiting prompt generated: {path}")
    except announce.AnnounceError as exc:  # the edge runs without it: callers hear ringing while they wait
        out.print(f"[yellow]Waiting prompt not generated: {exc}[/]")


def _print_announce_status(settings, detail: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    from siaga.domains.telephony import announce

    if not (settings.telephony_announce and settings.telephony_media):
        out.print("Waiting prompt: off")
        return
    prompt = announce.check_prompt(settings)
    last = detail.get("announce") if isinstance(detail, dict) else None
    if not prompt.ok:
        out.print(f"Waiting prompt: [red]{prompt.problem}[/] — waiting callers hear only ringing", markup=True)
    else:
        out.print(f"Waiting prompt: {prompt.path} ({prompt.seconds:.1f} s)")
    if isinstance(last, dict) and not last.get("ok"):
        out.print(f"  [red]last attempt failed ({last.get('at')}): {last.get('problem')}[/]")


@telephony_app.command("prompts")
def prompts(force: bool = typer.Option(False, "--force", help="write the default prompt again, over the file "
                                                            "there (e.g. your own recording)"),
            regency: str = typer.Option(None, "--regency", help='the regency the prompt names (default: the one '
                                                                 'the database serves, e.g. "Kabupaten Bengkalis")')
            ) -> None:
    """Generate the default waiting prompt ("Anda terhubung dengan layanan darurat 112 …") into
    SIAGA_TELEPHONY_PROMPTS_DIR with espeak-ng, unless it is there already. `siaga telephony start` does it
    when the file is missing."""
    from siaga.domains.telephony import announce
    from siaga.settings import get_settings

    settings = get_settings()
    name = _regency_name() if regency is None else regency
    try:
        path, written = announce.write_defaults(settings, name, force=force)
    except announce.AnnounceError as exc:
        fail(str(exc))
    if not written:
        out.print(f"Waiting prompt already there (keep it, or --force): {path}")
        return
    state = announce.check_prompt(settings)
    out.print(f"Waiting prompt written: {path} ({state.seconds:.1f} s): "
              f"{announce.prompt_text(name, settings.silent_caller_key)}", markup=False)


@telephony_app.command("bridge")
def bridge() -> None:
    """Run the bridge to the SIP edge in this process (instead of inside `siaga serve`). Run exactly one."""
    from siaga.core.clock import Clock
    from siaga.db.engine import engine_for
    from siaga.domains.telephony.bridge import EdgeBridge
    from siaga.settings import get_settings

    settings = get_settings()

    async def main() -> None:
        b = EdgeBridge(engine_for(settings.database_url), Clock(), settings)
        await b.start()
        assert b.task is not None
        await b.task

    out.print(f"Bridge to the SIP edge at {settings.telephony_evapi} (Ctrl+C stops)")
    asyncio.run(main())


@telephony_app.command("line")
def line(username: str = typer.Argument(..., help="a call-taker or supervisor; or an agency operator (a line a "
                                        "call-taker calls to join the agency, never rung for 112)"),
         extension: str = typer.Argument(..., help="the phone's extension, e.g. 1001"),
         password: str = typer.Option(None, help="SIP password (default: a new one, printed once)"),
         browser: bool = typer.Option(False, "--browser", help="a browser line: the call-taker console registers "
                                      "the extension itself (SIP over WebSocket); --phone: back to the desk phone"),
         phone: bool = typer.Option(False, "--phone", help="calls ring the desk phone (the default for a new line)"),
         ) -> None:
    """Give USERNAME a phone line: the extension their desk phone or softphone registers as (or, with
    --browser, the call-taker console in their browser)."""
    from pydantic import ValidationError

    from siaga.domains.telephony import actions, schemas
    from siaga.domains.users.service import get_by_username
    from siaga.settings import get_settings

    chosen = password or secrets.token_urlsafe(12)
    try:
        data = schemas.LineIn(extension=extension, password=chosen)
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    with action_ctx() as ctx:
        user = get_by_username(ctx.db, username)
        if user is None:
            fail(f"no user {username!r}")
        actions.set_line(ctx, user.id, data)
        if browser or phone:
            actions.set_device(ctx, user.id, schemas.DeviceIn(device="browser" if browser else "phone"))
    s = get_settings()
    if browser:
        where = ("wss://" + s.telephony_wss_listen if s.telephony_wss_listen else
                 "ws://" + s.telephony_ws_listen if s.telephony_ws_listen else "(SIAGA_TELEPHONY_WSS_LISTEN unset!)")
        out.print(f"Line {extension} for [bold]{username}[/] is a browser line: the console (/calltaker, or /agency "
                  f"for an agency operator) registers it over {where}")
        return
    out.print(f"Line {extension} for [bold]{username}[/]: register the phone as {extension}@{s.telephony_domain} "
              f"to the edge at {s.telephony_listen}")
    if not password:
        out.print(f"SIP password (shown once): [bold yellow]{chosen}[/]")
