"""Regions by kode wilayah (with their official boundary where one was imported) and landmarks (patokan)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, UTCDateTime

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
    # The official outline as GeoJSON geometry text (Polygon or MultiPolygon, [lon, lat], valid), written
    # only by actions.import_boundaries; lat/lon above is then the label point derived inside it. The bbox
    # columns let a reader narrow by coordinates without parsing the text (no PostGIS: SQLite too).
    boundary: Mapped[str | None] = mapped_column(Text)
    min_lat: Mapped[float | None] = mapped_column(Float)
    min_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    boundary_source: Mapped[str] = mapped_column(String(200), default="", server_default="")


class BoundaryImport(Base):
    """One row per boundary import. Its token is new at every import: each process's reverse geocoder
    (geocode.py) compares it with the one it was built from and rebuilds when they differ."""

    __tablename__ = "boundary_import"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    region_count: Mapped[int] = mapped_column(Integer)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")


class LandmarkImport(Base):
    """One row per import of patokan from OpenStreetMap (`siaga map import`). Its token is new at every
    import, so each process's reverse geocoder rebuilds even when the import only moved or renamed
    patokan (their count and largest id unchanged)."""

    __tablename__ = "landmark_import"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    removed_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")


class Landmark(Base):
    __tablename__ = "landmark"
    # A unique index (not a constraint): migration 0011 adds it to the existing table without copying it.
    __table_args__ = (Index("uq_landmark_osm_ref", "osm_ref", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(160), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    kode_wilayah: Mapped[str | None] = mapped_column(ForeignKey("region.kode"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    coord_approx: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # The OpenStreetMap object a patokan came from ("node/123", "way/45", "relation/6"), so that a new
    # import of the map updates it instead of adding it twice. NULL for patokan entered by hand.
    osm_ref: Mapped[str | None] = mapped_column(String(40))
