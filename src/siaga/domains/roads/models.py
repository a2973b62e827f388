"""The road network in ordinary tables. One network is stored at a time: an import replaces it whole.

Edges are directed (a two-way street is two rows; a one-way street one). A ferry crossing is one edge
between its terminals, so its waiting time is counted once per crossing entered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, UTCDateTime

# Road classes as stored (OpenStreetMap highway=* values folded: *_link → its road, living_street →
# residential, road → unclassified), plus ferry (route=ferry) and water (boat lanes, demo network only).
ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
                "service", "track", "ferry", "water")


class RoadNetwork(Base):
    """What the stored network is: where it came from, when, and how big (one row)."""

    __tablename__ = "road_network"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # New at every import: routers cached by other processes see the change and rebuild.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    node_count: Mapped[int] = mapped_column(Integer)
    edge_count: Mapped[int] = mapped_column(Integer)
    min_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")


class RoadNode(Base):
    __tablename__ = "road_node"

    # Dense 0..n-1 in import order, so the router's arrays are indexed by id.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class RoadEdge(Base):
    __tablename__ = "road_edge"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # road_node ids. No foreign keys: only actions.replace_network writes these tables, from one node
    # list in one transaction; FK checks would double a large import, and replacing a network would
    # make PostgreSQL look up every deleted node among the (dead) edge rows.
    from_node: Mapped[int] = mapped_column(BigInteger)
    to_node: Mapped[int] = mapped_column(BigInteger)
    length_m: Mapped[float] = mapped_column(Float)
    road_class: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    osm_way_id: Mapped[int | None] = mapped_column(BigInteger)
    # Ferries: crossing speed and the average wait for a departure, added once per crossing entered.
    ferry: Mapped[bool] = mapped_column(Boolean, default=False)
    ferry_speed_kmh: Mapped[float | None] = mapped_column(Float)
    ferry_wait_min: Mapped[float | None] = mapped_column(Float)
