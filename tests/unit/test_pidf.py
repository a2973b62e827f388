"""PIDF-LO by value: every RFC 5491 shape to one point and a radius, civic addresses to readable text, bad
parts marked invalid beside the good ones, hostile XML refused quickly — never an unexpected exception."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siaga.core import geo
from siaga.domains.location.errors import LocationError
from siaga.domains.location.pidf import MAX_LOCATIONS, MAX_PIDF_BYTES, parse_pidf_lo, parse_timestamp

HEAD = ('<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
        'xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:gml="http://www.opengis.net/gml" '
        'xmlns:gs="http://www.opengis.net/pidflo/1.0" xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" '
        'xmlns:con="urn:ietf:params:xml:ns:geopriv:conf" entity="pres:caller@telkomsel.example">')
SRS = 'srsName="urn:ogc:def:crs:EPSG::4326"'
M = 'uom="urn:ogc:def:uom:EPSG::9001"'
DEG = 'uom="urn:ogc:def:uom:EPSG::9102"'

# No stopwatch in these tests (a busy machine is not a bug): a parser that backtracks or expands without
# bound on these inputs would not finish at all, and this per-test limit catches it.
pytestmark = pytest.mark.timeout(120)


def doc(*shapes: str, method: str = "GPS", timestamp: str = "2026-11-27T01:00:05Z", owner: str = "tuple") -> str:
    infos = "".join(f"<gp:location-info>{s}</gp:location-info>" for s in shapes)
    ts = f"<timestamp>{timestamp}</timestamp>" if timestamp else ""
    return (f'{HEAD}<{owner} id="t1"><status><gp:geopriv>{infos}<gp:usage-rules/><gp:method>{method}</gp:method>'
            f"</gp:geopriv></status>{ts}</{owner}></presence>")


def point(lat: float | str, lon: float | str) -> str:
    return f"<gml:Point {SRS}><gml:pos>{lat} {lon}</gml:pos></gml:Point>"


def circle(lat: float, lon: float, radius: float | str) -> str:
    return f'<gs:Circle {SRS}><gml:pos>{lat} {lon}</gml:pos><gs:radius {M}>{radius}</gs:radius></gs:Circle>'


def test_point_with_time_and_method():
    [loc] = parse_pidf_lo(doc(point(1.4660, 102.1040)))
    assert (loc.source, loc.shape, loc.valid) == ("pidf_lo", "point", True)
    assert (loc.lat, loc.lon, loc.accuracy_m) == (1.466, 102.104, None)
    assert loc.located_at == datetime(2026, 11, 27, 1, 0, 5, tzinfo=UTC)
    assert loc.detail["method"] == "GPS" and loc.detail["entity"] == "pres:caller@telkomsel.example"


def test_circle_radius_is_the_accuracy_and_confidence_is_kept():
    [loc] = parse_pidf_lo(doc(circle(1.47, 102.11, "35.5") + '<con:confidence pdf="normal">95</con:confidence>'))
    assert (loc.shape, loc.lat, loc.lon, loc.accuracy_m) == ("circle", 1.47, 102.11, 35.5)
    assert loc.detail["radius_m"] == 35.5 and loc.detail["confidence"] == 95


def test_gml_pos_is_latitude_then_longitude():
    [loc] = parse_pidf_lo(doc(point(-34.407, 150.883)))
    assert (loc.lat, loc.lon) == (-34.407, 150.883)
    [swapped] = parse_pidf_lo(doc(point(150.883, -34.407)))  # longitude first: latitude 150 is impossible
    assert not swapped.valid and "out of range" in swapped.invalid_reason and swapped.lat is None


def test_ellipse_accuracy_is_the_semi_major_axis():
    ellipse = (f'<gs:Ellipse {SRS}><gml:pos>1.4 102.1</gml:pos><gs:semiMajorAxis {M}>1275</gs:semiMajorAxis>'
               f'<gs:semiMinorAxis {M}>670</gs:semiMinorAxis><gs:orientation {DEG}>43.2</gs:orientation></gs:Ellipse>')
    [loc] = parse_pidf_lo(doc(ellipse))
    assert (loc.shape, loc.accuracy_m) == ("ellipse", 1275)
    assert loc.detail.items() >= {"semi_major_m": 1275, "semi_minor_m": 670, "orientation_deg": 43.2}.items()


def test_arc_band_point_is_in_the_band_and_the_radius_covers_it():
    band = (f'<gs:ArcBand {SRS}><gml:pos>1.0 102.0</gml:pos><gs:innerRadius {M}>3000</gs:innerRadius>'
            f'<gs:outerRadius {M}>4000</gs:outerRadius><gs:startAngle {DEG}>80</gs:startAngle>'
            f'<gs:openingAngle {DEG}>20</gs:openingAngle></gs:ArcBand>')
    [loc] = parse_pidf_lo(doc(band))
    assert loc.shape == "arc_band" and loc.valid
    assert loc.lat is not None and loc.lon is not None and loc.accuracy_m is not None
    assert 3000 <= geo.distance_m(1.0, 102.0, loc.lat, loc.lon) <= 4000  # not the antenna
    assert loc.lon > 102.0  # bearing 90° is east
    for bearing in (80, 90, 100):
        for r in (3000, 4000):
            corner = geo.destination(1.0, 102.0, bearing, r)
            assert geo.distance_m(loc.lat, loc.lon, *corner) <= loc.accuracy_m + 1
    assert loc.detail["centre_lat"] == 1.0 and loc.detail["opening_angle_deg"] == 20


def test_polygon_centroid_and_greatest_distance_to_a_corner():
    corners = [(1.0, 102.0), (1.0, 102.02), (1.02, 102.02), (1.02, 102.0)]
    ring = "".join(f"<gml:pos>{a} {b}</gml:pos>" for a, b in corners + corners[:1])
    [loc] = parse_pidf_lo(doc(f"<gml:Polygon {SRS}><gml:exterior><gml:LinearRing>{ring}</gml:LinearRing>"
                              "</gml:exterior></gml:Polygon>"))
    assert loc.shape == "polygon" and loc.lat == pytest.approx(1.01) and loc.lon == pytest.approx(102.01)
    assert loc.accuracy_m == pytest.approx(max(geo.distance_m(1.01, 102.01, a, b) for a, b in corners), abs=0.2)
    assert loc.detail["vertices"][0] == loc.detail["vertices"][-1]


def test_pos_list_polygon_and_3d_prism():
    pos_list = "1.0 102.0 1.0 102.02 1.02 102.02 1.0 102.0"
    [flat] = parse_pidf_lo(doc(f"<gml:Polygon {SRS}><gml:exterior><gml:LinearRing><gml:posList>{pos_list}"
                               "</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"))
    assert flat.valid and flat.shape == "polygon"
    prism = ('<gs:Prism srsName="urn:ogc:def:crs:EPSG::4979"><gs:base><gml:Polygon><gml:exterior><gml:LinearRing>'
             "<gml:posList>1.0 102.0 5 1.0 102.02 5 1.02 102.02 5 1.0 102.0 5</gml:posList></gml:LinearRing>"
             f"</gml:exterior></gml:Polygon></gs:base><gs:height {M}>3</gs:height></gs:Prism>")
    [solid] = parse_pidf_lo(doc(prism))
    assert solid.valid and solid.detail["height_m"] == 3 and solid.lat == pytest.approx(flat.lat)


def test_civic_address_to_text_and_fields():
    civic = ("<ca:civicAddress xml:lang=\"id\"><ca:country>ID</ca:country><ca:A1>Riau</ca:A1>"
             "<ca:A2>Bengkalis</ca:A2><ca:A3>Bengkalis</ca:A3><ca:RD>Jalan Ahmad Yani</ca:RD><ca:HNO>12</ca:HNO>"
             "<ca:NAM>RSUD Bengkalis</ca:NAM><ca:FLR>2</ca:FLR><ca:PC>28711</ca:PC></ca:civicAddress>")
    [loc] = parse_pidf_lo(doc(civic))
    assert loc.shape == "civic" and loc.valid and loc.lat is None
    assert loc.address_text == "RSUD Bengkalis, Jalan Ahmad Yani 12, floor 2, Bengkalis, Riau, 28711, ID"
    assert loc.detail["civic"]["RD"] == "Jalan Ahmad Yani" and loc.detail["lang"] == "id"


def test_several_tuples_and_location_infos_give_several_locations():
    two = doc(point(1.1, 102.1), circle(1.2, 102.2, 50)).replace("</presence>", "")
    text = two + f'<dm:device id="d"><gp:geopriv><gp:location-info>{point(1.3, 102.3)}</gp:location-info>' \
                 "</gp:geopriv></dm:device></presence>"
    locs = parse_pidf_lo(text)
    assert [(loc.shape, loc.lat) for loc in locs] == [("point", 1.1), ("circle", 1.2), ("point", 1.3)]
    assert locs[2].detail["element"] == "device"


def test_bad_parts_are_marked_invalid_and_the_good_ones_kept():
    locs = parse_pidf_lo(doc(point("0", "0 xxxx"), circle(1.2, 102.2, -5), point(1.3, 102.3),
                             f'<gs:Circle srsName="urn:ogc:def:crs:EPSG::3857"><gml:pos>1 2</gml:pos>'
                             f"<gs:radius {M}>5</gs:radius></gs:Circle>", "<gs:Circle/>", point("nan", "inf")))
    assert [loc.valid for loc in locs] == [False, False, True, False, False, False]
    reasons = [loc.invalid_reason for loc in locs]
    assert "gml:pos" in reasons[0] and "negative" in reasons[1] and "EPSG 4326" in reasons[3]
    assert "no gml:pos" in reasons[4] and "as numbers" in reasons[5]
    assert all(loc.source == "pidf_lo" for loc in locs)


def test_a_time_without_offset_is_not_guessed():
    [loc] = parse_pidf_lo(doc(point(1, 102), timestamp="2026-09-23T12:00:00.03"))
    assert loc.valid and loc.located_at is None and loc.detail["timestamp_sent"] == "2026-09-23T12:00:00.03"
    assert parse_timestamp("2026-11-27T08:00:00.123456789+07:00") == datetime(2026, 11, 27, 1, 0, 0, 123456,
                                                                               tzinfo=UTC)
    assert parse_timestamp("yesterday") is None


def test_geopriv_without_location_and_dynamic_only_are_invalid_not_lost():
    locs = parse_pidf_lo(doc("<dyn:Dynamic xmlns:dyn='urn:ietf:params:xml:ns:pidf:geopriv10:dynamic'>"
                             "<dyn:speed>3</dyn:speed></dyn:Dynamic>"))
    assert len(locs) == 1 and not locs[0].valid and "Dynamic" in locs[0].invalid_reason


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("not xml at all", "well-formed"),
    ("<?xml version='1.0'?><!-- only a comment -->", "well-formed"),
    ("<html><body/></html>", "not a PIDF document"),
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
     "<presence>&lol2;</presence>", "DTD"),
    ('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><presence>&x;</presence>', "DTD"),
    ('<?xml version="1.0"?><!DOCTYPE p SYSTEM "http://evil.example/p.dtd"><presence/>', "DTD"),
    ("<presence>" + "x" * (MAX_PIDF_BYTES + 1) + "</presence>", "limit"),
    ("<a>" * 6000 + "</a>" * 6000, "elements"),
])
def test_documents_that_cannot_be_read_at_all_raise_location_error(text, words):
    with pytest.raises(LocationError) as info:
        parse_pidf_lo(text)
    assert words in info.value.reason


def test_billion_laughs_is_refused_before_any_expansion():
    entities = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE presence [{entities}]><presence>&l9;</presence>'
    with pytest.raises(LocationError):
        parse_pidf_lo(bomb.encode())


def test_the_number_of_locations_is_bounded():
    many = doc(*[point(1, 102)] * (MAX_LOCATIONS + 10))
    assert len(parse_pidf_lo(many)) == MAX_LOCATIONS


def test_bytes_in_another_declared_encoding_and_a_bom():
    latin = doc(point(1, 102), method="Sel").replace("Sel", "Séluler")
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + latin.encode("latin-1")
    assert parse_pidf_lo(data)[0].detail["method"] == "Séluler"
    assert parse_pidf_lo(b"\xef\xbb\xbf  " + latin.encode())[0].valid


# ---------------------------------------------------------------------------------------------- properties

lat_st = st.floats(-89.9, 89.9, allow_nan=False).map(lambda v: round(v, 6))
lon_st = st.floats(-179.9, 179.9, allow_nan=False).map(lambda v: round(v, 6))


@given(lat_st, lon_st, st.floats(0, 100_000, allow_nan=False).map(lambda v: round(v, 2)))
def test_circle_round_trip(lat, lon, radius):
    [loc] = parse_pidf_lo(doc(circle(lat, lon, radius)))
    assert (loc.lat, loc.lon, loc.accuracy_m, loc.valid) == (lat, lon, radius, True)


@given(st.floats(-60, 60), st.floats(-170, 170), st.lists(st.tuples(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05)),
                                                           min_size=3, max_size=12, unique=True))
def test_polygon_centre_is_near_and_the_radius_reaches_every_corner(lat, lon, offsets):
    corners = [(round(lat + a, 6), round(lon + b, 6)) for a, b in offsets]
    if len(set(corners)) < 3:
        return
    ring = " ".join(f"{a} {b}" for a, b in corners + corners[:1])
    [loc] = parse_pidf_lo(doc(f"<gml:Polygon {SRS}><gml:exterior><gml:LinearRing><gml:posList>{ring}</gml:posList>"
                              "</gml:LinearRing></gml:exterior></gml:Polygon>"))
    assert loc.valid and loc.lat is not None and loc.lon is not None and loc.accuracy_m is not None
    for a, b in corners:
        assert geo.distance_m(loc.lat, loc.lon, a, b) <= loc.accuracy_m + 0.2
    assert geo.distance_m(loc.lat, loc.lon, lat, lon) < 50_000  # self-intersecting outlines stay near too


def _only_declared(data: bytes | str) -> None:
    try:
        for loc in parse_pidf_lo(data):
            assert loc.source == "pidf_lo"
            assert loc.valid or loc.invalid_reason
            assert loc.lat is None or math.isfinite(loc.lat)
    except LocationError as exc:
        assert exc.reason and "\n" not in exc.reason


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_only_ever_raise_location_error(data):
    _only_declared(data)


VALID = doc(circle(1.47, 102.11, 35), point(1.5, 102.2)).encode()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.binary(max_size=8)), max_size=6))
def test_mutated_documents_only_ever_raise_location_error(edits):
    data = bytearray(VALID)
    for at, chunk in edits:
        data[at:at + len(chunk)] = chunk
    _only_declared(bytes(data))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["<gml:pos>", "</gml:pos>", "1.5 102.1", "<gs:Circle>", "</gs:Circle>",
                                 "<gp:location-info>", "</gp:location-info>", "<gs:radius>", "</gs:radius>", "-",
                                 "1e400", "<ca:civicAddress>", "</ca:civicAddress>", "<ca:RD>x</ca:RD>",
                                 "<gml:Polygon>", "<gml:exterior>", "<gml:LinearRing>", "<gml:posList>", "&amp;"]),
                max_size=30))
def test_structured_noise_inside_a_geopriv_only_ever_raises_location_error(pieces):
    _only_declared(doc("".join(pieces)))
