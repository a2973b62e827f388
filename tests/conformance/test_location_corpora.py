"""The caller-location parsers against externally written corpora in ../shared/conformance (never copied into
the project): the AML vectors with their expected values, the DEC112 PIDF-LO documents with the results their
own tests state, every RFC 5491 shape and civic example of Ng911Lib, a full NG911 INVITE and the RFC 4475
torture messages of SipLib (each refused with the right status or parsed — never a crash or a hang), and the
INVITE bodies inside the Texas A&M NG9-1-1 SIPp scenarios."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from siaga.domains.location.aml import parse_aml
from siaga.domains.location.errors import LocationError
from siaga.domains.location.pidf import parse_pidf_lo
from siaga.domains.location.sip import SipParseError, locations_from_invite, parse_sip_message

CONFORMANCE = Path(os.environ.get("SIAGA_CONFORMANCE_DIR", Path(__file__).parents[3] / "shared" / "conformance"))
SIP = CONFORMANCE / "sip"
DEC112 = SIP / "dec112-pidf-lo-javascript" / "test"
NG911LIB = SIP / "phrsite-ng911lib" / "Testing" / "Ng911LibUnitTests" / "PidfFiles"
SIPLIB = SIP / "phrsite-siplib" / "Testing" / "SipLibUnitTests"
TAMU = SIP / "tamu-ng911-dev"


@pytest.fixture(scope="module", autouse=True)
def corpus_present() -> None:
    if not (CONFORMANCE / "aml").exists() or not SIP.exists():
        pytest.fail(f"conformance corpora not found at {CONFORMANCE}: set SIAGA_CONFORMANCE_DIR")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# ---------------------------------------------------------------------------------------------- AML

def aml_vectors() -> list[dict]:
    path = CONFORMANCE / "aml" / "aml_test_vectors.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


# How each expected key of the vectors reads on our AmlFix.
AML_KEYS = {
    "lt": "lat", "latitude": "lat", "location_latitude": "lat", "longitude": "lon",
    "location_longitude": "lon", "rd": "radius_m", "accuracy_m": "radius_m", "lc": "confidence",
    "ei": "imei", "emergency_number": "emergency_number", "ml_matches_length": "length_ok",
    "actual_length": "actual_length", "authenticated": "authenticated",
}


@pytest.mark.parametrize("vector", aml_vectors(), ids=lambda v: v["id"])
def test_aml_vectors(vector):
    fix = parse_aml(vector["input"], vector.get("hmac_key", ""))
    for key, expected in vector.get("expect", {}).items():
        if key in AML_KEYS:
            assert getattr(fix, AML_KEYS[key]) == expected, key
        elif key == "top":
            assert fix.located_at == at(expected)
        elif key == "et_epoch_s":
            assert fix.call_started_at == datetime.fromtimestamp(expected, UTC)
        elif key == "location_time_ms":
            assert fix.located_at == datetime.fromtimestamp(expected / 1000, UTC)
        elif key in ("pm", "ls", "location_source"):
            assert fix.method_sent == expected
        elif key in ("mcc", "mnc"):
            assert getattr(fix, "network_" + key) == str(expected)
        elif key in ("nc", "hc"):
            prefix = "network_" if key == "nc" else "home_"
            assert getattr(fix, prefix + "mcc") + getattr(fix, prefix + "mnc") == expected
        elif key == "lg":  # v1: longitude; v2: the handset's language
            assert (fix.language if fix.kind == "sms_v2" else fix.lon) == expected
        else:  # anything else the vector states is a field as sent
            assert fix.fields[key] == expected, key
    if "decoded" in vector:
        assert fix.length_ok is True and fix.actual_length == len(vector["decoded"])
    if "length" in vector:
        assert fix.actual_length in (None, vector["length"]) or fix.kind != "sms_v1"
    # A vector whose length check fails is kept as a fix, marked invalid with the reason.
    assert fix.valid is (fix.length_ok is not False)
    loc = fix.to_location()
    assert loc.source == "aml" and (loc.lat, loc.lon) == (fix.lat, fix.lon)


def test_aml_hmac_vector_fails_with_another_key():
    from siaga.domains.location.errors import AmlAuthError

    vector = next(v for v in aml_vectors() if v.get("hmac_key"))
    with pytest.raises(AmlAuthError):
        parse_aml(vector["input"], vector["hmac_key"] + "x")


# ---------------------------------------------------------------------------------------------- DEC112

# What the upstream .test.ts files state for each document (`simple` / `simpleArray` / `locationTypes`).
DEC112_EXPECT = {
    "simple-circle/valid-circle.xml": [dict(shape="circle", lat=48.123, lon=14.456, accuracy_m=24, method="GPS")],
    "simple-circle/invalid-tuple.xml": [dict(shape="circle", lat=48.123, lon=14.456, accuracy_m=24, method="GPS")],
    "simple-circle-with-altitude/valid-circle.xml": [dict(shape="circle", lat=48.123, lon=14.456, accuracy_m=24,
                                                          method="GPS", altitude_m=20.7)],
    "simple-point/valid-point.xml": [dict(shape="point", lat=12.345, lon=67.89, accuracy_m=None, method="Cell",
                                          altitude_m=36.7)],
    "rfc5491/point-example.xml": [dict(shape="point", lat=-34.407, lon=150.883, accuracy_m=None, method="Wiremap",
                                       located_at=at("2007-06-22T20:57:29Z"), element="device")],
    "wifi-location/location.xml": [dict(shape="circle", lat=48.197457, lon=14.482596, accuracy_m=270,
                                        element="device", located_at=at("2021-01-11T07:00:10Z"))],
    "multiple-locations/valid.xml": [dict(shape="point", lat=12.345, lon=67.89, accuracy_m=None, method="GPS",
                                          altitude_m=36.7),
                                     dict(shape="circle", lat=48.123, lon=14.456, accuracy_m=24, method="GPS")],
    "civic-circle/location.xml": [dict(shape="circle", lat=48.123, lon=14.456, accuracy_m=24, method="GPS"),
                                  dict(shape="civic", civic={"country": "AT", "PC": "1120", "A1": "Wien",
                                                             "A4": "Meidling", "RD": "Fockygasse", "HNO": "51A"})],
    "simple-civic/valid-civic-address.xml": [dict(shape="civic", method="802.11", civic={
        "country": "AT", "A1": "Upper Austria", "A4": "Schärding", "FLR": "5", "PC": "4780", "NAM": "Hospital"})],
}


def check(loc, expected: dict) -> None:  # type: ignore[no-untyped-def]
    assert loc.valid, loc.invalid_reason
    for key, value in expected.items():
        if key in ("method", "altitude_m", "element", "civic"):
            assert loc.detail.get(key) == value, key
        else:
            assert getattr(loc, key) == value, key


@pytest.mark.parametrize("name", sorted(DEC112_EXPECT))
def test_dec112_documents_parse_to_the_stated_results(name):
    locs = parse_pidf_lo((DEC112 / name).read_bytes())
    assert len(locs) == len(DEC112_EXPECT[name])
    for loc, expected in zip(locs, DEC112_EXPECT[name], strict=True):
        check(loc, expected)
    if any(e["shape"] == "civic" for e in DEC112_EXPECT[name]):
        civic = next(loc for loc in locs if loc.shape == "civic")
        assert "A2" not in civic.detail["civic"] and civic.address_text


@pytest.mark.parametrize("name", ["invalid-part-1.xml", "invalid-part-2.xml", "invalid-full-1.xml"])
def test_dec112_invalid_documents_give_no_usable_location_but_say_why(name):
    locs = parse_pidf_lo((DEC112 / "invalid-pidf-lo" / name).read_bytes())
    assert locs and not any(loc.valid for loc in locs)  # upstream: `simple` is undefined
    assert all(loc.invalid_reason for loc in locs)
    if "part" in name:
        assert locs[0].detail["entity"] == ")(§+#*~" and locs[0].located_at is None
        assert "xxxxxxx" in locs[0].invalid_reason


def test_dec112_empty_document_cannot_be_read():
    with pytest.raises(LocationError):
        parse_pidf_lo((DEC112 / "invalid-pidf-lo" / "invalid-full-2.xml").read_bytes())


def test_every_dec112_document_is_covered():
    names = {str(p.relative_to(DEC112)) for p in DEC112.rglob("*.xml")}
    covered = set(DEC112_EXPECT) | {f"invalid-pidf-lo/{n}" for n in ("invalid-part-1.xml", "invalid-part-2.xml",
                                                                     "invalid-full-1.xml", "invalid-full-2.xml")}
    assert names == covered


# ---------------------------------------------------------------------------------------------- Ng911Lib

NG911_EXPECT = {
    "RFC5491TuplePointLocation.xml": [dict(shape="point", lat=37.775, lon=-(122 + 25 / 60 + 10 / 3600),
                                           located_at=at("2003-06-22T20:57:29Z"))],
    "RFC5491TupleCircleLocation.xml": [dict(shape="circle", lat=42.5463, lon=-73.2512, accuracy_m=850.24,
                                            method="OTDOA")],
    "RFC5491TupleSphereLocation.xml": [dict(shape="circle", lat=42.5463, lon=-73.2512, accuracy_m=850.24,
                                            altitude_m=26.3)],
    "RFC5491TupleEllipseLocation.xml": [dict(shape="ellipse", lat=42.5463, lon=-73.2512, accuracy_m=1275,
                                             located_at=at("2007-06-22T20:57:29Z"))],
    "RFC5491TupleEllipsoidLocation.xml": [dict(shape="ellipse", lat=42.5463, lon=-73.2512, accuracy_m=7.7156,
                                               altitude_m=26.3)],
    "RFC5491TupleArcBandLocation.xml": [dict(shape="arc_band", method="TA-NMR")],
    "RFC5491TuplePolygonLocation.xml": [dict(shape="polygon", method="Wiremap")],
    "RFC5491TuplePolygonCompactLocation.xml": [dict(shape="polygon", method="Wiremap")],
    "RFC5491TuplePrismLocation.xml": [dict(shape="polygon", method="Wiremap")],
    "DevicePointLocation.xml": [dict(shape="point", lat=41.772035, lon=-88.473291, element="device")],
    "DeviceCircleLocation.xml": [dict(shape="circle", lat=41.760537, lon=-88.261914, accuracy_m=50)],
    "DeviceCircleWithConfidence.xml": [dict(shape="circle", lat=41.760537, lon=-88.261914, accuracy_m=50)],
    "DeviceCircleDynamic1.xml": [dict(shape="circle", lat=42.5463, lon=-73.2512, accuracy_m=100, method="gps",
                                      located_at=at("2009-06-22T20:57:29Z"))],
    "DeviceCivicLocation.xml": [dict(shape="civic", civic={"country": "US", "A1": "IL", "A2": "KANE", "A3": "AURORA",
                                                           "PRD": "E", "RD": "NEW YORK", "STS": "ST", "HNO": "2106",
                                                           "PCN": "AURORA"})],
    "DeviceAndPerson.xml": [dict(shape="civic", element="device"),
                            dict(shape="circle", lat=34.247493, lon=-118.791885, accuracy_m=50, element="person")],
    "PersonDeviceCivicCircleLocation.xml": [dict(shape="civic", element="device"),
                                            dict(shape="circle", lat=34.268544, lon=-118.666519, accuracy_m=50)],
    "RFC5491TupleCivicLocation.xml": [dict(shape="civic", civic={"country": "US", "A1": "New York", "A3": "New York",
                                                                 "A6": "Broadway", "HNO": "123", "LOC": "Suite 75",
                                                                 "PC": "10027-0401"})],
    "RFC6848Figure7Example.xml": [dict(shape="civic", civic={"country": "US", "A1": "CA", "A2": "Sacramento",
                                                             "RD": "I5", "MP": "248", "PN": "22-109-689"})],
    "RFC6848Figure8Example.xml": [dict(shape="civic", civic={"country": "US", "A1": "CA", "A2": "Sacramento",
                                                             "RD": "Colorado", "HNO": "223", "STP": "Boulevard",
                                                             "HNP": "A"})],
    "RFC6848CivicExtendedExample1.xml": [dict(shape="civic")],
    "RFC6848Section3.4Example.xml": [dict(shape="civic", civic={"country": "US", "A1": "CA"})],
}


@pytest.mark.parametrize("name", sorted(NG911_EXPECT))
def test_ng911lib_shapes_and_civic_addresses(name):
    locs = parse_pidf_lo((NG911LIB / name).read_bytes())
    assert len(locs) == len(NG911_EXPECT[name])
    for loc, expected in zip(locs, NG911_EXPECT[name], strict=True):
        check(loc, {k: pytest.approx(v) if isinstance(v, float) else v for k, v in expected.items()})


def test_ng911lib_geometry_of_arc_band_and_polygons():
    from siaga.core import geo

    [band] = parse_pidf_lo((NG911LIB / "RFC5491TupleArcBandLocation.xml").read_bytes())
    assert 3594 <= geo.distance_m(-43.5723, 153.2176, band.lat, band.lon) <= 4148
    [hexagon] = parse_pidf_lo((NG911LIB / "RFC5491TuplePolygonLocation.xml").read_bytes())
    [compact] = parse_pidf_lo((NG911LIB / "RFC5491TuplePolygonCompactLocation.xml").read_bytes())
    assert (hexagon.lat, hexagon.lon, hexagon.accuracy_m) == (compact.lat, compact.lon, compact.accuracy_m)
    assert 43.111 < hexagon.lat < 43.411 and -73.422 < hexagon.lon < -73.122
    for lat, lon in hexagon.detail["vertices"]:
        assert geo.distance_m(hexagon.lat, hexagon.lon, lat, lon) <= hexagon.accuracy_m + 0.2
    [prism] = parse_pidf_lo((NG911LIB / "RFC5491TuplePrismLocation.xml").read_bytes())
    assert prism.lat == pytest.approx(42.606844) and prism.lon == pytest.approx(-73.298157)
    assert prism.detail["height_m"] == 2.4


def test_ng911lib_dynamic_only_is_an_invalid_location_with_the_reason():
    [loc] = parse_pidf_lo((NG911LIB / "DeviceDynamicOnly1.xml").read_bytes())
    assert not loc.valid and "Dynamic" in loc.invalid_reason


def test_every_ng911lib_pidf_file_is_covered():
    assert {p.name for p in NG911LIB.glob("*.xml")} == set(NG911_EXPECT) | {"DeviceDynamicOnly1.xml"}


# ---------------------------------------------------------------------------------------------- SipLib

def test_siplib_full_ng911_invite():
    msg = parse_sip_message((SIPLIB / "SipMessages" / "InviteAllAdditionalDataByValue1.sip").read_bytes())
    assert (msg.method, msg.request_uri, msg.caller_number) == ("INVITE", "urn:service:sos", "8185553333")
    assert msg.call_id == "6223979ff9574ec695d4a10628d06a99" and msg.line_endings_fixed
    assert msg.geolocation == ["<cid:8185553333@10.1.11.3>;inserted-by=AddDataClient"]
    assert len(msg.parts) == 9 and msg.parts[0].content_type == "application/sdp"
    assert len(msg.headers.get_all("call-info")) == 9
    civic, circle = locations_from_invite(msg)
    assert civic.shape == "civic" and civic.detail["civic"]["RD"] == "Stonebrook" and civic.valid
    assert (circle.shape, circle.lat, circle.lon, circle.accuracy_m) == ("circle", 34.247493, -118.791885, 50)
    assert civic.detail["content_id"] == "8185553333@10.1.11.3"


# RFC 4475 §3.1.2 / §3.3: messages a server must reject, and the status to answer. Everything else in the
# folder is a valid (if tortuous) message that must parse.
TORTURE_REFUSED = {
    "badvers.dat": 505,    # 3.1.2.16 unknown protocol version
    "clerr.dat": 400,      # 3.1.2.2 Content-Length larger than the message
    "ncl.dat": 400,        # 3.1.2.3 negative Content-Length
    "scalar02.dat": 400,   # 3.1.2.4 overlarge CSeq / Max-Forwards in a request
    "scalarlg.dat": 400,   # 3.1.2.5 overlarge scalars in a response (dropped: no answer to a response)
    "quotbal.dat": 400,    # 3.1.2.6 unterminated quoted string
    "ltgtruri.dat": 400,   # 3.1.2.7 <> around the Request-URI
    "lwsruri.dat": 400,    # 3.1.2.8 whitespace inside the Request-URI
    "lwsstart.dat": 400,   # 3.1.2.9 several spaces in the request line
    "mismatch01.dat": 400,  # 3.1.2.17 request method and CSeq method differ
    "mismatch02.dat": 400,  # 3.1.2.18 unknown method, CSeq method differs
    "bigcode.dat": 400,    # 3.1.2.19 overlarge response code
    "insuf.dat": 400,      # 3.3.1 missing required headers
    "multi01.dat": 400,    # 3.3.9 several values in single-value headers
    "mcl01.dat": 400,      # 3.3.10 several different Content-Lengths
}


def torture_files() -> list[Path]:
    return sorted((SIPLIB / "rfc4475tests").glob("*.dat"))


@pytest.mark.timeout(60)  # a hang guard, not a stopwatch: a parser stuck on a torture message never finishes
@pytest.mark.parametrize("path", torture_files(), ids=lambda p: p.name)
def test_rfc4475_torture_messages_are_refused_or_parsed_never_a_crash_or_hang(path):
    try:
        msg = parse_sip_message(path.read_bytes())
        outcome = "parsed"
        locations_from_invite(msg)
    except SipParseError as exc:
        outcome = exc.status
    assert outcome == TORTURE_REFUSED.get(path.name, "parsed")


def test_rfc4475_counts(capsys):
    refused = parsed = 0
    for path in torture_files():
        try:
            parse_sip_message(path.read_bytes())
            parsed += 1
        except SipParseError:
            refused += 1
    with capsys.disabled():
        print(f"\nRFC 4475 corpus: {parsed} parsed, {refused} refused, of {parsed + refused}")
    assert refused == len(TORTURE_REFUSED) and parsed + refused == len(torture_files()) >= 45


def test_rfc4475_details():
    wsinv = parse_sip_message((SIPLIB / "rfc4475tests" / "wsinv.dat").read_bytes())  # the short tortuous INVITE
    assert (wsinv.cseq, wsinv.cseq_method, wsinv.call_id) == (9, "INVITE", "wsinv.ndaksdj@192.0.2.1")
    assert wsinv.caller_display == 'J Rosenberg \\"' and wsinv.headers.get("max-forwards") == "0068"
    assert len(wsinv.headers.values("via")) == 3 and wsinv.headers.get("newfangledheader").endswith("continued "
                                                                                                    "newfangled value")
    dbl = parse_sip_message((SIPLIB / "rfc4475tests" / "dblreq.dat").read_bytes())  # the INVITE after is ignored
    assert dbl.method == "REGISTER" and dbl.extra_bytes > 0
    mpart = parse_sip_message((SIPLIB / "rfc4475tests" / "mpart01.dat").read_bytes())
    assert [p.content_type for p in mpart.parts] == ["text/plain", "application/octet-stream"]
    intmeth = parse_sip_message((SIPLIB / "rfc4475tests" / "intmeth.dat").read_bytes())
    assert intmeth.method == "!interesting-Method0123456789_*+`.%indeed'~" and intmeth.caller_number == "mundane"


# ---------------------------------------------------------------------------------------------- TAMU sipp

SIPP_KEYWORDS = {"transport": "UDP", "local_ip": "192.0.2.10", "local_port": "5060", "call_number": "1",
                 "call_id": "1-4242@192.0.2.10", "branch": "z9hG4bK-4242-1", "local_ip_type": "4",
                 "media_ip_type": "4", "media_ip": "192.0.2.10", "media_port": "6000", "peer_tag_param": ""}


def render_sipp(cdata: str, keywords: dict[str, str] = SIPP_KEYWORDS) -> bytes:
    """A sipp <send> as sipp sends it: lines stripped of their indentation, keywords filled in, [len] the
    length of the body."""
    lines = [line.strip(" \t") for line in cdata.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    text = re.sub(r"\[([a-z_]+)\]", lambda m: keywords.get(m.group(1), m.group(0)), "\r\n".join(lines))
    head, _, body = text.partition("\r\n\r\n")
    body = body + "\r\n" if body else ""
    return (head.replace("[len]", str(len(body.encode()))) + "\r\n\r\n" + body).encode()


def tamu_requests() -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(TAMU.glob("*/*.xml")):
        for send in ET.parse(path).getroot().iter("send"):  # trusted corpus files, not network input
            text = (send.text or "").strip()
            if text.split(" ", 1)[0] in ("INVITE", "MESSAGE"):
                out.append((path.name, render_sipp(send.text or "")))
                break
    return out


# name → what the call's locations must be: (shape, valid) per location, in order.
TAMU_EXPECT = {
    "SIP_INVITE_location_PIDF-LO.xml": [("civic", True)],
    "SIP_INVITE_regular_URI_admin_line.xml": [("point", True)],
    "SIP_INVITE_from_OSP_with_SDP_PIDF-LO_NG-AACS.xml": [("point", True)],
    "SIP_INVITE_location_garbled_PIDF-LO_body.xml": [("", False)],
    "SIP_INVITE_location_reference.xml": [("reference", True)],
    "SIP_INVITE_incorrect_geolocation_for_dereference.xml": [("reference", True)],
    "SIP_INVITE_geolocation_HELD.xml": [("reference", False)],   # a placeholder, not a URI
    "SIP_INVITE_geolocation_SIP.xml": [("reference", False)],
}


def test_tamu_scenarios_are_all_rendered():
    names = [name for name, _ in tamu_requests()]
    assert len(names) >= 28 and set(TAMU_EXPECT) <= set(names)


@pytest.mark.parametrize("name, raw", tamu_requests(), ids=lambda v: v if isinstance(v, str) else "")
def test_tamu_requests_are_taken_with_their_locations(name, raw):
    msg = parse_sip_message(raw)  # every one of them is a call (or a text) to take: none refused
    assert msg.caller_number == "+12025551212" and msg.call_id == SIPP_KEYWORDS["call_id"]
    locs = locations_from_invite(msg)
    assert [(loc.shape, loc.valid) for loc in locs] == TAMU_EXPECT.get(name, [])
    assert all(loc.source == "pidf_lo" and (loc.valid or loc.invalid_reason) for loc in locs)
    if name == "SIP_INVITE_location_garbled_PIDF-LO_body.xml":
        assert "garbled PIDF-LO" in locs[0].invalid_reason
    if name == "SIP_INVITE_location_reference.xml":
        assert locs[0].reference_uri == "https://127.0.0.1/location"
    if name == "SIP_INVITE_location_PIDF-LO.xml":
        assert locs[0].detail["civic"]["A3"] == "Laurel" and locs[0].located_at is None  # time without offset
