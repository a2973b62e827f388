"""`siaga site`: a new regency's centre from the national code list and official boundaries (no code)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from siaga.cli import action_ctx, app, fail, out
from siaga.settings import get_settings

site_app = typer.Typer(help="A site (one regency's 112 centre): make its data folder, load it.",
                       no_args_is_help=True)
app.add_typer(site_app, name="site")


@site_app.command("init")
def site_init(kode: str = typer.Argument(..., help="kode wilayah of the kabupaten/kota, e.g. 14.10"),
              boundaries: list[Path] = typer.Option(..., "--boundaries", "-b", help="official boundaries as "
                                                    "GeoJSON (desa, and kecamatan if you have them); repeat"),
              out_dir: Path = typer.Option(None, "--out", help="the site folder to write (default: sites/KODE)"),
              timezone: str = typer.Option(None, help="IANA zone (default: by province: WIB, WITA or WIT)"),
              prefix: str = typer.Option(None, help="incident-number prefix, 2–6 capital letters"),
              neighbours: Path = typer.Option(None, "--neighbours", help="the province's kabupaten/kota outlines "
                                              "(GeoJSON): the others become neighbours the geocoder names")) -> None:
    """Write a site folder: regions from the national list, the boundaries, a starter set of agencies, the
    national categories and guided questions, the default response plan and nuisance policy."""
    from siaga.data.site import SiteError, init_site

    folder = out_dir or Path("sites") / kode
    try:
        info = init_site(kode, boundaries, folder, timezone=timezone, prefix=prefix, neighbours=neighbours)
    except SiteError as exc:
        fail(str(exc))
        return
    out.print(f"[bold]{info.name}[/] ({info.kode}) → {folder}")
    out.print(f"  {info.regions} wilayah, {info.desa} desa/kelurahan, {info.with_boundary} berpoligon / with a "
              f"boundary; zona waktu / time zone {info.timezone}; nomor kejadian / incident numbers "
              f"{info.incident_prefix}-YYYY-NNNNNN")
    out.print("Lalu / then:\n"
              f"  export SIAGA_SITE_DIR={folder.resolve()}\n"
              "  siaga db upgrade && siaga site load && siaga regions check")


@site_app.command("load")
def site_load() -> None:
    """Load the site's data (SIAGA_SITE_DIR) into the database, and make the first admin (its one-time
    password is printed once). Loading twice changes nothing."""
    from siaga.data.demo import ensure_admin
    from siaga.data.load import load_reference

    settings = get_settings()
    with action_ctx() as ctx:
        report = load_reference(ctx, settings.site_folder)
        created = ensure_admin(ctx)
    added = ", ".join(f"{v} {k}" for k, v in report.added.items()) or "tidak ada yang baru / nothing new"
    out.print(f"{settings.site_folder.name} ({settings.region_code}, {settings.timezone}): {added}.")
    if created:
        table = Table(title="Admin — kata sandi sekali pakai / one-time password, shown only now")
        for col in ("username", "password"):
            table.add_column(col)
        table.add_row(created.username, created.password)
        out.print(table)


@site_app.command("agency")
def site_agency(code: str = typer.Argument(..., help="the agency's code, e.g. DAMKAR"),
                phone: str = typer.Option(None, "--phone", help="the number a call-taker dials to bring the agency "
                                          "onto a caller's line, as written, e.g. \"(0766) 21-113\"; \"\" clears it"),
                name: str = typer.Option(None, "--name", help="its full name"),
                short_name: str = typer.Option(None, "--short-name", help="its short name, e.g. Damkar")) -> None:
    """Show or correct an agency (audited): its names, and its number for joining it to a caller."""
    from sqlalchemy import select

    from siaga.domains.agencies import actions, schemas
    from siaga.domains.agencies.models import Agency

    with action_ctx() as ctx:
        agency = ctx.db.scalar(select(Agency).where(Agency.code == code.upper()))
        if agency is None:
            fail(f"unknown agency code {code!r} / kode instansi tidak dikenal")
            return
        if phone is not None or name is not None or short_name is not None:
            try:
                data = schemas.AgencyUpdate(version=agency.version, phone=phone, name=name, short_name=short_name)
            except ValueError:
                fail("a phone number has only digits, spaces and + ( ) - . / nomor telepon hanya berisi angka, "
                     "spasi dan + ( ) - .")
                return
            actions.update_agency(ctx, agency.id, data)
        out.print(f"{agency.code}: {agency.name} ({agency.short_name}) · "
                  f"telepon / phone: {agency.phone or '— (tidak ada / none)'}")
