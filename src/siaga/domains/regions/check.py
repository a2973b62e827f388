"""What is wrong in the loaded gazetteer of the served regency (`siaga regions check`): points outside
their own polygon, desa without a polygon, desa polygons overlapping more than a sliver, and stations and
patokan off land (in no desa of the regency) or outside the region they name. Reads only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import shapely
from shapely.ops import unary_union
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

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
    text_id: str
    text_en: str
    problem: bool = True  # False: a note that does not fail the check

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" else self.text_id


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
        add(Finding("no_regions", region_code, f"Tidak ada wilayah {region_code} di gazetir",
                    f"No regions of {region_code} in the gazetteer"))
        return report
    for kode, r in regions.items():
        if r.level in DESA_LEVELS and kode not in desa:
            add(Finding("no_polygon", kode, f"{kode} {r.name}: tanpa poligon batas",
                        f"{kode} {r.name}: has no boundary polygon"))
        elif r.level not in DESA_LEVELS and kode not in geoms and not any(k.startswith(kode + ".") for k in desa):
            add(Finding("no_polygon", kode, f"{kode} {r.name}: tanpa poligon batas (dan desanya juga tidak)",
                        f"{kode} {r.name}: has no boundary polygon (nor have its desa)"))

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
            add(Finding("point_outside", kode, f"{kode} {r.name}: titik ({r.lat:.5f}, {r.lon:.5f}) di luar "
                        f"poligonnya sendiri ({_m(off)})", f"{kode} {r.name}: point ({r.lat:.5f}, {r.lon:.5f}) is "
                        f"outside its own polygon ({_m(off)} away)"))
        elif r.level not in DESA_LEVELS and any(k.startswith(kode + ".") for k in desa):
            if not any(k.startswith(kode + ".") for k in desa_holding(r.lat, r.lon)):
                add(Finding("point_outside", kode, f"{kode} {r.name}: titik tidak di dalam desa mana pun "
                            "miliknya", f"{kode} {r.name}: point is in none of its own desa"))

    if tree is not None:
        left, right = tree.query([desa[k] for k in kodes], predicate="intersects")
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            if i >= j:
                continue
            overlap = area_km2(desa[kodes[i]].intersection(desa[kodes[j]]))
            if overlap > SLIVER_KM2:
                a, b = regions[kodes[i]], regions[kodes[j]]
                add(Finding("overlap", f"{a.kode}/{b.kode}", f"{a.name} dan {b.name} bertumpang tindih "
                            f"{overlap:.2f} km²", f"{a.name} and {b.name} overlap by {overlap:.2f} km² "
                            f"(slivers up to {SLIVER_KM2} km² are tolerated)"))

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
    word = {"patokan": ("Patokan", "Patokan"), "station": ("Pos", "Station")}
    for what, name, named, lat, lon, island in places:
        if tree is None:
            break
        w_id, w_en = word[what]
        inside = desa_holding(lat, lon)
        if not inside:
            nearest = kodes[int(tree.query_nearest(shapely.Point(lon, lat))[0])]
            off = distance_to_m(desa[nearest], lat, lon)
            if island:  # published coordinates of an islet the simplified desa outlines leave out: a note
                add(Finding("island_off_polygons", name, f"Pulau {name}: koordinat terbitan di luar poligon desa "
                            f"({_m(off)})", f"Island {name}: published coordinates outside the desa polygons "
                            f"({_m(off)})", problem=False))
                continue
            add(Finding(f"{what}_off_land", name, f"{w_id} {name} ({lat:.5f}, {lon:.5f}): tidak di darat — di "
                        f"luar semua desa, {_m(off)} dari {regions[nearest].name}", f"{w_en} {name} ({lat:.5f}, "
                        f"{lon:.5f}): off land — in no desa, {_m(off)} from {regions[nearest].name}"))
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
            add(Finding(f"{what}_outside_named", name, f"{w_id} {name}: menyebut {named} {regions[named].name}, "
                        f"tetapi terletak di {here} ({_m(off)} dari {regions[named].name})", f"{w_en} {name}: names "
                        f"{named} {regions[named].name} but lies in {here} ({_m(off)} from it)"))
    return report
