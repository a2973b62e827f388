"""Reverse geocoding in memory: a coordinate → the desa whose polygon holds it (then its kecamatan and
kabupaten by kode), or the nearest desa with the distance when none does (a boat offshore) and the
neighbouring kabupaten/kota whose outline holds it when one is loaded (Kota Dumai, not "near Bengkalis"),
and the nearest patokan. Built once per process from the stored boundaries (service.get_geocoder rebuilds it
when an import or a new patokan changes what it was built from); a lookup takes well under a millisecond
(benchmarks/reverse_geocode.py)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from siaga.domains.regions.geometry import EARTH_RADIUS_M, distance_to_m, parent_of

# Beyond any desa but within 12 nautical miles of one: the sea off the coast (or a neighbour's land,
# whose desa are not loaded); farther is plainly outside the area served.
NEAR_LIMIT_M = 22_224.0


@dataclass(frozen=True)
class RegionName:
    kode: str
    name: str
    level: str


@dataclass(frozen=True)
class LandmarkPoint:
    id: int
    name: str
    kind: str
    kode_wilayah: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class Place:
    status: str  # desa | near | neighbour | outside | no_boundaries
    desa: RegionName | None
    kecamatan: RegionName | None
    kabupaten: RegionName | None
    nearest_desa: RegionName | None
    nearest_desa_m: float | None
    landmark: LandmarkPoint | None
    landmark_m: float | None


class Geocoder:
    def __init__(self, desa: Sequence[tuple[str, str]], regions: dict[str, RegionName],
                 landmarks: Sequence[LandmarkPoint], key: Hashable = None,
                 neighbours: Sequence[tuple[str, str]] = ()) -> None:
        """`desa`: (kode, GeoJSON geometry text) of every desa/kelurahan with a boundary; `regions`: every
        region's name by kode (for the kecamatan and kabupaten above a desa); `neighbours`: (kode, geometry)
        of the kabupaten/kota around the ones served (no desa of theirs loaded)."""
        self.key = key
        self.kodes = [k for k, _ in desa]
        self.geoms = shapely.from_geojson([text for _, text in desa]) if desa else np.array([])
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)
        self.regions = regions
        self.neighbour_kodes = [k for k, _ in neighbours]
        self.neighbours = shapely.from_geojson([text for _, text in neighbours]) if neighbours else np.array([])
        shapely.prepare(self.neighbours)
        self.neighbour_tree = shapely.STRtree(self.neighbours)
        self.landmarks = list(landmarks)
        self._lm_lat = np.radians([lm.lat for lm in self.landmarks])
        self._lm_lon = np.radians([lm.lon for lm in self.landmarks])
        self._lm_cos = np.cos(self._lm_lat)

    def __len__(self) -> int:
        return len(self.kodes)

    def desa_at(self, lat: float, lon: float) -> str | None:
        """The kode of the desa whose polygon holds the point (on an edge counts). Where neighbours' polygons
        overlap (slivers upstream left, < 0.07 km² each in Bengkalis), the one the point is deepest inside."""
        point = shapely.Point(lon, lat)
        hits = self.tree.query(point, predicate="intersects")
        if len(hits) == 0:
            return None
        if len(hits) == 1:
            return self.kodes[int(hits[0])]
        depth = shapely.distance(shapely.boundary(self.geoms[hits]), point)
        return self.kodes[int(hits[int(np.argmax(depth))])]

    def nearest_landmark(self, lat: float, lon: float) -> tuple[LandmarkPoint | None, float | None]:
        if not self.landmarks:
            return None, None
        p, lam = math.radians(lat), math.radians(lon)
        a = (np.sin((self._lm_lat - p) / 2) ** 2
             + math.cos(p) * self._lm_cos * np.sin((self._lm_lon - lam) / 2) ** 2)
        i = int(np.argmin(a))
        return self.landmarks[i], float(2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(float(a[i])))))

    def locate(self, lat: float, lon: float) -> Place:
        landmark, landmark_m = self.nearest_landmark(lat, lon)
        if not self.kodes:
            return Place("no_boundaries", None, None, None, None, None, landmark, landmark_m)
        kode = self.desa_at(lat, lon)
        if kode is not None:
            kec = parent_of(kode)
            kab = parent_of(kec) if kec else None
            return Place("desa", self.regions.get(kode), self.regions.get(kec or ""), self.regions.get(kab or ""),
                         None, None, landmark, landmark_m)
        # Nearest in degrees (the tree's metric) is the nearest in metres near the equator to within 1 %;
        # the distance reported is measured on the sphere.
        point = shapely.Point(lon, lat)
        i = int(self.tree.query_nearest(point)[0])
        metres = distance_to_m(self.geoms[i], lat, lon)
        neighbour = self.neighbour_at(point)
        status = "outside" if metres > NEAR_LIMIT_M else "neighbour" if neighbour else "near"
        return Place(status, None, None, neighbour, self.regions.get(self.kodes[i]), metres, landmark, landmark_m)

    def neighbour_at(self, point: shapely.Point) -> RegionName | None:
        """The neighbouring kabupaten/kota whose outline holds the point (the first, where generalised
        outlines overlap), or None: the sea, or no neighbour loaded there."""
        hits = self.neighbour_tree.query(point, predicate="intersects")
        if len(hits) == 0:
            return None
        kode = self.neighbour_kodes[int(min(hits))]
        return self.regions.get(kode)
