"""API shapes for units."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UnitStatus = Literal["available", "assigned", "en_route", "on_scene", "returning", "out_of_service"]
UnitType = Literal["pumper", "water_tanker", "rescue_truck", "ambulance", "rescue_boat", "patrol_car",
                   "patrol_motorcycle", "command_car", "tow_truck", "utility_truck"]


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    callsign: str
    agency_id: int
    type: str
    capabilities: list[str]
    station_id: int | None
    lat: float | None
    lon: float | None
    position_at: datetime | None
    status: str
    status_at: datetime
    active: bool
    version: int


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callsign: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    agency_id: int
    type: UnitType
    capabilities: list[str] = Field(default_factory=list, max_length=30)
    station_id: int | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class UnitStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: UnitStatus
    version: int = Field(description="The version you last saw; a newer one on the server gives 409")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
