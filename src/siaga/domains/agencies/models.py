"""Agencies (OPD) and stations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, Json

# The statuses every unit goes through (units.models builds its transitions on them). Kept here, under
# the agencies, because an agency names them in its own words (Agency.status_labels).
UNIT_STATUSES = ("available", "assigned", "en_route", "on_scene", "returning", "out_of_service")


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    short_name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(30))
    phone: Mapped[str] = mapped_column(String(40), default="")
    # Per-agency words for the fixed unit states, e.g. {"available": "Siaga"}.
    status_labels: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # Notified when this agency misses a deadline twice (e.g. SAR for BPBD on water).
    backup_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Station(Base):
    __tablename__ = "station"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    kode_wilayah: Mapped[str | None] = mapped_column(ForeignKey("region.kode"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    coord_approx: Mapped[bool] = mapped_column(Boolean, default=True)
