"""Search sectors' states and limits. The table (incidents.models.SearchSector: a polygon on the incident's
map, the team searching it, how far the search has got) is part of the incident, which shows it; this
domain's actions change it."""

from __future__ import annotations

SECTOR_STATUSES = ("open", "searching", "cleared")
# open → searching → cleared; a search can be stopped (searching → open) and a cleared sector opened again.
SECTOR_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"searching"}),
    "searching": frozenset({"cleared", "open"}),
    "cleared": frozenset({"open"}),
}
MAX_SECTORS_PER_INCIDENT = 50
