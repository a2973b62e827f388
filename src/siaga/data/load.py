"""Loads the reference set from data/<region>/*.csv, idempotently: rows are matched by their natural key
(kode, code, callsign, name), so loading twice changes nothing and a new file version adds what's new."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.domains.agencies.models import UNIT_STATUSES, Agency, Station
from siaga.domains.incidents.models import Category
from siaga.domains.incidents.questions import load_questions
from siaga.domains.regions.models import Landmark, Region
from siaga.domains.units.models import Unit

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


def load_reference(ctx: Ctx, folder: Path = BENGKALIS) -> LoadReport:
    db, report = ctx.db, LoadReport()
    regions = {r.kode for r in db.scalars(select(Region))}
    for row in rows(folder / "regions.csv"):
        if row["kode"] in regions:
            continue
        db.add(Region(kode=row["kode"], parent_kode=row["parent_kode"] or None, level=row["level"],
                      name=row["name"], lat=_float(row["lat"]), lon=_float(row["lon"]),
                      coord_approx=_bool(row["coord_approx"]), source=row["source"]))
        db.flush()
        report.count("regions")
    categories = {c.code for c in db.scalars(select(Category))}
    for row in sorted(rows(folder / "categories.csv"), key=lambda r: r["parent_code"] != ""):
        if row["code"] in categories:
            continue
        db.add(Category(code=row["code"], parent_code=row["parent_code"] or None, name_id=row["name_id"],
                        name_en=row["name_en"], default_priority=int(row["default_priority"] or 3), active=True))
        db.flush()
        report.count("categories")
    agencies = {a.code: a for a in db.scalars(select(Agency))}
    for row in rows(folder / "agencies.csv"):
        if row["code"] in agencies:
            continue
        labels = {s: row[f"status_label_{s}"] for s in UNIT_STATUSES if row.get(f"status_label_{s}")}
        agency = Agency(code=row["code"], name=row["name"], short_name=row["short_name"], kind=row["kind"],
                        phone=row.get("phone", ""), status_labels=labels, active=True)
        db.add(agency)
        db.flush()
        agencies[agency.code] = agency
        report.count("agencies")
    stations = {s.code: s for s in db.scalars(select(Station))}
    for row in rows(folder / "stations.csv"):
        if row["code"] in stations:
            continue
        station = Station(code=row["code"], agency_id=agencies[row["agency_code"]].id, name=row["name"],
                          kode_wilayah=row["kode_wilayah"] or None, lat=_float(row["lat"]),
                          lon=_float(row["lon"]), coord_approx=_bool(row["coord_approx"]))
        db.add(station)
        db.flush()
        stations[station.code] = station
        report.count("stations")
    units = {u.callsign for u in db.scalars(select(Unit))}
    now = ctx.now()
    for row in rows(folder / "units.csv"):
        if row["callsign"] in units:
            continue
        station = stations.get(row["station_code"])
        db.add(Unit(callsign=row["callsign"], agency_id=agencies[row["agency_code"]].id, type=row["type"],
                    capabilities=[c for c in row["capabilities"].split(";") if c],
                    station_id=station.id if station else None,
                    lat=station.lat if station else None, lon=station.lon if station else None,
                    position_at=now if station else None, status="available", status_at=now, active=True,
                    extra={}))
        report.count("units")
    landmarks = {lm.name for lm in db.scalars(select(Landmark))}
    for row in rows(folder / "landmarks.csv"):
        if row["name"] in landmarks:
            continue
        db.add(Landmark(name=row["name"], kind=row["kind"], kode_wilayah=row["kode_wilayah"] or None,
                        lat=float(row["lat"]), lon=float(row["lon"]), coord_approx=_bool(row["coord_approx"]),
                        note=row.get("note", "")))
        landmarks.add(row["name"])
        report.count("landmarks")
    islands = list(rows(folder / "islands.csv"))
    name_counts = {n: sum(1 for r in islands if r["name"] == n) for n in {r["name"] for r in islands}}
    for row in islands:
        # Three islands share the name Pulau Rupat: the code tells them apart.
        name = row["name"] if name_counts[row["name"]] == 1 else f"{row['name']} ({row['kode']})"
        if name in landmarks:
            continue
        db.add(Landmark(name=name, kind="island", kode_wilayah=None, lat=float(row["lat"]),
                        lon=float(row["lon"]), coord_approx=False, note=row["source"]))
        landmarks.add(name)
        report.count("islands")
    db.flush()
    if n_questions := load_questions(ctx, folder):  # before the plan: its rules may name answers
        report.added["questions"] = n_questions
    from siaga.domains.response.seed import load_plan  # the plan names agencies and categories loaded above

    for what, n in load_plan(ctx, folder).items():
        report.added[what] = report.added.get(what, 0) + n
    from siaga.domains.callers.actions import load_policy

    if n_rules := load_policy(ctx, folder):
        report.added["nuisance_rules"] = n_rules
    from siaga.domains.regions.actions import load_shipped_boundaries  # after the regions: points move inside

    if load_shipped_boundaries(ctx, folder / "boundaries.geojson"):
        report.count("boundaries")
    from siaga.domains.roads.actions import load_demo_network  # only into a database with no road network

    if (folder / "roads_demo.json").exists() and load_demo_network(ctx, folder / "roads_demo.json"):
        report.count("road_network")
    if report.added:
        ctx.audit("reference.load", "reference", folder.name, report.added)
        ctx.emit("reference.loaded", "reference", None, {"folder": folder.name, "added": report.added})
    return report
