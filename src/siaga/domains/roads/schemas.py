"""API shapes for the road network and recommendations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class NetworkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    imported_at: datetime
    node_count: int
    edge_count: int
    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float
    is_demo: bool
    note: str


class RecommendationOut(BaseModel):
    """One candidate unit, ranked or not offered with the reason (router.Recommendation)."""

    model_config = ConfigDict(from_attributes=True)

    unit_id: int
    callsign: str
    vehicle_type: str
    offered: bool
    reachable: bool
    rank: int | None
    eta_s: float | None
    drive_s: float | None
    distance_m: float | None
    snap_m: float | None
    incident_snap_m: float | None
    straight_m: float | None
    ferries: list[str]
    reason: str | None
    explanation: str
