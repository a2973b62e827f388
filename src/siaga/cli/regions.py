"""`siaga regions`: import official boundaries, check the gazetteer against them, and say where a
coordinate is."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from siaga.cli import action_ctx, app, err, fail, out
from siaga.settings import get_settings

regions_app = typer.Typer(help="Gazetteer: official boundaries (kode wilayah), checks, reverse geocoding.",
                          no_args_is_help=True)
app.add_typer(regions_app, name="regions")


@regions_app.command("import")
def regions_import(file: Path = typer.Argument(..., help="GeoJSON FeatureCollection of Polygon/MultiPolygon "
                                               "features with a kode wilayah (kode, KDEPUM, kode_desa, ...)"),
                   replace: bool = typer.Option(False, "--replace", help="replace outlines already imported "
                                                "(without it, a region that has one is refused)"),
                   source: str = typer.Option(None, help="where the file came from, kept with each outline "
                                              "(default: the file name)")) -> None:
    """Load boundary polygons by kode wilayah and move each region's point inside its polygon, in one
    transaction: a file with anything wrong changes nothing."""
    from siaga.domains.regions import actions
    from siaga.domains.regions.geometry import BoundaryFileError, read_boundary_file

    labels = {"read": "Membaca berkas / reading the file", "check": "Memeriksa poligon / checking polygons"}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        current: list[int] = []

        def phase(name: str) -> None:
            if current:
                bar.update(current[-1], completed=1, total=1)
            current.append(bar.add_task(labels.get(name, name), total=None))

        try:
            parsed = read_boundary_file(file, progress=phase)
        except BoundaryFileError as exc:
            fail(f"{exc}. Gazetir tidak berubah / the gazetteer is unchanged.")
        if source:
            parsed.source = source
        write = bar.add_task("Menyimpan batas / writing boundaries", total=len(parsed.boundaries))
        with action_ctx() as ctx:
            result = actions.import_boundaries(
                ctx, parsed, replace=replace, progress=lambda done, total: bar.update(write, completed=done))
    out.print(f"[green]Batas wilayah dimuat / boundaries imported[/]: {result.region_count} wilayah/regions "
              f"({result.created_count} baru/new) dari/from {result.source}; titik label di dalam poligon / "
              "label points moved inside their polygons.")
    if parsed.notes:
        out.print(f"Diperbaiki / repaired: {'; '.join(parsed.notes[:10])}" + (" …" if len(parsed.notes) > 10 else ""))
    out.print("Periksa / check: [bold]siaga regions check[/]")


@regions_app.command("check")
def regions_check(region: str = typer.Option(None, help="kode of the regency (default SIAGA_REGION_CODE)"),
                  language: str = typer.Option("id", help="id or en")) -> None:
    """Report what is wrong in the gazetteer (points outside their polygon, missing or overlapping desa
    polygons, stations and patokan off land or outside their named desa); exit 1 if anything is."""
    from siaga.domains.agencies.models import Station
    from siaga.domains.regions.check import StationPoint, check_gazetteer

    code = region or get_settings().region_code
    with action_ctx() as ctx:
        stations = [StationPoint(s.code, s.name, s.kode_wilayah, s.lat, s.lon) for s in ctx.db.scalars(
            select(Station).where(Station.lat.is_not(None), Station.lon.is_not(None)).order_by(Station.code))]
        report = check_gazetteer(ctx.db, code, stations)
    en = language == "en"
    out.print(("Gazetteer {code}: {d} desa/kelurahan ({p} with a polygon), {lm} patokan, {st} stations" if en else
               "Gazetir {code}: {d} desa/kelurahan ({p} berpoligon), {lm} patokan, {st} pos").format(
        code=code, d=report.desa, p=report.desa_with_polygon, lm=report.landmarks, st=report.stations))
    for f in report.findings:  # one line each, never wrapped: easy to read, grep and paste into a ticket
        mark = "[red]✗[/]" if f.problem else "[yellow]·[/]"
        out.print(f"{mark} [bold]{f.kind}[/] {f.text(language)}", soft_wrap=True, highlight=False)
    if report.ok:
        notes = len(report.findings)
        out.print("[green]OK[/]: " + ("nothing wrong" if en else "tidak ada masalah")
                  + (f" ({notes} {'notes' if en else 'catatan'})" if notes else ""))
        return
    fail(f"{len(report.problems)} " + ("problem(s) in the gazetteer" if en else "masalah di gazetir"))


@regions_app.command("at")
def regions_at(lat: float = typer.Argument(..., help="latitude, e.g. 1.4652"),
               lon: float = typer.Argument(..., help="longitude, e.g. 102.1070"),
               language: str = typer.Option("id", help="id or en")) -> None:
    """Where a coordinate is: desa, kecamatan, kabupaten and the nearest patokan."""
    from siaga.domains.regions import service

    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        fail(f"({lat}, {lon}) is not a WGS 84 coordinate")
    with action_ctx() as ctx:
        place = service.locate(ctx.db, lat, lon, language)
    out.print(place.label)
    out.print_json(place.model_dump_json())
