"""API shapes for search sectors, and the polygon check every sector's outline passes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from siaga.core.geo import area_m2  # noqa: F401  (sectors' areas; tests read it here)
from siaga.core.ids import DbId, Version
from siaga.core.strict import StrictModel, json_array
from siaga.domains.incidents.schemas import SectorOut  # noqa: F401  (the incident shows its sectors)

SectorStatus = Literal["open", "searching", "cleared"]

MIN_POINTS, MAX_POINTS = 3, 200
MAX_SPAN_DEG = 1.0  # ~110 km: a search sector is never wider; also keeps the flat-earth arithmetic honest
MIN_AREA_M2 = 1.0


class PolygonError(ValueError):
    """Why an outline cannot be a sector; `code` is what problem+json reports for the field."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _orient(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _within(a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]) -> bool:
    """p, collinear with segment ab, lies on it."""
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _segments_meet(p1: tuple[float, float], p2: tuple[float, float],
                   q1: tuple[float, float], q2: tuple[float, float]) -> bool:
    """The closed segments p1p2 and q1q2 have a point in common (crossing, touching or overlapping)."""
    if (max(p1[0], p2[0]) < min(q1[0], q2[0]) or max(q1[0], q2[0]) < min(p1[0], p2[0])
            or max(p1[1], p2[1]) < min(q1[1], q2[1]) or max(q1[1], q2[1]) < min(p1[1], p2[1])):
        return False
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return ((d1 == 0 and _within(q1, q2, p1)) or (d2 == 0 and _within(q1, q2, p2))
            or (d3 == 0 and _within(p1, p2, q1)) or (d4 == 0 and _within(p1, p2, q2)))


def normalise_polygon(points: Sequence[Sequence[float]]) -> list[list[float]]:
    """The outline as stored: [[lat, lon], ...] with repeated consecutive points (a double click) and a
    closing point equal to the first dropped. Refused (PolygonError) unless it is a simple polygon:
    3..200 distinct corners inside lat/lon ranges, at most a degree across, enclosing some area, no edge
    crossing or touching another."""
    ring: list[tuple[float, float]] = []
    for i, point in enumerate(points):
        if len(point) != 2:
            raise PolygonError("invalid", f"point {i}: [lat, lon]")
        lat, lon = float(point[0]), float(point[1])
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise PolygonError("out_of_range", f"point {i}: lat within -90..90 and lon within -180..180")
        if not ring or ring[-1] != (lat, lon):
            ring.append((lat, lon))
    while len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < MIN_POINTS:
        raise PolygonError("too_few_points", f"at least {MIN_POINTS} distinct points")
    if len(ring) > MAX_POINTS:
        raise PolygonError("too_many_points", f"at most {MAX_POINTS} points")
    if len(set(ring)) != len(ring):
        raise PolygonError("self_intersecting", "the outline passes through the same point twice")
    lats, lons = [p[0] for p in ring], [p[1] for p in ring]
    if max(lats) - min(lats) > MAX_SPAN_DEG or max(lons) - min(lons) > MAX_SPAN_DEG:
        raise PolygonError("too_large", f"a sector is at most {MAX_SPAN_DEG:g}° (about 110 km) across")
    if area_m2(ring) < MIN_AREA_M2:
        raise PolygonError("degenerate", "the sector encloses no area: its points lie on one line, or its "
                                          "outline crosses itself so that its halves cancel out")
    xy = [(lon, lat) for lat, lon in ring]  # topology in degrees: exact for the coordinates as sent
    n = len(xy)
    for i in range(n):
        a, b = xy[i], xy[(i + 1) % n]
        for j in range(i + 1, n):
            c, d = xy[j], xy[(j + 1) % n]
            if j == i + 1 or (i == 0 and j == n - 1):
                # Neighbouring edges share a corner; they meet elsewhere only when one folds back along the other.
                shared, p, q = (b, a, d) if j == i + 1 else (a, b, c)
                if (_orient(p, shared, q) == 0
                        and (p[0] - shared[0]) * (q[0] - shared[0]) + (p[1] - shared[1]) * (q[1] - shared[1]) > 0):
                    raise PolygonError("self_intersecting", f"edges {i} and {j} fold back on each other")
                continue
            if _segments_meet(a, b, c, d):
                raise PolygonError("self_intersecting", f"edges {i} and {j} cross")
    return [[lat, lon] for lat, lon in ring]


def _checked_polygon(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    try:
        return [(lat, lon) for lat, lon in normalise_polygon(points)]
    except PolygonError as exc:
        raise PydanticCustomError(exc.code, exc.message) from None


Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Point = Annotated[tuple[Lat, Lon], BeforeValidator(json_array)]
Polygon = Annotated[
    list[Point],
    Field(min_length=MIN_POINTS, max_length=MAX_POINTS + 1,
          description="Corners as [lat, lon], 3..200 distinct ones; a closing point equal to the first may be "
                      "sent or not. A simple polygon: no edge crosses or touches another, some area, at most "
                      "a degree across."),
    AfterValidator(_checked_polygon),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Note = Annotated[str, Field(max_length=2000)]


class SectorCreate(StrictModel):
    name: Name = Field(description="e.g. 'Sektor A — kebun sawit utara'; unique within the incident")
    polygon: Polygon
    assignment_id: DbId | None = Field(default=None, description="The team searching it: an agency's "
                                                                  "assignment on the same incident")
    note: Note = ""


class SectorUpdate(StrictModel):
    """Only the fields given change; `assignment_id: null` takes the team off. `version` is the one you
    last saw. Moves: open → searching → cleared (a note saying what was found is required), searching or
    cleared → open (reopening a cleared sector without a note drops its finding; the timeline keeps it)."""

    version: Version
    name: Name | None = None
    polygon: Polygon | None = None
    assignment_id: DbId | None = None
    status: SectorStatus | None = None
    note: Note | None = None
