"""A new site — one regency's (or city's) 112 centre — as a data folder, made from the national code list
and official boundaries, so that onboarding a regency is a matter of data, not code.

`init_site` writes the folder `siaga demo load` / `siaga site load` read (`data/load.load_reference`):
- `site.json`: kode wilayah, name, time zone, incident-number prefix (the settings default to these);
- `regions.csv`: the kabupaten/kota, its kecamatan and desa/kelurahan from the national list (names and
  codes as Kemendagri gives them); their points come from the boundaries when they are loaded;
- `boundaries.geojson`: the polygons of this kode only, as given (any format `siaga regions import` reads);
- a starter set for an admin to complete: the agencies of the national OPD roles (command centre, fire,
  disaster, health/PSC 119, transport, public order, police, SAR), the national emergency categories,
  guided questions in Indonesian, the default response plan and nuisance policy (the same defaults
  Bengkalis started from: `data/bengkalis/`, rules tied to Bengkalis places left out), and empty stations,
  units, patokan and islands.
Nothing here knows a particular regency."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siaga.data.load import BENGKALIS, DATA_DIR
from siaga.domains.regions.actions import NEIGHBOURS_FILE
from siaga.domains.regions.geometry import (
    Boundary,
    BoundaryFileError,
    level_of,
    neighbour_features,
    normalise_kode,
    read_boundary_file,
)

NATIONAL_CODES = DATA_DIR / "national" / "wilayah_kode_nama.csv.gz"
STARTER = BENGKALIS  # categories, questions, plan and policy: national defaults, first written for Bengkalis
STARTER_FILES = ("categories.csv", "questions.json", "nuisance_policy.json", "qa_checklist.json")
EMPTY_CSVS = {
    "stations.csv": "code,agency_code,name,kode_wilayah,lat,lon,coord_approx",
    "units.csv": "callsign,agency_code,type,capabilities,station_code",
    "landmarks.csv": "name,kind,kode_wilayah,lat,lon,coord_approx,note",
    "islands.csv": "kode,name,lat,lon,is_populated,is_outermost_small,source",
}
# Provinces by their time zone (Permen/Keppres on Indonesian time zones): WITA and WIT; the rest is WIB.
WITA_PROVINCES = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
WIT_PROVINCES = {"81", "82", "91", "92", "93", "94", "95", "96"}
STATUS_LABELS = ("Siaga", "Ditugaskan", "Menuju Lokasi", "Di Lokasi", "Kembali", "Tidak Operasional")
# code, kind, name pattern ({daerah}: "Kabupaten X" / "Kota X"; {nama}: "X"), short name
STARTER_AGENCIES = (
    ("DISKOMINFO", "command", "Dinas Komunikasi dan Informatika {daerah}", "Diskominfo"),
    ("DAMKAR", "fire", "Dinas Pemadam Kebakaran dan Penyelamatan {daerah}", "Damkar"),
    ("BPBD", "disaster", "Badan Penanggulangan Bencana Daerah {daerah}", "BPBD"),
    ("DINKES", "medical", "Dinas Kesehatan {daerah} / PSC 119", "Dinkes / PSC 119"),
    ("DISHUB", "transport", "Dinas Perhubungan {daerah}", "Dishub"),
    ("SATPOLPP", "public_order", "Satuan Polisi Pamong Praja {daerah}", "Satpol PP"),
    ("POLRES", "police", "Kepolisian Resor {nama}", "Polres {nama}"),
    ("SAR", "search_rescue", "Pos SAR {nama} (Basarnas)", "Pos SAR"),
)


class SiteError(ValueError):
    """Something a person can fix: the message says what (Indonesian, then English)."""


@dataclass(frozen=True)
class SiteInfo:
    kode: str
    name: str
    timezone: str
    incident_prefix: str
    regions: int
    desa: int
    with_boundary: int


def national_codes(path: Path = NATIONAL_CODES) -> dict[str, str]:
    """kode → nama, every region of Indonesia."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return {row["kode"]: row["nama"] for row in csv.DictReader(f)}


