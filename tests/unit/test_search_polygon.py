"""The search sector outline check, by property: on outlines drawn on a grid (so every coordinate and every
orientation test is exact) it accepts exactly the simple polygons GEOS (shapely) calls valid; it does not
care where the outline starts, which way round it goes, or about double clicks and a closing point; what it
accepts it returns unchanged; convex outlines of any size a search uses pass with the right area."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from shapely.geometry import Polygon

from siaga.domains.search.schemas import PolygonError, SectorCreate, area_m2, normalise_polygon

STEP = 1 / 1024  # ~108 m; dyadic, so 1 + k * STEP is exact and so is every orientation test below
grid_point = st.tuples(st.integers(0, 6), st.integers(0, 6)).map(lambda ij: [1 + ij[0] * STEP, 101 + ij[1] * STEP])
grid_ring = st.lists(grid_point, min_size=3, max_size=9)


def accepted(points: list[list[float]]) -> bool:
    try:
        normalise_polygon(points)
    except PolygonError:
        return False
    return True


def geos_says_simple(points: list[list[float]]) -> bool:
    ring: list[tuple[float, float]] = []
    for lat, lon in points:
        if not ring or ring[-1] != (lon, lat):
            ring.append((lon, lat))
    while len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        return False
    polygon = Polygon(ring)
    return polygon.is_valid and polygon.area > 0


@settings(max_examples=1500, deadline=None)
@given(grid_ring)
def test_accepts_exactly_the_simple_polygons(points):
    assert accepted(points) == geos_says_simple(points)


@settings(max_examples=500, deadline=None)
@given(grid_ring, st.integers(0, 8), st.booleans(), st.lists(st.integers(0, 8), max_size=3), st.booleans())
def test_start_direction_double_clicks_and_closing_point_change_nothing(points, shift, backwards, doubled, closed):
    shift %= len(points)
    variant = points[shift:] + points[:shift]
    if backwards:
        variant = variant[::-1]
    for i in sorted({d % len(variant) for d in doubled}, reverse=True):
        variant.insert(i, list(variant[i]))
    if closed:
        variant.append(list(variant[0]))
    assert accepted(variant) == accepted(points)
    if accepted(points):
        stored = normalise_polygon(variant)
        assert normalise_polygon(stored) == stored  # what is stored passes again, unchanged
        assert len(stored) == len(normalise_polygon(points))
        assert math.isclose(area_m2(stored), area_m2(normalise_polygon(points)), rel_tol=1e-9)


@settings(max_examples=300, deadline=None)
@given(lat=st.floats(0.8, 2.2), lon=st.floats(100.9, 102.6), radius_m=st.floats(20, 20_000),
       n=st.integers(3, 200), turn=st.floats(0, 2 * math.pi))
def test_convex_outlines_pass_unchanged_with_their_area(lat, lon, radius_m, n, turn):
    dlat = math.degrees(radius_m / 6_371_008.8)
    dlon = dlat / math.cos(math.radians(lat))
    points = [[lat + dlat * math.sin(turn + 2 * math.pi * k / n), lon + dlon * math.cos(turn + 2 * math.pi * k / n)]
              for k in range(n)]
    assert normalise_polygon(points) == points
    expected = n / 2 * radius_m ** 2 * math.sin(2 * math.pi / n)
    assert math.isclose(area_m2(points), expected, rel_tol=0.01)
    assert SectorCreate(name="Sektor A", polygon=points).polygon == [tuple(p) for p in points]


@settings(max_examples=200, deadline=None)
@given(grid_ring, st.integers(0, 8), st.sampled_from([90.5, -91.0, 1e9, math.inf, -math.inf, math.nan]),
       st.booleans())
def test_a_point_off_the_earth_is_refused(points, which, bad, on_lat):
    which %= len(points)
    points[which] = [bad, points[which][1]] if on_lat else [points[which][0], bad * 2]
    with pytest.raises(PolygonError) as caught:
        normalise_polygon(points)
    assert caught.value.code == "out_of_range"


@settings(max_examples=300, deadline=None)
@given(grid_ring)
def test_the_api_schema_reports_the_validators_own_code(points):
    try:
        normalise_polygon(points)
        code = None
    except PolygonError as exc:
        code = exc.code
    try:
        SectorCreate(name="Sektor A", polygon=points)
        got = None
    except ValidationError as exc:
        got = exc.errors()[0]["type"]
    assert got == code
