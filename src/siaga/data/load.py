"""Loads the reference set from data/<region>/*.csv, idempotently: rows are matched by their natural key
(kode, code, callsign, name), so loading twice changes nothing and a new file version adds what's new."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.context import Ctx
from siaga.domains.agencies.models import UNIT_STATUSES, Agency, Station
from siaga.domains.callers.actions import load_policy
from siaga.domains.incidents.models import Category
from siaga.domains.incidents.questions import load_questions
from siaga.domains.quality.actions import load_checklist
from siaga.domains.regions.actions import load_shipped_boundaries
from siaga.domains.regions.models import Landmark, Region
from siaga.domains.response.seed import load_plan
from siaga.domains.roads.actions import load_demo_network
from siaga.domains.units.actions import announce_unit
from siaga.domains.units.models import Unit
from siaga.events.kinds import EventKind

DATA_DIR = Path(__file__).parent
BENGKALIS = DATA_DIR / "bengkalis"


def rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def _float(value: str) -> float | None:
    return float(value) if value not in ("", None) else None


def _bool(value: str) -> bool:
    return value.strip() in ("1", "true", "True", "yes")


@dataclass
class LoadReport:
    added: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.added[what] = self.added.get(what, 0) + 1


@dataclass(frozen=True)
class Kind:
    """One kind of reference row: the site folder's CSV it comes from, its natural key, and how a row of
    the file becomes a row of the database (`build`, given the context and the file's row)."""

    name: str  # as the load report counts it
    file: str
    key: Callable[[dict[str, str]], str]
    stored: Callable[[Session], Iterable[str]]  # the keys already in the database
    build: Callable[[Ctx, dict[str, str]], Any]
    prepare: Callable[[list[dict[str, str]]], list[dict[str, str]]] = lambda file_rows: file_rows
    # Rows that are live state, not reference data, are announced like any other new one: a console open
    # while a site folder is loaded shows them at once (tests/integration/test_event_guard.py).
    announce: Callable[[Ctx, Any], None] | None = None


def _agency_id(ctx: Ctx, code: str) -> int:
    agency_id = ctx.db.scalar(select(Agency.id).where(Agency.code == code))
    if agency_id is None:
        raise ValueError(f"unknown agency code {code!r}")
    return agency_id


def _region(ctx: Ctx, row: dict[str, str]) -> Region:
    return Region(kode=row["kode"], parent_kode=row["parent_kode"] or None, level=row["level"], name=row["name"],
                  lat=_float(row["lat"]), lon=_float(row["lon"]), coord_approx=_bool(row["coord_approx"]),
                  source=row["source"])


def _category(ctx: Ctx, row: dict[str, str]) -> Category:
    return Category(code=row["code"], parent_code=row["parent_code"] or None, name_id=row["name_id"],
                    name_en=row["name_en"], default_priority=int(row["default_priority"] or 3), active=True)


def _agency(ctx: Ctx, row: dict[str, str]) -> Agency:
    labels = {s: row[f"status_label_{s}"] for s in UNIT_STATUSES if row.get(f"status_label_{s}")}
    return Agency(code=row["code"], name=row["name"], short_name=row["short_name"], kind=row["kind"],
                  phone=row.get("phone", ""), status_labels=labels, active=True)


def _station(ctx: Ctx, row: dict[str, str]) -> Station:
    return Station(code=row["code"], agency_id=_agency_id(ctx, row["agency_code"]), name=row["name"],
                   kode_wilayah=row["kode_wilayah"] or None, lat=_float(row["lat"]), lon=_float(row["lon"]),
                   coord_approx=_bool(row["coord_approx"]))


def _unit(ctx: Ctx, row: dict[str, str]) -> Unit:
    """A unit waits at its station (its position is the station's until it reports one)."""
    station = ctx.db.scalar(select(Station).where(Station.code == row["station_code"]))
    now = ctx.now()
    return Unit(callsign=row["callsign"], agency_id=_agency_id(ctx, row["agency_code"]), type=row["type"],
                capabilities=[c for c in row["capabilities"].split(";") if c],
                station_id=station.id if station else None, lat=station.lat if station else None,
                lon=station.lon if station else None, position_at=now if station else None, status="available",
                status_at=now, active=True, extra={})


def _landmark(ctx: Ctx, row: dict[str, str]) -> Landmark:
    return Landmark(name=row["name"], kind=row["kind"], kode_wilayah=row["kode_wilayah"] or None,
                    lat=float(row["lat"]), lon=float(row["lon"]), coord_approx=_bool(row["coord_approx"]),
                    note=row.get("note", ""))


def _island_names(file_rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Three islands share the name Pulau Rupat: where a name repeats, the code tells them apart."""
    counts = Counter(r["name"] for r in file_rows)
    return [{**r, "name": r["name"] if counts[r["name"]] == 1 else f"{r['name']} ({r['kode']})"} for r in file_rows]


def _island(ctx: Ctx, row: dict[str, str]) -> Landmark:
    return Landmark(name=row["name"], kind="island", kode_wilayah=None, lat=float(row["lat"]),
                    lon=float(row["lon"]), coord_approx=False, note=row["source"])


def _landmark_names(db: Session) -> Iterable[str]:
    return db.scalars(select(Landmark.name))


# In the order they refer to each other: categories before their subcategories, agencies before their
# stations, stations before the units waiting there.
KINDS: tuple[Kind, ...] = (
    Kind("regions", "regions.csv", lambda r: r["kode"], lambda db: db.scalars(select(Region.kode)), _region),
    Kind("categories", "categories.csv", lambda r: r["code"], lambda db: db.scalars(select(Category.code)),
         _category, prepare=lambda file_rows: sorted(file_rows, key=lambda r: r["parent_code"] != "")),
    Kind("agencies", "agencies.csv", lambda r: r["code"], lambda db: db.scalars(select(Agency.code)), _agency),
    Kind("stations", "stations.csv", lambda r: r["code"], lambda db: db.scalars(select(Station.code)), _station),
    Kind("units", "units.csv", lambda r: r["callsign"], lambda db: db.scalars(select(Unit.callsign)), _unit,
         announce=lambda ctx, unit: announce_unit(ctx, unit, EventKind.UNIT_CREATED)),
    Kind("landmarks", "landmarks.csv", lambda r: r["name"], _landmark_names, _landmark),
    Kind("islands", "islands.csv", lambda r: r["name"], _landmark_names, _island, prepare=_island_names),
)


def _load_kind(ctx: Ctx, folder: Path, kind: Kind, report: LoadReport) -> None:
    stored = set(kind.stored(ctx.db))
    for row in kind.prepare(list(rows(folder / kind.file))):
        key = kind.key(row)
        if key in stored:
            continue
        built = kind.build(ctx, row)
        ctx.db.add(built)
        ctx.db.flush()  # the next row (a subcategory, a station) may refer to this one
        if kind.announce is not None:
            kind.announce(ctx, built)
        stored.add(key)
        report.count(kind.name)


def load_reference(ctx: Ctx, folder: Path = BENGKALIS) -> LoadReport:
    """Every kind of KINDS (rows the database lacks, by natural key), then what builds on them: the guided
    questions, the response plan, the nuisance policy, the official boundaries, the demo road network."""
    report = LoadReport()
    for kind in KINDS:
        _load_kind(ctx, folder, kind, report)
    if n_questions := load_questions(ctx, folder):  # before the plan: its rules may name answers
        report.added["questions"] = n_questions
    for what, n in load_plan(ctx, folder).items():  # the plan names agencies and categories loaded above
        report.added[what] = report.added.get(what, 0) + n
    if n_rules := load_policy(ctx, folder):
        report.added["nuisance_rules"] = n_rules
    if n_items := load_checklist(ctx, folder):
        report.added["qa_checklist"] = n_items
    if load_shipped_boundaries(ctx, folder / "boundaries.geojson"):  # after the regions: points move inside
        report.count("boundaries")
    if (folder / "roads_demo.json").exists() and load_demo_network(ctx, folder / "roads_demo.json"):
        report.count("road_network")  # only into a database with no road network
    if report.added:
        ctx.audit("reference.load", "reference", folder.name, report.added)
        ctx.emit(EventKind.REFERENCE_LOADED, "reference", None, {"folder": folder.name, "added": report.added})
    return report
