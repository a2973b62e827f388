"""API shapes for regions and landmarks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from siaga.core.strict import StrictModel


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kode: str
    parent_kode: str | None
    level: str
    name: str
    lat: float | None
    lon: float | None
    coord_approx: bool


class LandmarkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    kode_wilayah: str | None
    lat: float
    lon: float
    coord_approx: bool
    note: str


class LandmarkCreate(StrictModel):
    name: str = Field(min_length=2, max_length=160)
    kind: str = Field(default="other", min_length=1, max_length=30)
    kode_wilayah: str | None = Field(default=None, max_length=13)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    coord_approx: bool = False
    note: str = Field(default="", max_length=1000)


class BoundaryImportOut(BaseModel):
    """One boundary import: where from, how many regions got an outline (created: new region rows)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    imported_at: datetime
    region_count: int
    created_count: int
    note: str


@dataclass(frozen=True)
class PatokanIn:
    """A point of interest read from OpenStreetMap (domains/basemap/pois.py), to become a patokan.
    `osm_ref` names the OSM object: "node/123", "way/45" or "relation/6"."""

    osm_ref: str
    name: str
    kind: str
    lat: float
    lon: float


class LandmarkImportOut(BaseModel):
    """What an import of patokan did. Created, updated (moved, renamed or re-kinded), unchanged; linked:
    patokan entered by hand that the map names the same within LINK_RADIUS_M, now tied to their OSM object
    instead of added twice; removed: OSM patokan no longer in the extract; kept_in_use: those that
    incidents refer to, kept; outside: points of interest in no desa of the regency (skipped)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    imported_at: datetime
    created: int
    updated: int
    unchanged: int
    linked: int
    removed: int
    kept_in_use: int
    outside: int
    by_kind: dict[str, int] = Field(description="patokan from this import, by kind")


class RegionRef(BaseModel):
    kode: str
    name: str
    level: str


class NearestDesa(RegionRef):
    distance_m: float = Field(description="metres from the point to the desa's boundary")


class NearestLandmark(BaseModel):
    id: int
    name: str
    kind: str
    kode_wilayah: str | None
    distance_m: float


class PlaceOut(BaseModel):
    """Where a coordinate is. `status`: `desa` (inside a desa's polygon), `near` (in no desa, within 12
    nautical miles of one: the sea — a boat — or land of a neighbour whose outline is not loaded),
    `neighbour` (within 12 nautical miles, inside a neighbouring kabupaten/kota's outline: `kabupaten` names
    it), `outside` (farther; `kabupaten` names the neighbour when one holds the point), `no_boundaries` (no
    boundaries loaded: only the nearest patokan)."""

    lat: float
    lon: float
    status: Literal["desa", "near", "neighbour", "outside", "no_boundaries"]
    desa: RegionRef | None
    kecamatan: RegionRef | None
    kabupaten: RegionRef | None
    nearest_desa: NearestDesa | None = Field(description="when the point is in no desa: the closest one")
    nearest_landmark: NearestLandmark | None
    label: str = Field(description="one line for a person, in the caller's language")