def timezone_for(kode: str) -> str:
    province = kode.split(".")[0]
    if province in WITA_PROVINCES:
        return "Asia/Makassar"
    if province in WIT_PROVINCES:
        return "Asia/Jayapura"
    return "Asia/Pontianak" if province in ("61", "62") else "Asia/Jakarta"


def default_prefix(name: str) -> str:
    """Three letters for incident numbers: 'Kabupaten Kepulauan Meranti' → KME, 'Kabupaten Paser' → PAS."""
    words = [w for w in re.split(r"[^A-Za-z]+", name) if w and w.lower() not in ("kabupaten", "kota", "adm")]
    letters = "".join(w[0] for w in words)
    rest = "".join(w[1:] for w in words)
    return (letters + rest).upper()[:3] or "SIT"


def init_site(kode: str, boundary_files: list[Path], out: Path, *, timezone: str | None = None,
              prefix: str | None = None, codes: dict[str, str] | None = None,
              neighbours: Path | None = None) -> SiteInfo:
    """Write the site folder `out` for the kabupaten/kota `kode`; refuses to overwrite a folder with files."""
    normal = normalise_kode(kode)
    if normal is None or level_of(normal) not in ("kabupaten", "kota"):
        raise SiteError(f"'{kode}' bukan kode kabupaten/kota (mis. 14.10) / is not a regency or city code "
                        "(e.g. 14.10)")
    codes = codes if codes is not None else national_codes()
    if normal not in codes:
        raise SiteError(f"kode {normal} tidak ada dalam daftar kode wilayah nasional / is not in the national "
                        "list of region codes")
    if prefix is not None and not re.fullmatch(r"[A-Z]{2,6}", prefix):
        raise SiteError("awalan nomor kejadian: 2–6 huruf besar / the incident prefix is 2–6 capital letters")
    if timezone is not None:
        from siaga.core.clock import SiteZone

        try:
            SiteZone.named(timezone)
        except Exception as exc:  # noqa: BLE001 - the zone's own message says what is wrong
            raise SiteError(f"zona waktu / time zone: {exc}") from None
    if out.exists() and any(out.iterdir()):
        raise SiteError(f"{out} sudah berisi berkas / already holds files: choose an empty folder")
    boundaries = _boundaries_of(normal, boundary_files)
    around = _neighbours_of(normal, neighbours) if neighbours is not None else []
    name = codes[normal]
    province = normal.split(".")[0]
    own = sorted(k for k in codes if k == normal or k.startswith(normal + "."))
    out.mkdir(parents=True, exist_ok=True)
    _write_regions(out / "regions.csv", [province, *own], codes)
    features = [{"type": "Feature", "properties": {"kode": b.kode, "nama": b.name, "level": b.level},
                 "geometry": json.loads(b.geojson)} for b in boundaries]
    (out / "boundaries.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")
    if around:
        (out / NEIGHBOURS_FILE).write_text(json.dumps(
            {"type": "FeatureCollection", "source": neighbours.name if neighbours else "", "features": around},
            ensure_ascii=False), encoding="utf-8")
    _write_agencies(out / "agencies.csv", name)
    _write_plan(out / "response_plan.json")
    for file in STARTER_FILES:
        shutil.copyfile(STARTER / file, out / file)
    for file, header in EMPTY_CSVS.items():
        (out / file).write_text(header + "\n", encoding="utf-8")
    info = SiteInfo(kode=normal, name=name, timezone=timezone or timezone_for(normal),
                    incident_prefix=prefix or default_prefix(name), regions=len(own) + 1,
                    desa=sum(1 for k in own if level_of(k) in ("desa", "kelurahan")),
                    with_boundary=len({b.kode for b in boundaries}))
    (out / "site.json").write_text(json.dumps({
        "kode": info.kode, "name": info.name, "timezone": info.timezone, "incident_prefix": info.incident_prefix,
        "sources": {"codes": "cahyadsn/wilayah @ b7ad440a (MIT)", "boundaries": [p.name for p in boundary_files]},
    }, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(_readme(info), encoding="utf-8")
    return info


def read_site(folder: Path) -> dict[str, Any]:
    """A site folder's site.json ({} for a folder without one, as the shipped Bengkalis data)."""
    path = folder / "site.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _neighbours_of(kode: str, path: Path) -> list[dict[str, Any]]:
    """The other kabupaten/kota of the province in a kabupaten outline file (e.g. riau_kabupaten.geojson)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = neighbour_features(data, kode)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SiteError(f"{path.name}: {exc}") from None
    if not found:
        raise SiteError(f"{path.name}: tidak ada kabupaten/kota lain di provinsi {kode.split('.')[0]} / holds no "
                        "other kabupaten/kota of the province")
    return found


def _boundaries_of(kode: str, files: list[Path]) -> list[Boundary]:
    """The boundaries of `kode` and below in the given files, read and checked as `siaga regions import`
    reads them (so a broken file is refused here, not at load)."""
    if not files:
        raise SiteError("berikan batas wilayah resmi (--boundaries FILE.geojson) / give the official boundaries")
    found: list[Boundary] = []
    for path in files:
        try:
            parsed = read_boundary_file(path)
        except (BoundaryFileError, OSError) as exc:
            raise SiteError(f"{path.name}: {exc}") from None
        found += [b for b in parsed.boundaries if b.kode == kode or b.kode.startswith(kode + ".")]
    if not any(b.level in ("desa", "kelurahan") for b in found):
        raise SiteError(f"tidak ada batas desa/kelurahan untuk {kode} dalam berkas itu / the files hold no "
                        f"desa boundaries of {kode}")
    return found


def _write_regions(path: Path, kodes: list[str], codes: dict[str, str]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kode", "parent_kode", "level", "name", "lat", "lon", "coord_approx", "source"])
    for kode in kodes:
        level = level_of(kode)
        parent = kode.rsplit(".", 1)[0] if "." in kode else ""
        writer.writerow([kode, parent, level, codes[kode], "", "", 1, "cahyadsn/wilayah@b7ad440a"])
    path.write_text(out.getvalue(), encoding="utf-8")


def _write_agencies(path: Path, daerah: str) -> None:
    nama = re.sub(r"^(Kabupaten|Kota)\s+", "", daerah)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name", "short_name", "kind", "phone", "status_label_available",
                     "status_label_assigned", "status_label_en_route", "status_label_on_scene",
                     "status_label_returning", "status_label_out_of_service"])
    for code, kind, pattern, short in STARTER_AGENCIES:
        writer.writerow([code, pattern.format(daerah=daerah, nama=nama), short.format(nama=nama), kind, "",
                         *STATUS_LABELS])
    path.write_text(out.getvalue(), encoding="utf-8")


def _write_plan(path: Path) -> None:
    plan = json.loads((STARTER / "response_plan.json").read_text(encoding="utf-8"))
    plan["rules"] = [r for r in plan["rules"] if "kode_wilayah" not in r]  # places of Bengkalis
    plan["$comment"] = ("The default response plan of a new site (the national defaults; see PRODUCT.md). "
                        "It seeds a new database once; admins adapt it on /plan.")
    path.write_text(json.dumps(plan, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _readme(info: SiteInfo) -> str:
    return f"""# {info.name} ({info.kode})

Made by `siaga site init {info.kode}`. Time zone {info.timezone}; incident numbers {info.incident_prefix}-YYYY-NNNNNN.

- `regions.csv`: {info.regions} regions from the national code list (cahyadsn/wilayah @ b7ad440a, MIT);
  {info.with_boundary} have an official boundary in `boundaries.geojson`, from which their points are derived.
- To complete before going live (as an admin, on /plan and in these files): agencies' real names and phone
  numbers (`agencies.csv`), stations and units, patokan (`siaga map import` brings them from OpenStreetMap),
  the response plan.
- Run it: `SIAGA_SITE_DIR={{this folder}} siaga db upgrade && SIAGA_SITE_DIR=... siaga site load`, then
  `siaga regions check`.
"""
