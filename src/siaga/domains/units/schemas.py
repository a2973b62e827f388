"""API shapes for units."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from siaga.core.ids import DbId, Version
from siaga.core.strict import StrictModel

UnitStatus = Literal["available", "assigned", "en_route", "on_scene", "returning", "out_of_service"]
UnitType = Literal["pumper", "water_tanker", "rescue_truck", "ambulance", "rescue_boat", "patrol_car",
                   "patrol_motorcycle", "command_car", "tow_truck", "utility_truck"]


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    callsign: str
    agency_id: DbId
    type: str
    capabilities: list[str]
    station_id: int | None
    lat: float | None
    lon: float | None
    position_at: datetime | None
    status: str
    status_at: datetime
    active: bool
    version: Version


class UnitCreate(StrictModel):
    callsign: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    agency_id: DbId
    type: UnitType
    capabilities: list[str] = Field(default_factory=list, max_length=30)
    station_id: DbId | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


# What a crew or agency reports; "assigned" happens only through an incident's assignment.
ReportedStatus = Literal["available", "en_route", "on_scene", "returning", "out_of_service"]


class UnitStatusIn(StrictModel):
    status: ReportedStatus
    version: Version
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
