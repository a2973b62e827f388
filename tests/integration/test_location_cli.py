"""`siaga location parse`: what an operator runs to check what a network sends — the parsed caller and
locations as JSON, and a one-line error (exit 1, no traceback) for input that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

from siaga.domains.location.aml import encode_gsm7
from tests import cli
from tests.cli import Ran

SMS = ('A"ML=1;lt=1.46600;lg=102.10400;rd=20;top=20261127005955;lc=68;pm=G;si=510101234567890;'
       "ei=356708041746734;mcc=510;mnc=10;ml=")
SMS = SMS + str(len(SMS) + 3)
PIDF = ('<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
        'xmlns:gml="http://www.opengis.net/gml" xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">'
        '<tuple id="a"><status><gp:geopriv><gp:location-info><gml:Point srsName="urn:ogc:def:crs:EPSG::4326">'
        "<gml:pos>1.466 102.104</gml:pos></gml:Point><ca:civicAddress><ca:RD>Jalan Sudirman</ca:RD>"
        "<ca:A2>Bengkalis</ca:A2></ca:civicAddress></gp:location-info></gp:geopriv></status></tuple></presence>")


def invite() -> bytes:
    body = (f"--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--b\r\nContent-Type: application/pidf+xml\r\n"
            f"Content-ID: <loc@x>\r\n\r\n{PIDF}\r\n--b--\r\n")
    head = ("INVITE urn:service:sos SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
            "From: <sip:081234567890@trunk>;tag=1\r\nTo: <urn:service:sos>\r\nCall-ID: cli-1@x\r\n"
            "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nP-Asserted-Identity: <tel:+6281234567890>\r\n"
            "Geolocation: <cid:loc@x>\r\nContent-Type: multipart/mixed;boundary=b\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return (head + body).encode()


def siaga(*args: str, stdin: bytes | None = None) -> Ran:
    return cli.run("location", "parse", *args, stdin=stdin, binary=True,
                   env={"SIAGA_DATABASE_URL": "sqlite:////nonexistent/never-used.db"})


def test_every_kind_of_input_is_read(tmp_path: Path):
    # All in one process per kind: AML SMS text (a file), a data SMS in hex (stdin), a PIDF-LO, a SIP INVITE.
    (tmp_path / "aml.txt").write_text(SMS + "\n")
    r = siaga(str(tmp_path / "aml.txt"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["input"] == "aml-sms" and out["aml"]["length_ok"] is True and out["caller"]["imei"]
    assert out["locations"][0]["lat"] == 1.466 and out["locations"][0]["source"] == "aml"
    r = siaga("-", stdin=encode_gsm7(SMS).hex().encode())
    assert r.returncode == 0 and json.loads(r.stdout)["input"] == "aml-data"
    r = siaga("-", stdin=PIDF.encode())
    shapes = [loc["shape"] for loc in json.loads(r.stdout)["locations"]]
    assert r.returncode == 0 and shapes == ["point", "civic"]
    r = siaga("-", stdin=invite())
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["input"] == "sip" and out["caller"] == {"number": "+6281234567890", "normalised": "+6281234567890",
                                                       "uri": "tel:+6281234567890", "display": ""}
    assert out["sip"]["call_id"] == "cli-1@x" and [loc["shape"] for loc in out["locations"]] == ["point", "civic"]


def test_unreadable_input_exits_1_with_one_line_and_no_traceback(tmp_path: Path):
    garbled = invite().replace(b"<gml:Point", b"<gml:Poinx", 1)  # the call is read; its location is invalid
    r = siaga("-", stdin=garbled)
    assert r.returncode == 0 and json.loads(r.stdout)["locations"][0]["valid"] is False
    for stdin in (b"Tolong, ada kebakaran di Jalan Sudirman!", b"<presence><tuple>", b"INVITE sip:x SIP/7.0\r\n\r\n",
                  b'<!DOCTYPE p [<!ENTITY a "aaaa">]><presence>&a;</presence>'):
        r = siaga("-", stdin=stdin)
        err = r.stderr.decode()
        assert r.returncode == 1 and r.stdout == b"", (stdin, err)
        assert err.startswith("Error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "505" in siaga("-", stdin=b"INVITE sip:x SIP/7.0\r\n\r\n").stderr.decode()
    r = siaga(str(tmp_path / "missing.txt"))
    assert r.returncode == 1 and "cannot read" in r.stderr.decode()
