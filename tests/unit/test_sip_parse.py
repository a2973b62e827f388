"""One whole SIP message, bounded: start line, headers (compact forms, folding, multi-values), Content-Length,
multipart bodies, the caller, the Geolocation header — and the INVITE's locations, which never raise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siaga.domains.location.sip import (
    MAX_BODY_BYTES,
    MAX_HEADERS,
    MAX_MESSAGE_BYTES,
    SipParseError,
    locations_from_invite,
    locations_from_parts,
    parse_content_type,
    parse_name_addr,
    parse_sip_message,
    split_commas,
)

# No stopwatch in these tests (a busy machine is not a bug): a parser that backtracks or expands without
# bound on these inputs would not finish at all, and this per-test limit catches it.
pytestmark = pytest.mark.timeout(120)

PIDF = ('<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" '
        'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" '
        'xmlns:gs="http://www.opengis.net/pidflo/1.0" entity="pres:+6281234567890@telkomsel.example">'
        '<tuple id="a"><status><gp:geopriv><gp:location-info><gs:Circle srsName="urn:ogc:def:crs:EPSG::4326">'
        '<gml:pos>1.4660 102.1040</gml:pos><gs:radius uom="urn:ogc:def:uom:EPSG::9001">40</gs:radius></gs:Circle>'
        "</gp:location-info><gp:method>GPS</gp:method></gp:geopriv></status>"
        "<timestamp>2026-11-27T01:00:02Z</timestamp></tuple></presence>")
SDP = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


def multipart(pidf: str = PIDF, cid: str = "loc1@telkomsel.example") -> str:
    return (f"--b1\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n"
            f"--b1\r\nContent-Type: application/pidf+xml\r\nContent-ID: <{cid}>\r\n\r\n{pidf}\r\n--b1--\r\n")


def invite(body: str = "", headers: str = "", content_type: str = "multipart/mixed; boundary=b1",
           geolocation: str = "<cid:loc1@telkomsel.example>", uri: str = "urn:service:sos",
           length: int | None = None) -> bytes:
    body = body if body else multipart()
    lines = [f"INVITE {uri} SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
             "Max-Forwards: 70", 'From: "Pemanggil" <sip:081234567890@trunk.telkomsel.example>;tag=1928301774',
             "To: <urn:service:sos>", "Call-ID: a84b4c76e66710@192.0.2.1", "CSeq: 314159 INVITE",
             "Contact: <sip:081234567890@192.0.2.1>"]
    if geolocation:
        lines.append(f"Geolocation: {geolocation}")
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body.encode()) if length is None else length}")
    head = "\r\n".join(lines) + ("\r\n" + headers if headers else "")
    return (head + "\r\n\r\n" + body).encode()


def test_invite_with_pidf_lo_by_value():
    msg = parse_sip_message(invite())
    assert (msg.is_request, msg.method, msg.request_uri, msg.call_id) == (True, "INVITE", "urn:service:sos",
                                                                           "a84b4c76e66710@192.0.2.1")
    assert (msg.cseq, msg.cseq_method, msg.caller_number, msg.caller_display) == (314159, "INVITE", "081234567890",
                                                                                   "Pemanggil")
    assert [p.content_type for p in msg.parts] == ["application/sdp", "application/pidf+xml"]
    assert msg.part_by_cid("<loc1@telkomsel.example>") is msg.parts[1]
    [loc] = locations_from_invite(msg)
    assert (loc.source, loc.shape, loc.lat, loc.lon, loc.accuracy_m) == ("pidf_lo", "circle", 1.466, 102.104, 40)
    assert loc.detail["content_id"] == "loc1@telkomsel.example"


def test_p_asserted_identity_wins_over_from_and_tel_is_preferred():
    msg = parse_sip_message(invite(headers="P-Asserted-Identity: <sip:+6281200000001@ims.example>, "
                                           "<tel:+6281299999999>"))
    assert (msg.caller_number, msg.caller_uri) == ("+6281299999999", "tel:+6281299999999")
    anonymous = parse_sip_message(invite().replace(b"sip:081234567890@trunk", b"sip:anonymous@trunk"))
    assert anonymous.caller_number == ""


def test_compact_forms_folding_and_multi_values():
    raw = (b"OPTIONS sip:112@siaga.example SIP/2.0\r\nv: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n"
           b"v: SIP/2.0/UDP b.example;branch=z9hG4bK2\r\nf: <sip:0812@x>;tag=1\r\nt: <sip:112@x>\r\n"
           b"i: abc@x\r\nCSeq: 1\r\n OPTIONS\r\nMax-Forwards: 70\r\nl: 0\r\nSubject: one,\r\n\ttwo\r\n\r\n")
    msg = parse_sip_message(raw)
    assert msg.headers.get_all("Via") == ["SIP/2.0/UDP a.example;branch=z9hG4bK1",
                                          "SIP/2.0/UDP b.example;branch=z9hG4bK2"]
    assert msg.headers.get("CALL-ID") == "abc@x" and msg.cseq_method == "OPTIONS"
    assert msg.headers.get("subject") == "one, two" and "via" in msg.headers and len(msg.headers) == 9
    assert msg.headers.values("subject") == ["one", "two"]


def test_responses_and_bare_lf_files():
    msg = parse_sip_message(b"SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\nCall-ID: x\n"
                            b"CSeq: 1 INVITE\nContent-Length: 5\n\nab\ncd")
    assert (msg.is_request, msg.status_code, msg.reason, msg.line_endings_fixed) == (False, 180, "Ringing", True)
    assert msg.body == b"ab\r\nc"  # the body was counted with CRLF line endings
    lf = invite().replace(b"\r\n", b"\n")
    assert parse_sip_message(lf).caller_number == "081234567890"


def test_body_runs_to_the_end_without_content_length_and_extra_bytes_are_ignored():
    no_length = invite().replace(b"Content-Length: ", b"X-Was-Length: ")
    assert len(parse_sip_message(no_length).parts) == 2
    msg = parse_sip_message(invite(body="hello", content_type="text/plain", length=3, geolocation=""))
    assert (msg.body, msg.extra_bytes) == (b"hel", 2)


def test_liberal_where_strictness_would_lose_a_call():
    assert parse_sip_message(invite(uri="911")).request_uri == "911"
    assert parse_sip_message(invite().replace(b"SIP/2.0\r\n", b"SIP/2.0  \r\n", 1)).method == "INVITE"
    assert parse_sip_message(b"\r\n\r\n" + invite()).method == "INVITE"
    broken = parse_sip_message(invite(content_type="multipart/mixed"))  # no boundary: the call goes on
    assert broken.parts == [] and "boundary" in broken.body_error
    [loc] = locations_from_invite(broken)
    assert not loc.valid and "boundary" in loc.invalid_reason


@pytest.mark.parametrize("raw, status, words", [
    (b"", 400, "empty"),
    (invite().replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), 505, "version"),
    (invite().replace(b"SIP/2.0\r\n", b"HTTP/1.1\r\n", 1), 400, "not a SIP version"),
    (invite().replace(b"INVITE urn", b"INVITE  urn", 1), 400, "single spaces"),
    (invite(uri="<sip:112@x>"), 400, "Request-URI"),
    (invite(length=99999), 400, "larger than"),
    (invite(length=-1), 400, "non-negative"),
    (invite(length=10**12), 413, "over the limit"),
    (invite(headers="Content-Length: 7"), 400, "several different Content-Length"),
    (invite(headers="Call-ID: other@x"), 400, "several call-id"),
    (invite().replace(b"CSeq: 314159 INVITE", b"CSeq: 314159 OPTIONS"), 400, "does not match"),
    (invite().replace(b"CSeq: 314159", b"CSeq: 4294967296"), 400, "2**31"),
    (invite().replace(b"Max-Forwards: 70", b"Max-Forwards: 300"), 400, "Max-Forwards"),
    (invite().replace(b'"Pemanggil"', b'"Pemanggil'), 400, "unbalanced quote"),
    (invite().replace(b"Call-ID: a84b4c76e66710@192.0.2.1\r\n", b""), 400, "call-id"),
    (invite().replace(b"Max-Forwards: 70", b"Max Forwards: 70"), 400, "not a header line"),
    (invite(headers="\r\n".join(f"X-H{i}: {i}" for i in range(MAX_HEADERS + 1))), 513, "headers"),
    (invite(headers="X-Long: " + "a" * 9000), 513, "header line"),
    (b"SIP/2.0 4294967301 better not break the receiver\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n", 400, "status"),
    (invite() + b"x" * MAX_MESSAGE_BYTES, 513, "limit"),
    (invite(body="x" * (MAX_BODY_BYTES + 1), content_type="text/plain"), 413, "body"),
])
def test_refused_with_the_status_to_answer(raw, status, words):
    with pytest.raises(SipParseError) as info:
        parse_sip_message(raw)
    assert info.value.status == status and words in info.value.reason
    assert str(status) in str(info.value)


def test_geolocation_by_reference_and_several_values():
    locs = locations_from_parts("application/sdp", SDP.encode(),
                                "<https://lis.telkomsel.example/loc/8f3a>, <sip:loc@lis.example>;inserted-by=x")
    assert [(loc.shape, loc.reference_uri, loc.valid) for loc in locs] == [
        ("reference", "https://lis.telkomsel.example/loc/8f3a", True), ("reference", "sip:loc@lis.example", True)]
    assert all(loc.source == "pidf_lo" for loc in locs)


def test_geolocation_values_that_cannot_be_used_are_invalid_not_dropped():
    [placeholder] = locations_from_parts("application/sdp", SDP.encode(), "LIS_LOCATION_REFERENCE_URL")
    assert placeholder.shape == "reference" and not placeholder.valid and "not a location URI" in \
        placeholder.invalid_reason
    missing, by_value = locations_from_parts("multipart/mixed; boundary=b1", multipart().encode(), "<cid:nope@x>")
    assert not missing.valid and "no such part" in missing.invalid_reason
    assert by_value.valid  # the PIDF-LO part the header failed to name is still read
    long = locations_from_parts("", b"", "<https://x.example/" + "a" * 600 + ">")
    assert not long[0].valid and len(long[0].reference_uri) == 500


def test_garbled_pidf_lo_is_one_invalid_location():
    body = multipart(pidf="<presence><tuple></cl:civicAddress></tuple></presence>")
    [loc] = locations_from_parts("multipart/mixed; boundary=b1", body.encode(), "<cid:loc1@telkomsel.example>")
    assert (loc.source, loc.valid) == ("pidf_lo", False) and "garbled PIDF-LO" in loc.invalid_reason


def test_a_pidf_body_alone_and_unreferenced_parts_are_read_too():
    [alone] = locations_from_parts("application/pidf+xml", PIDF.encode())
    assert alone.valid and alone.lat == 1.466
    [unnamed] = locations_from_parts('multipart/mixed;boundary="b1"', multipart().encode())
    assert unnamed.valid


def test_no_location_is_an_empty_list():
    assert locations_from_parts("application/sdp", SDP.encode()) == []
    assert locations_from_parts("", b"") == []


def test_helpers():
    assert split_commas('<sip:a,b@x>, "c, d" <sip:e@x>;p=1 ,') == ["<sip:a,b@x>", '"c, d" <sip:e@x>;p=1']
    assert parse_name_addr('"J \\"R\\"" <sip:j@x>;tag=1') == ('J "R"', "sip:j@x")
    assert parse_name_addr("sip:0812@x;tag=1") == ("", "sip:0812@x")
    assert parse_content_type('Multipart/Mixed; Boundary="a;b"; x') == ("multipart/mixed", {"boundary": "a;b"})


# ---------------------------------------------------------------------------------------------- properties


def storable(*texts: str) -> bool:
    """No control characters: PostgreSQL cannot store NUL, and none belongs in a shown value."""
    return not any(ord(c) < 32 and c not in "\t\n" for text in texts for c in text)


def _only_declared(raw: bytes) -> None:
    try:
        msg = parse_sip_message(raw)
        assert storable(msg.call_id, msg.caller_number, msg.caller_uri, msg.caller_display)
        for loc in locations_from_invite(msg):
            assert loc.source == "pidf_lo" and (loc.valid or loc.invalid_reason)
            assert storable(loc.reference_uri, loc.invalid_reason, loc.address_text)
    except SipParseError as exc:
        assert exc.status in (400, 413, 505, 513) and exc.reason


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_only_raise_sip_parse_error(data):
    _only_declared(data)
    _only_declared(b"INVITE sip:112@x SIP/2.0\r\n" + data)


VALID = invite()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.binary(max_size=6)), max_size=8))
def test_mutated_invites_only_raise_sip_parse_error(edits):
    data = bytearray(VALID)
    for at, chunk in edits:
        data[at:at + len(chunk)] = chunk
    _only_declared(bytes(data))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200), st.binary(max_size=3000), st.text(max_size=300))
def test_locations_from_parts_never_raises(content_type, body, geolocation):
    for loc in locations_from_parts(content_type, body, geolocation):
        assert loc.source == "pidf_lo"
        assert storable(loc.reference_uri, loc.invalid_reason, loc.address_text)


def test_control_characters_never_reach_stored_fields():
    raw = invite(geolocation="<https://lis.example/\x00x>, <cid:\x00>").replace(b"Pemanggil", b"Pem\x00nggil")
    msg = parse_sip_message(raw)
    assert msg.caller_display == "Pem?nggil"
    locs = locations_from_invite(msg)
    assert [loc.valid for loc in locs][:2] == [False, False]
    assert all(storable(loc.reference_uri, loc.invalid_reason) for loc in locs)
    with pytest.raises(SipParseError):
        parse_sip_message(invite().replace(b"a84b4c76e66710@", b"a84b4c76e667\x01@"))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["--b1", "\r\n", "Content-Type: application/pidf+xml", "Content-ID: <loc1@x>",
                                 PIDF, "<presence>", "--b1--", "garbage", "Content-Type: multipart/mixed;boundary=b1"]),
                max_size=25))
def test_structured_multipart_noise_never_raises(pieces):
    for loc in locations_from_parts("multipart/mixed; boundary=b1", "".join(pieces).encode(), "<cid:loc1@x>"):
        assert loc.source == "pidf_lo"


@given(st.from_regex(r"\+?[0-9]{4,15}", fullmatch=True), st.from_regex(r"[A-Za-z0-9.\-]{1,40}", fullmatch=True))
def test_caller_and_call_id_round_trip(number, call_id):
    raw = invite().replace(b"081234567890@trunk", number.encode() + b"@trunk").replace(
        b"a84b4c76e66710@192.0.2.1", call_id.encode())
    msg = parse_sip_message(raw)
    assert (msg.caller_number, msg.call_id) == (number, call_id)


def test_pathological_inputs_stay_fast():
    cases = [
        b"INVITE sip:x SIP/2.0\r\n" + b"Via: " + b"<" * 60000 + b"\r\n\r\n",
        invite(headers="Geolocation: " + '"' * 7000),
        invite(headers="Geolocation: " + ",<" * 3500),
        invite(body="--b1\r\n" * 30000, content_type="multipart/mixed; boundary=b1"),
        invite(body=multipart(pidf="<presence>" + "<a>" * 20000), content_type="multipart/mixed; boundary=b1"),
        b"\r\n" * 100000,
        b"INVITE sip:x SIP/2.0\r\n" + b" folded\r\n" * 20000,
    ]
    for raw in cases:
        _only_declared(raw)
