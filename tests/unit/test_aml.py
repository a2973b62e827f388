"""Advanced Mobile Location: SMS v1 / v2, GSM 7-bit data SMS, the HTTPS post and its HMAC — bad values kept
as invalid fixes with the reason, only non-AML input refused (AmlError), never another exception."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siaga.domains.location.aml import (
    GSM7,
    GSM7_EXT,
    decode_gsm7,
    encode_gsm7,
    pack_septets,
    parse_aml,
    parse_aml_data_sms,
    parse_aml_https,
    parse_aml_sms,
    unpack_septets,
    verify_hmac,
)
from siaga.domains.location.errors import AmlAuthError, AmlError

# No stopwatch in these tests (a busy machine is not a bug): a parser that backtracks or expands without
# bound on these inputs would not finish at all, and this per-test limit catches it.
pytestmark = pytest.mark.timeout(120)


def v1(lat: str = "1.46600", lon: str = "102.10400", rd: str = "25", pm: str = "G", top: str = "20261127010005",
       lc: str = "68") -> str:
    body = (f'A"ML=1;lt={lat};lg={lon};rd={rd};top={top};lc={lc};pm={pm};si=510101234567890;ei=356708041746734;'
            "mcc=510;mnc=10;ml=")
    digits = next(n for n in (2, 3, 4) if len(str(len(body) + n)) == n)
    return body + str(len(body) + digits)  # ml: the length of the whole message, its own digits included


def test_v1_sms():
    fix = parse_aml_sms(v1())
    assert (fix.kind, fix.version, fix.valid, fix.length_ok) == ("sms_v1", "1", True, True)
    assert (fix.lat, fix.lon, fix.radius_m, fix.method, fix.confidence) == (1.466, 102.104, 25, "gnss", 68)
    assert fix.located_at == datetime(2026, 11, 27, 1, 0, 5, tzinfo=UTC)
    assert (fix.imsi, fix.imei, fix.network_mcc, fix.network_mnc) == ("510101234567890", "356708041746734", "510",
                                                                      "10")
    loc = fix.to_location()
    assert (loc.source, loc.shape, loc.lat, loc.lon, loc.accuracy_m, loc.valid) == ("aml", "circle", 1.466, 102.104,
                                                                                    25, True)
    assert loc.located_at == fix.located_at and loc.detail["method"] == "gnss"
    assert "356708041746734" not in str(loc.detail)  # device identifiers stay out of the location


def test_v1_length_mismatch_keeps_the_fix_marked_invalid():
    message = v1()
    fix = parse_aml_sms(message[:-3] + str(len(message) + 2))
    assert fix.lat == 1.466 and fix.length_ok is False and not fix.valid
    assert "cut or altered" in fix.invalid_reason and fix.actual_length == len(message)
    assert not fix.to_location().valid and fix.to_location().lat == 1.466
    missing = parse_aml_sms(message.rsplit(";ml=", 1)[0])
    assert not missing.valid and "ml" in missing.invalid_reason


def test_pm_n_means_the_handset_has_no_location():
    fix = parse_aml_sms(v1(lat="", lon="", rd="", pm="N", top=""))
    assert fix.no_location and fix.lat is None and not fix.valid and "no location" in fix.invalid_reason
    loc = fix.to_location()
    assert (loc.lat, loc.lon, loc.shape, loc.valid) == (None, None, "", False)
    assert loc.detail["no_location"] is True


@pytest.mark.parametrize("lat, lon, words", [("95.0", "102.1", "out of range"), ("1.4", "-181", "out of range"),
                                             ("north", "102.1", "not numbers"), ("1e999", "1", "not numbers")])
def test_bad_coordinates_are_invalid_not_exceptions(lat, lon, words):
    fix = parse_aml_sms(v1(lat=lat, lon=lon))
    assert not fix.valid and words in fix.invalid_reason and fix.lat is None
    assert fix.to_location().lat is None


def test_bad_time_and_confidence_are_reported():
    assert "top" in parse_aml_sms(v1(top="20261399250000")).invalid_reason
    assert "lc" in parse_aml_sms(v1(lc="168")).invalid_reason


def test_v2_sms():
    fix = parse_aml_sms('A"ML=2;en=112;et=1795741200;lo=1.46600,102.10400,15.5;lt=-3;lc=68;lz=12.5,4;ls=W;'
                        "ei=356708041746734;nc=51010;hc=51011;lg=id-ID")
    assert (fix.kind, fix.valid, fix.lat, fix.lon, fix.radius_m) == ("sms_v2", True, 1.466, 102.104, 15.5)
    assert fix.call_started_at == datetime.fromtimestamp(1795741200, UTC)
    assert fix.located_at == datetime.fromtimestamp(1795741197, UTC)
    assert (fix.method, fix.altitude_m, fix.vertical_accuracy_m, fix.emergency_number) == ("wifi", 12.5, 4, "112")
    assert (fix.network_mcc, fix.network_mnc, fix.home_mnc, fix.language) == ("510", "10", "11", "id-ID")
    unknown_time = parse_aml_sms('A"ML=2;et=1795741200;lo=1.466,102.104,0;lt=-9999;ls=G')
    assert unknown_time.located_at is None and unknown_time.radius_m is None
    assert unknown_time.to_location().shape == "point"


@pytest.mark.parametrize("text", ["", "hello", 'A"ML=3;lt=1;lg=2', 'A"ML=1;lt', "ML=1;lt=1;lg=2",
                                  'A"ML=1;' + "x=1;" * 100, 'A"ML=1;' + "1" * 2000])
def test_not_aml_raises_aml_error(text):
    with pytest.raises(AmlError):
        parse_aml_sms(text)


def test_gsm7_packing_known_example():
    # 3GPP TS 23.038's classic: "hellohello" packs to E8329BFD4697D9EC37.
    assert encode_gsm7("hellohello").hex().upper() == "E8329BFD4697D9EC37"
    assert decode_gsm7(bytes.fromhex("E8329BFD4697D9EC37")) == "hellohello"
    assert decode_gsm7(encode_gsm7("1234567")) == "1234567"  # 7 septets in 7 octets: no '@' from fill bits


def test_data_sms_hex_base64_and_8bit_agree_with_text():
    text = v1()
    packed = encode_gsm7(text)
    for payload in (packed, packed.hex(), packed.hex().upper(), base64.b64encode(packed).decode(), text.encode()):
        fix = parse_aml_data_sms(payload)
        assert (fix.lat, fix.lon, fix.length_ok, fix.valid) == (1.466, 102.104, True, True)
    assert parse_aml_data_sms(base64.b64encode(packed).decode(), "base64").valid
    with pytest.raises(AmlError):
        parse_aml_data_sms("zz-not-hex!")
    with pytest.raises(AmlError):
        parse_aml_data_sms(encode_gsm7("hello world").hex())


HTTPS = ("v=1&device_number=%2B6281234567890&location_latitude=1.46600&location_longitude=102.10400"
         "&location_time=1795741205000&location_accuracy=12.5&location_source=GPS&location_certainty=83"
         "&location_altitude=3.0&location_floor=2&device_imei=356708041746734&device_imsi=510101234567890"
         "&cell_network_mcc=510&cell_network_mnc=10")


def signed(body: str, key: str) -> str:
    return body + "&hmac=" + hmac.new(key.encode(), body.encode(), hashlib.sha1).hexdigest()


def test_https_post():
    fix = parse_aml_https(HTTPS)
    assert (fix.kind, fix.caller_number, fix.lat, fix.lon, fix.radius_m) == ("https", "+6281234567890", 1.466,
                                                                              102.104, 12.5)
    assert fix.located_at == datetime(2026, 11, 27, 1, 0, 5, tzinfo=UTC)
    assert (fix.method, fix.confidence, fix.floor, fix.authenticated) == ("gnss", 83, "2", None)
    no_fix = parse_aml_https("v=1&device_number=%2B6281234567890&location_latitude=&location_longitude=")
    assert no_fix.no_location and not no_fix.valid


def test_https_hmac():
    good = signed(HTTPS, "rahasia")
    assert verify_hmac(good, "rahasia") and not verify_hmac(good, "salah") and not verify_hmac(HTTPS, "rahasia")
    assert parse_aml_https(good, "rahasia").authenticated is True
    assert parse_aml_https(good).authenticated is None  # no key configured: not checked
    with pytest.raises(AmlAuthError):
        parse_aml_https(good, "salah")
    with pytest.raises(AmlAuthError):
        parse_aml_https(HTTPS, "rahasia")
    tampered = good.replace("1.46600", "1.46601")
    with pytest.raises(AmlAuthError):
        parse_aml_https(tampered, "rahasia")


@pytest.mark.parametrize("body", ["", "{}", "hello=world", b"\xff\xfe", "a=" + "b&" * 200])
def test_not_an_aml_post(body):
    with pytest.raises(AmlError):
        parse_aml_https(body)


def test_parse_aml_detects_the_carrier():
    assert parse_aml(v1()).kind == "sms_v1"
    assert parse_aml(encode_gsm7(v1()).hex()).kind == "sms_v1"
    assert parse_aml(HTTPS).kind == "https"
    with pytest.raises(AmlError):
        parse_aml("<presence/>")


# ---------------------------------------------------------------------------------------------- properties

gsm_text = st.text(alphabet=st.sampled_from([c for c in GSM7 if c != "\x1b"] + list(GSM7_EXT.values())),
                   max_size=300)


@given(gsm_text)
def test_gsm7_round_trip(text):
    decoded = decode_gsm7(encode_gsm7(text))
    # The one ambiguity of the format: a trailing '@' in 8j-1 septets looks like fill bits.
    assert decoded == text or (decoded + "@" == text)


@given(st.lists(st.integers(0, 127), max_size=300))
def test_septet_packing_round_trip(septets):
    back = unpack_septets(pack_septets(septets))
    assert back == septets or (back == septets[:-1] and septets[-1] == 0)


@given(st.floats(-90, 90, allow_nan=False).map(lambda v: round(v, 5)),
       st.floats(-180, 180, allow_nan=False).map(lambda v: round(v, 5)), st.integers(1, 99_999))
def test_v1_round_trip_through_text_and_data_sms(lat, lon, radius):
    text = v1(lat=f"{lat:.5f}", lon=f"{lon:.5f}", rd=str(radius))
    for fix in (parse_aml_sms(text), parse_aml_data_sms(encode_gsm7(text).hex())):
        assert (fix.lat, fix.lon, fix.radius_m, fix.valid) == (lat, lon, radius, True)


def _only_declared(call, *args) -> None:  # type: ignore[no-untyped-def]
    try:
        fix = call(*args)
        loc = fix.to_location()
        assert loc.source == "aml" and (loc.valid or loc.invalid_reason)
    except AmlError as exc:
        assert exc.reason


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_arbitrary_text_only_raises_aml_error(text):
    _only_declared(parse_aml, text)
    _only_declared(parse_aml_sms, 'A"ML=1;' + text)
    _only_declared(parse_aml_sms, 'A"ML=2;' + text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_raise_aml_error(data):
    _only_declared(parse_aml_data_sms, data)
    _only_declared(parse_aml_https, data)
    _only_declared(parse_aml_https, data, "key")


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(["v", "device_number", "location_latitude", "location_longitude",
                                        "location_time", "location_accuracy", "location_source", "time",
                                        "location_confidence", "hmac"]), st.text(max_size=30), max_size=10))
def test_arbitrary_form_fields_only_raise_aml_error(fields):
    from urllib.parse import urlencode

    _only_declared(parse_aml_https, urlencode(fields))
