"""Small spherical geometry for turning a shape into one point and a radius: great-circle distance, the point
at a distance and bearing, a polygon's centroid. A sphere of radius 6,371,008.8 m (the mean Earth radius) is
accurate to ~0.5 % — far inside any location's own uncertainty."""

from __future__ import annotations

import math
from collections.abc import Sequence

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def destination(lat: float, lon: float, bearing_deg: float, dist_m: float) -> tuple[float, float]:
    """The point `dist_m` from (lat, lon) along the initial bearing (degrees clockwise from north)."""
    p1, l1 = math.radians(lat), math.radians(lon)
    b, d = math.radians(bearing_deg), dist_m / EARTH_RADIUS_M
    p2 = math.asin(max(-1.0, min(1.0, math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    lon2 = (math.degrees(l2) + 540.0) % 360.0 - 180.0
    return math.degrees(p2), lon2


def _wrap(dlon: float) -> float:
    return (dlon + 540.0) % 360.0 - 180.0


def polygon_centroid(vertices: list[tuple[float, float]]) -> tuple[float, float]:
    """Area centroid of a simple polygon of (lat, lon) corners (open or closed ring), computed on a local
    plane around the first corner (polygons here are a few km across); the mean of the corners when the
    outline has no area."""
    pts = list(vertices)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    lat0, lon0 = pts[0]
    k = math.cos(math.radians(lat0))
    xy = [(_wrap(lon - lon0) * k, lat - lat0) for lat, lon in pts]
    area2 = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(xy, xy[1:] + xy[:1], strict=True):
        cross = x1 * y2 - x2 * y1
        area2 += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    xs, ys = [x for x, _ in xy], [y for _, y in xy]
    box = (max(xs) - min(xs)) * (max(ys) - min(ys))
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    # A self-intersecting outline (a bow tie) can have almost no signed area, which throws the area
    # centroid far away: then, or when it lands outside the corners' box, the mean of the corners is used.
    if abs(area2) > 1e-14 and k >= 1e-9 and abs(area2) / 2 >= 1e-3 * box:
        ax, ay = cx / (3 * area2), cy / (3 * area2)
        if min(xs) <= ax <= max(xs) and min(ys) <= ay <= max(ys):
            mx, my = ax, ay
    lat = max(-90.0, min(90.0, lat0 + my))
    lon = _wrap(lon0 + (mx / k if k >= 1e-9 else 0.0))
    return lat, lon


def area_m2(points: Sequence[Sequence[float]]) -> float:
    """The area enclosed by [lat, lon] points, in square metres (equirectangular about the mean
    latitude: within a fraction of a percent for outlines a degree across or less)."""
    n = len(points)
    if n < 3:
        return 0.0
    lat0 = math.radians(sum(p[0] for p in points) / n)
    lon0 = points[0][1]
    k = math.radians(1) * EARTH_RADIUS_M
    xy = [((p[1] - lon0) * math.cos(lat0) * k, (p[0] - points[0][0]) * k) for p in points]
    twice = sum(xy[i][0] * xy[(i + 1) % n][1] - xy[(i + 1) % n][0] * xy[i][1] for i in range(n))
    return abs(twice) / 2
