"""Regions by kode wilayah and landmarks (patokan) with coordinates."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId

REGION_LEVELS = ("provinsi", "kabupaten", "kota", "kecamatan", "desa", "kelurahan")


class Region(Base):
    __tablename__ = "region"

    kode: Mapped[str] = mapped_column(String(13), primary_key=True)
    parent_kode: Mapped[str | None] = mapped_column(ForeignKey("region.kode"), index=True)
    level: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(120), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    coord_approx: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(80), default="")


class Landmark(Base):
    __tablename__ = "landmark"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(160), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    kode_wilayah: Mapped[str | None] = mapped_column(ForeignKey("region.kode"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    coord_approx: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")
