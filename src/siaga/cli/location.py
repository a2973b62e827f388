"""`siaga location parse`: what a network sends, read as Siaga reads it — AML (SMS text, data SMS in hex or
base64, HTTPS form body), a PIDF-LO document or a whole SIP INVITE — printed as JSON. Needs no database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from siaga.cli import app

location_app = typer.Typer(help="Caller location (PIDF-LO, AML): check what a network sends.", no_args_is_help=True)
app.add_typer(location_app, name="location")

MAX_INPUT_BYTES = 1024 * 1024
UNKNOWN = ("cannot tell what this is: expected an AML SMS (A\"ML=…), a data SMS in hex or base64, an AML HTTPS "
           "form body, a PIDF-LO document (<presence …>) or a SIP message")
KINDS = ("auto", "aml-sms", "aml-data", "aml-https", "pidf", "sip")


def _fail(message: str) -> None:
    typer.echo(f"Error: {' '.join(message.split())}", err=True)
    raise typer.Exit(1)


def _read(source: str) -> bytes:
    try:
        if source == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(source).open("rb") as f:
                data = f.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        _fail(f"cannot read {source}: {exc.strerror or exc}")
    if len(data) > MAX_INPUT_BYTES:
        _fail(f"input over {MAX_INPUT_BYTES} bytes: not a location message")
    return data


def detect(data: bytes) -> str:
    """Which kind of input this is, from its first bytes; '' when it is none of them."""
    from siaga.domains.location.aml import detect_aml

    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:5].upper() == b'A"ML=':
        return "aml-sms"
    if text.startswith(b"<"):
        return "pidf"
    first = text.split(b"\n", 1)[0].rstrip(b"\r \t").upper()
    if first.startswith(b"SIP/") or first.rsplit(b" ", 1)[-1].startswith(b"SIP/"):
        return "sip"
    found = detect_aml(text)
    return {"https": "aml-https", "data": "aml-data"}.get(found, "")


def parse_input(data: bytes, kind: str = "auto", hmac_key: str = "") -> dict[str, Any]:
    """The parsed caller and locations; raises LocationError / SipParseError when the input cannot be read."""
    from siaga.domains.calls.numbers import normalise_msisdn
    from siaga.domains.location import aml, pidf, sip
    from siaga.domains.location.errors import LocationError

    guessed = kind == "auto"
    kind = detect(data) if guessed else kind
    result: dict[str, Any] = {"input": kind}
    if kind == "sip":
        msg = sip.parse_sip_message(data)
        result["caller"] = {"number": msg.caller_number, "normalised": normalise_msisdn(msg.caller_number),
                            "uri": msg.caller_uri, "display": msg.caller_display}
        result["sip"] = msg.summary()
        locations = sip.locations_from_invite(msg)
    elif kind == "pidf":
        locations = pidf.parse_pidf_lo(data)
    elif kind in ("aml-sms", "aml-data", "aml-https"):
        try:
            text = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise LocationError("an AML message is text") from None
        try:
            fix = (aml.parse_aml_sms(text) if kind == "aml-sms" else aml.parse_aml_data_sms(text)
                   if kind == "aml-data" else aml.parse_aml_https(text, hmac_key))
        except aml.AmlError as exc:
            if guessed and kind == "aml-data" and not isinstance(exc, aml.AmlAuthError):
                raise LocationError(f"{UNKNOWN} (read as a data SMS: {exc.reason})") from None
            raise
        details = fix.as_dict()
        details.pop("fields", None)
        result["caller"] = {"number": fix.caller_number, "normalised": normalise_msisdn(fix.caller_number),
                            "imsi": fix.imsi, "imei": fix.imei}
        result["aml"] = details
        locations = [fix.to_location()]
    else:
        raise LocationError(UNKNOWN)
    result["locations"] = [loc.model_dump(mode="json") for loc in locations]
    return result


@location_app.command("parse")
def location_parse(source: str = typer.Argument("-", metavar="[FILE|-]", help="the message; - reads standard input"),
                   kind: str = typer.Option("auto", "--as", help=" | ".join(KINDS)),
                   hmac_key: str = typer.Option("", "--hmac-key", help="check an AML HTTPS post's hmac with this "
                                                "key (default: SIAGA_AML_HMAC_KEY, when set)")) -> None:
    """Read an AML message, a PIDF-LO document or a whole SIP INVITE and print the caller and location(s) as
    JSON. Input that cannot be read exits 1 with the reason; a location that is read but unusable is printed
    with valid=false and its reason."""
    from siaga.domains.location.errors import LocationError
    from siaga.domains.location.sip import SipParseError

    if kind not in KINDS:
        _fail(f"--as must be one of {', '.join(KINDS)}")
    if not hmac_key:
        from siaga.settings import get_settings

        hmac_key = get_settings().aml_hmac_key
    data = _read(source)
    try:
        result = parse_input(data, kind, hmac_key)
    except SipParseError as exc:
        _fail(f"not a SIP message this server would take (SIP {exc.status} {exc.reason_phrase}): {exc.reason}")
    except LocationError as exc:
        _fail(exc.reason)
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
