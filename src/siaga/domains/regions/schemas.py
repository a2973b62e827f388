"""API shapes for regions and landmarks."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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


class LandmarkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=160)
    kind: str = Field(default="other", min_length=1, max_length=30)
    kode_wilayah: str | None = Field(default=None, max_length=13)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    coord_approx: bool = False
    note: str = Field(default="", max_length=1000)
