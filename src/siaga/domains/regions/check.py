"""What is wrong in the loaded gazetteer of the served regency (`siaga regions check`): points outside
their own polygon, desa without a polygon, desa polygons overlapping more than a sliver, and stations and
patokan off land (in no desa of the regency) or outside the region they name. Reads only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.ops import unary_union
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siaga.core.i18n import ref, t
from siaga.domains.regions.geometry import area_km2, distance_to_m, load_geometry
from siaga.domains.regions.models import Landmark, Region

DESA_LEVELS = ("desa", "kelurahan")
# Neighbouring desa outlines, simplified each on its own upstream, overlap in thin slivers (Bengkalis: 169
# pairs, 0.54 km² in all, the largest 0.068 km²). More than this is two desa claiming the same ground.
SLIVER_KM2 = 0.1


@dataclass
class Finding:
    kind: str
    subject: str
    message: str  # its words: the catalogue's `region_check.<message>`, filled with `params`
    params: dict[str, Any] = field(default_factory=dict)
    problem: bool = True  # False: a note that does not fail the check

    def text(self, lang: str) -> str:
        return t(f"region_check.{self.message}", lang, **self.params)


@dataclass
class CheckReport:
    region_code: str
    desa: int = 0
    desa_with_polygon: int = 0
    landmarks: int = 0
    stations: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def _m(metres: float) -> str:
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"


@dataclass(frozen=True)
class StationPoint:
    """A station as the check needs it (the caller reads stations: regions does not import agencies)."""

    code: str
    name: str
    kode_wilayah: str | None
    lat: float
    lon: float


def check_gazetteer(db: Session, region_code: str, stations: Iterable[StationPoint] = ()) -> CheckReport:
    report = CheckReport(region_code=region_code)
    regions = {r.kode: r for r in db.scalars(
        select(Region).where(or_(Region.kode == region_code, Region.kode.startswith(region_code + ".")))
        .order_by(Region.kode))}
    geoms = {k: load_geometry(r.boundary) for k, r in regions.items() if r.boundary}
    desa = {k: g for k, g in geoms.items() if regions[k].level in DESA_LEVELS}
    report.desa = sum(r.level in DESA_LEVELS for r in regions.values())
    report.desa_with_polygon = len(desa)
    add = report.findings.append

    if not regions:
        add(Finding("no_regions", region_code, "no_regions", {"code": region_code}))
        return report
    for kode, r in regions.items():
        if r.level in DESA_LEVELS and kode not in desa:
            add(Finding("no_polygon", kode, "no_polygon", {"kode": kode, "name": r.name}))
        elif r.level not in DESA_LEVELS and kode not in geoms and not any(k.startswith(kode + ".") for k in desa):
            add(Finding("no_polygon", kode, "no_polygon_nor_desa", {"kode": kode, "name": r.name}))

    kodes = list(desa)
    tree = shapely.STRtree([desa[k] for k in kodes]) if desa else None

    def desa_holding(lat: float, lon: float) -> list[str]:
        if tree is None:
            return []
        return [kodes[i] for i in tree.query(shapely.Point(lon, lat), predicate="intersects")]

    # Points: a desa's inside its polygon; a kecamatan's or kabupaten's inside its own outline (if any)
    # AND inside one of its desa.
    for kode, r in regions.items():
        if r.lat is None or r.lon is None or r.level == "provinsi":
            continue
        own = geoms.get(kode)
        if own is not None and not own.covers(shapely.Point(r.lon, r.lat)):
            off = distance_to_m(own, r.lat, r.lon)
            add(Finding("point_outside", kode, "point_outside", {"kode": kode, "name": r.name, "lat": f"{r.lat:.5f}",
                                                                 "lon": f"{r.lon:.5f}", "off": _m(off)}))
        elif r.level not in DESA_LEVELS and any(k.startswith(kode + ".") for k in desa):
            if not any(k.startswith(kode + ".") for k in desa_holding(r.lat, r.lon)):
                add(Finding("point_outside", kode, "point_in_no_own_desa", {"kode": kode, "name": r.name}))

    if tree is not None:
        left, right = tree.query([desa[k] for k in kodes], predicate="intersects")
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            if i >= j:
                continue
            overlap = area_km2(desa[kodes[i]].intersection(desa[kodes[j]]))
            if overlap > SLIVER_KM2:
                a, b = regions[kodes[i]], regions[kodes[j]]
                add(Finding("overlap", f"{a.kode}/{b.kode}", "overlap", {
                    "a": a.name, "b": b.name, "km2": f"{overlap:.2f}", "sliver": SLIVER_KM2}))

    named_area: dict[str, object] = {}

    def area_of(kode: str) -> object | None:
        if kode not in named_area:
            own = desa.get(kode)
            parts = [g for k, g in desa.items() if k.startswith(kode + ".")]
            named_area[kode] = own if own is not None else (unary_union(parts) if parts else None)
        return named_area[kode]

    places: list[tuple[str, str, str | None, float, float, bool]] = []
    for lm in db.scalars(select(Landmark).order_by(Landmark.name)):
        places.append(("patokan", lm.name, lm.kode_wilayah, lm.lat, lm.lon, lm.kind == "island"))
        report.landmarks += 1
    for st in stations:
        places.append(("station", f"{st.code} {st.name}", st.kode_wilayah, st.lat, st.lon, False))
        report.stations += 1
    for what, name, named, lat, lon, island in places:
        if tree is None:
            break
        inside = desa_holding(lat, lon)
        if not inside:
            nearest = kodes[int(tree.query_nearest(shapely.Point(lon, lat))[0])]
            off = distance_to_m(desa[nearest], lat, lon)
            if island:  # published coordinates of an islet the simplified desa outlines leave out: a note
                add(Finding("island_off_polygons", name, "island_off_polygons", {"name": name, "off": _m(off)},
                            problem=False))
                continue
            add(Finding(f"{what}_off_land", name, "off_land", {
                "what": ref(f"region_check.{what}"), "name": name, "lat": f"{lat:.5f}", "lon": f"{lon:.5f}",
                "off": _m(off), "nearest": regions[nearest].name}))
            continue
        if not named or named == region_code or named not in regions:
            continue
        area = area_of(named)
        if area is None:
            continue
        ok = (named in inside) if named in desa else any(k.startswith(named + ".") for k in inside)
        if not ok:
            off = distance_to_m(area, lat, lon)
            here = regions[inside[0]].name
            add(Finding(f"{what}_outside_named", name, "outside_named", {
                "what": ref(f"region_check.{what}"), "name": name, "named": named,
                "named_name": regions[named].name, "here": here, "off": _m(off)}))
    return report
