"""`siaga map`: the offline street map from an OpenStreetMap extract — the basemap the consoles draw, the
road network for unit ranking and the patokan — in one command, and what is loaded now."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from siaga.cli import _bbox, action_ctx, app, err, out
from siaga.settings import get_settings

map_app = typer.Typer(help="Peta jalan luring / the offline street map (OpenStreetMap): basemap, roads, patokan.",
                      no_args_is_help=True)
app.add_typer(map_app, name="map")

STEPS = {
    "scan": "1/5 Membaca ekstrak / reading the extract",
    "write": "1/5 Memotong ke wilayah / clipping to the regency",
    "tiles_read": "2/5 tilemaker: membaca / reading",
    "tiles": "2/5 Membuat ubin peta / building map tiles",
    "archive": "2/5 Menulis arsip peta / writing the map archive",
    "read": "3/5 Membaca jalan / reading roads",
    "pois": "4/5 Membaca tempat penting / reading points of interest",
    "nodes": "5/5 Menyimpan simpul jalan / storing road nodes",
    "edges": "5/5 Menyimpan ruas jalan / storing road edges",
    "patokan": "5/5 Menyimpan patokan / storing patokan",
}


def _stop(message: str) -> None:
    for line in message.splitlines():
        err.print(f"[bold red]✗[/] {line}", highlight=False)
    raise typer.Exit(1)


@map_app.command("import")
def map_import(file: Path = typer.Argument(..., help="OpenStreetMap extract (.osm.pbf) that holds the regency"),
               bbox: str = typer.Option(None, help="keep MIN_LON,MIN_LAT,MAX_LON,MAX_LAT of the extract instead of "
                                        "the regency's bbox with a 0.05° margin")) -> None:
    """Build the offline street basemap, replace the road network (ferries included) and import patokan
    (masjid, sekolah, puskesmas, pasar, kantor desa, SPBU, jembatan, pelabuhan …) placed in their desa by
    the official boundaries — from one extract, in one pass. Nothing changes unless all of it succeeds."""
    from siaga.domains.basemap import actions, service
    from siaga.domains.basemap.importer import MapImportError, prepare

    settings = get_settings()
    box = _bbox(bbox)
    with action_ctx() as ctx:
        try:
            regency = service.regency(ctx.db, settings.region_code)
        except MapImportError as exc:
            _stop(str(exc))
        now = ctx.now()
    prepared = None
    installed = False
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description:<52}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err) as bar:
            tasks: dict[str, int] = {}

            def progress(phase: str, done: int, total: int | None) -> None:
                if phase not in tasks:
                    for task in bar.tasks:  # a new step: the ones before it are done
                        whole = task.total or task.completed or 1
                        bar.update(task.id, total=whole, completed=whole)
                    tasks[phase] = bar.add_task(STEPS.get(phase, phase), total=total)
                bar.update(tasks[phase], completed=done, total=total)

            try:
                prepared = prepare(file, regency, data_dir=settings.data_dir, now=now, bbox=box, progress=progress)
            except MapImportError as exc:
                bar.stop()
                _stop(str(exc))
            assert prepared is not None
            with action_ctx() as ctx:
                result = actions.store(ctx, prepared, progress)
            for task in bar.tasks:
                whole = task.total or task.completed or 1
                bar.update(task.id, total=whole, completed=whole)
        path = actions.install(prepared, settings.data_dir)
        installed = True
    finally:
        if prepared is not None and not installed:
            actions.discard(prepared)
    _summary(result, path, regency.name)


def _summary(result, path: Path, regency: str) -> None:  # type: ignore[no-untyped-def]
    """One line per item, never wrapped: easy to read, grep and paste into a ticket."""
    lm, net = result.landmarks, result.network
    lines = [
        f"[bold]Peta {regency} dari / map of {regency} from {result.source}[/]",
        f"  Peta dasar / basemap: {result.tiles} ubin/tiles, {result.archive_bytes / 1e6:.1f} MB → {path}",
        f"  Jalan / roads: {net.node_count} simpul/nodes, {net.edge_count} ruas/edges",
        f"  Patokan: {lm.created} baru/new, {lm.updated} diubah/updated, {lm.unchanged} tetap/unchanged, "
        f"{lm.linked} ditautkan/linked, {lm.removed} dihapus/removed"
        + (f", {lm.kept_in_use} tetap karena dipakai kejadian / kept (used by incidents)" if lm.kept_in_use else ""),
    ]
    if lm.by_kind:
        lines.append("    menurut jenis / by kind: " + ", ".join(f"{k} {v}" for k, v in lm.by_kind.items()))
    skipped = [f"{lm.outside} di luar desa {regency} / outside its desa", f"{result.pois_unnamed} tanpa nama / unnamed"]
    if result.pois_no_position:
        skipped.append(f"{result.pois_no_position} tanpa posisi / no position")
    lines.append("  Dilewati / skipped: " + "; ".join(skipped))
    for line in lines:
        out.print(line, soft_wrap=True, highlight=False)
    out.print("[green]Selesai / done[/]: konsol memakai peta baru setelah dimuat ulang / consoles use the new map "
              "once reloaded. Periksa / check: [bold]siaga regions check[/]", soft_wrap=True)


@map_app.command("info")
def map_info() -> None:
    """What street map this host serves, and the road network and patokan in the database."""
    from sqlalchemy import func, select

    from siaga.domains.basemap.archive import archive_info, archive_path
    from siaga.domains.regions.models import Landmark
    from siaga.domains.roads import service as roads_service

    settings = get_settings()
    info = archive_info(archive_path(settings.data_dir))
    if info is None:
        out.print(f"Peta dasar / basemap: belum ada / none ({archive_path(settings.data_dir)}); konsol memakai garis "
                  "pantai bawaan / consoles show the built-in coastline map. [bold]siaga map import FILE.osm.pbf[/]")
    else:
        out.print(f"Peta dasar / basemap: {info.path} ({info.size / 1e6:.1f} MB, zoom {info.min_zoom}–{info.max_zoom}, "
                  f"{info.source}, {info.imported_at})")
    with action_ctx() as ctx:
        network = roads_service.current_network(ctx.db)
        osm = ctx.db.scalar(select(func.count()).select_from(Landmark).where(Landmark.osm_ref.is_not(None)))
        total = ctx.db.scalar(select(func.count()).select_from(Landmark))
    if network is not None:
        out.print(f"Jalan / roads: {network.source}, {network.node_count} simpul/nodes"
                  + (" [yellow](demo)[/]" if network.is_demo else ""))
    out.print(f"Patokan: {total} ({osm} dari/from OpenStreetMap)")
