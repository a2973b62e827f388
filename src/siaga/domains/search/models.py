"""A search sector: a polygon on the incident's map, the team (an agency's assignment on the same
incident) searching it, and how far the search has got."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, Json, UTCDateTime

SECTOR_STATUSES = ("open", "searching", "cleared")
# open → searching → cleared; a search can be stopped (searching → open) and a cleared sector opened again.
SECTOR_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"searching"}),
    "searching": frozenset({"cleared", "open"}),
    "cleared": frozenset({"open"}),
}
MAX_SECTORS_PER_INCIDENT = 50


class SearchSector(Base):
    __tablename__ = "search_sector"
    __table_args__ = (UniqueConstraint("incident_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))  # indexed by the unique (incident_id, name)
    name: Mapped[str] = mapped_column(String(120))
    polygon: Mapped[list[list[float]]] = mapped_column(Json)  # [[lat, lon], ...], not closed (first != last)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
