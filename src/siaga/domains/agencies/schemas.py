"""API shapes for agencies and stations."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from siaga.core.ids import DbId, Version
from siaga.core.strict import StrictModel
from siaga.domains.agencies.models import UNIT_STATUSES


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    short_name: str
    kind: str
    phone: str
    status_labels: dict[str, str]
    active: bool
    version: Version


class AgencyCreate(StrictModel):
    code: str = Field(min_length=2, max_length=30, pattern=r"^[A-Z0-9_]+$")
    name: str = Field(min_length=2, max_length=160)
    short_name: str = Field(min_length=1, max_length=40)
    kind: str = Field(min_length=1, max_length=30)
    phone: str = Field(default="", max_length=40)
    status_labels: dict[str, str] = Field(default_factory=dict,
                                          description=f"labels for {', '.join(UNIT_STATUSES)}")


class AgencyUpdate(StrictModel):
    """What an administrator changes on an agency: its names and the number a call-taker dials to bring it onto
    a caller's line (empty: none). Fields left out stay as they are."""

    version: Version
    name: str | None = Field(default=None, min_length=2, max_length=160)
    short_name: str | None = Field(default=None, min_length=1, max_length=40)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[0-9+()\- .]*$",
                              description="as written, e.g. (0766) 21-113; only digits are dialled")


class StationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    agency_id: DbId
    name: str
    kode_wilayah: str | None
    lat: float | None
    lon: float | None
    coord_approx: bool


class StationCreate(StrictModel):
    code: str = Field(min_length=2, max_length=40)
    agency_id: DbId
    name: str = Field(min_length=2, max_length=160)
    kode_wilayah: str | None = Field(default=None, max_length=13)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    coord_approx: bool = False
