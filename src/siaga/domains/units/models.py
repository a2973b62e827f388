"""Units and the fixed base states every agency's labels map onto."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, Json, UTCDateTime

# Which base state may follow which. Assignment-driven moves (available → assigned) happen through
# dispatch actions; the rest are reported by the crew or the agency operator.
UNIT_TRANSITIONS: dict[str, frozenset[str]] = {
    "available": frozenset({"assigned", "out_of_service"}),
    "assigned": frozenset({"en_route", "on_scene", "available", "out_of_service"}),
    "en_route": frozenset({"on_scene", "returning", "available", "out_of_service"}),
    "on_scene": frozenset({"returning", "available", "out_of_service"}),
    "returning": frozenset({"available", "assigned", "out_of_service"}),
    "out_of_service": frozenset({"available"}),
}

ASSIGNABLE_STATUSES = frozenset({"available", "returning"})

UNIT_TYPES = ("pumper", "water_tanker", "rescue_truck", "ambulance", "rescue_boat", "patrol_car",
              "patrol_motorcycle", "command_car", "tow_truck", "utility_truck")


class Unit(Base):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    callsign: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    capabilities: Mapped[list[str]] = mapped_column(Json, default=list)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="available", index=True)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    extra: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)

    __mapper_args__ = {"version_id_col": version}
