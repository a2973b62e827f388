"""Advanced Mobile Location (ETSI TS 103 625): the fix a handset sends by itself when it calls 112.

Three carriers, one result (`AmlFix`):
- SMS text, version 1 (`A"ML=1;lt=…;lg=…;rd=…;top=…;lc=…;pm=…;si=…;ei=…;mcc=…;mnc=…;ml=…`). `ml` is the length
  of the whole message: a message whose length does not match was cut or altered, and its fix is kept but
  marked invalid. `pm=N` means the handset found no location.
- SMS text, version 2 (`A"ML=2;en=…;et=…;lo=lat,lon,accuracy;lt=…;lc=…;lz=alt,vacc;ls=…;ei=…;nc=…;hc=…;lg=…`):
  times in Unix seconds, `lt` the location time relative to `et` (-9999: unknown).
- Data SMS: the same text, GSM 03.38 7-bit packed (what Android sends), given as bytes, hex or base64.
- HTTPS form POST (application/x-www-form-urlencoded: `v`, `device_number`, `location_latitude`, …,
  `hmac`): when a key is configured the `hmac` field must be HMAC-SHA1(key, everything before "&hmac=") in hex.

Nothing here is refused for a bad value: out-of-range coordinates or a failed length check make the fix
`valid=False` with the reason. Only input that is not AML at all raises `AmlError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac as hmac_lib
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl

from siaga.domains.calls.numbers import tidy_typed_number
from siaga.domains.calls.schemas import LocationIn
from siaga.domains.location.errors import AmlAuthError, AmlError

MAX_SMS_CHARS = 1600  # ten concatenated SMS; a real AML SMS is ~120–160 characters
MAX_FIELDS = 64
MAX_HTTPS_BYTES = 16 * 1024
MAX_VALUE = 100
HEADER = 'A"ML='

AmlKind = Literal["sms_v1", "sms_v2", "https"]

# Positioning methods: v1 `pm`, v2 `ls` (one letter); HTTPS `location_source` (a word).
METHODS = {"G": "gnss", "W": "wifi", "C": "cell", "F": "fused", "U": "unknown", "N": "none",
           "GPS": "gnss", "GNSS": "gnss", "WIFI": "wifi", "CELL": "cell", "FUSED": "fused", "UNKNOWN": "unknown",
           "NONE": "none", "NETWORK": "cell", "HYBRID": "fused"}

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DIGITS = re.compile(r"[0-9]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/=_-]+")


@dataclass
class AmlFix:
    """One AML message, read. `lat`/`lon` are None when absent or unusable (see `invalid_reason`)."""

    kind: AmlKind
    version: str
    caller_number: str = ""  # HTTPS device_number; an SMS carries none (the gateway knows the sender)
    emergency_number: str = ""  # the number dialled (v2 `en`, HTTPS `emergency_number`)
    imsi: str = ""
    imei: str = ""
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None  # 0 (unknown) is read as None
    located_at: datetime | None = None
    call_started_at: datetime | None = None
    method: str = ""  # gnss, wifi, cell, fused, unknown, none — or as sent when not one of these
    method_sent: str = ""
    confidence: float | None = None  # percent
    altitude_m: float | None = None
    vertical_accuracy_m: float | None = None
    floor: str = ""
    network_mcc: str = ""
    network_mnc: str = ""
    home_mcc: str = ""
    home_mnc: str = ""
    language: str = ""
    message_length: int | None = None  # v1 `ml`
    actual_length: int | None = None
    length_ok: bool | None = None  # v1: ml == actual length; None where the format has no length field
    authenticated: bool | None = None  # HTTPS: HMAC checked and good (True) / no key configured (None)
    no_location: bool = False  # the handset says it has no fix (pm=N / ls=N / no coordinates)
    valid: bool = True
    invalid_reason: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # every field as sent (bounded)

    def _flag(self, reason: str) -> None:
        """The first reason wins; the fix stays, marked invalid."""
        if self.valid:
            self.valid, self.invalid_reason = False, reason[:300]

    def to_location(self) -> LocationIn:
        """The fix as a call location (source "aml"): a circle when the radius is known, else a point."""
        detail: dict[str, Any] = {"aml": self.kind, "version": self.version}
        for key in ("method", "method_sent", "confidence", "altitude_m", "vertical_accuracy_m", "floor",
                    "emergency_number", "message_length", "actual_length", "length_ok", "authenticated"):
            value = getattr(self, key)
            if value not in (None, ""):
                detail[key] = value
        if self.no_location:
            detail["no_location"] = True
        has_point = self.lat is not None and self.lon is not None
        shape = "" if not has_point else ("circle" if self.radius_m else "point")
        accuracy = self.radius_m if has_point and self.radius_m and self.radius_m <= 1_000_000 else None
        return LocationIn(source="aml", lat=self.lat if has_point else None, lon=self.lon if has_point else None,
                          accuracy_m=accuracy, valid=self.valid and has_point,
                          invalid_reason=self.invalid_reason if not self.valid else
                          ("" if has_point else "no position in the AML message"),
                          shape=shape, detail=detail, located_at=self.located_at)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("located_at", "call_started_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat().replace("+00:00", "Z")
        return out


# ---------------------------------------------------------------------------------------------- SMS text


def parse_aml_sms(text: str) -> AmlFix:
    """An AML SMS (version 1 or 2) as text. Raises AmlError when it is not one."""
    if not isinstance(text, str):
        raise AmlError("an AML SMS is text")
    message = text.strip()
    if len(message) > MAX_SMS_CHARS:
        raise AmlError(f"AML SMS of {len(message)} characters is over the {MAX_SMS_CHARS}-character limit")
    if not message.upper().startswith(HEADER.upper()):
        raise AmlError('not an AML SMS: it must start with A"ML=')
    pairs = [p for p in message.split(";") if p.strip()]
    if len(pairs) > MAX_FIELDS:
        raise AmlError(f"AML SMS with more than {MAX_FIELDS} fields")
    fields: dict[str, str] = {}
    repeated: list[str] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise AmlError(f"AML SMS field without '=': {_short(pair)!r}")
        if key in fields:
            repeated.append(key)
            continue
        fields[key] = _clean(value)[:MAX_VALUE]
    version = fields.get('a"ml', "")
    if version == "1":
        fix = _sms_v1(fields, message)
    elif version == "2":
        fix = _sms_v2(fields)
    else:
        raise AmlError(f"AML version {_short(version)!r} is not 1 or 2")
    if repeated:
        fix._flag(f"field {repeated[0]} given more than once")
    return fix


def _sms_v1(fields: dict[str, str], message: str) -> AmlFix:
    fix = AmlFix(kind="sms_v1", version="1", fields=fields)
    fix.imsi, fix.imei = _ident(fields.get("si", "")), _ident(fields.get("ei", ""))
    fix.network_mcc, fix.network_mnc = _ident(fields.get("mcc", "")), _ident(fields.get("mnc", ""))
    _method(fix, fields.get("pm", ""))
    fix.actual_length = len(message)
    ml = fields.get("ml", "")
    if _DIGITS.fullmatch(ml) and len(ml) <= 6:
        fix.message_length = int(ml)
        fix.length_ok = fix.message_length == fix.actual_length
    else:
        fix.length_ok = False
    fix.confidence = _percent(fix, fields.get("lc", ""), "lc")
    fix.located_at = _compact_time(fix, fields.get("top", ""))
    _position(fix, fields.get("lt", ""), fields.get("lg", ""), fields.get("rd", ""))
    # The length check comes first among the reasons: a cut message explains any other oddity.
    if fix.length_ok is False:
        reason = (f"ml={fix.message_length} but the message is {fix.actual_length} characters long: "
                  "cut or altered on the way" if fix.message_length is not None
                  else "no valid ml (message length) field: the message cannot be checked for truncation")
        fix.valid, fix.invalid_reason = False, reason
    return fix


def _sms_v2(fields: dict[str, str]) -> AmlFix:
    fix = AmlFix(kind="sms_v2", version="2", fields=fields)
    fix.emergency_number = _ident(fields.get("en", ""), allow_plus=True)
    fix.imei = _ident(fields.get("ei", ""))
    fix.network_mcc, fix.network_mnc = _mcc_mnc(fields.get("nc", ""))
    fix.home_mcc, fix.home_mnc = _mcc_mnc(fields.get("hc", ""))
    fix.language = fields.get("lg", "")[:35]
    _method(fix, fields.get("ls", ""))
    fix.confidence = _percent(fix, fields.get("lc", ""), "lc")
    et = fields.get("et", "")
    if _INTEGER.fullmatch(et) and len(et) <= 12:
        fix.call_started_at = _epoch(fix, int(et), "et")
        lt = fields.get("lt", "")
        if fix.call_started_at and _INTEGER.fullmatch(lt) and len(lt) <= 12 and int(lt) != -9999:
            fix.located_at = _epoch(fix, int(et) + int(lt), "et+lt")
    elif et:
        fix._flag(f"et is not Unix seconds: {_short(et)!r}")
    lo = fields.get("lo", "")
    parts = lo.split(",") if lo else []
    if lo and len(parts) not in (2, 3):
        fix._flag(f"lo must be 'latitude,longitude[,accuracy]', got {_short(lo)!r}")
        parts = []
    _position(fix, parts[0] if parts else "", parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "")
    lz = fields.get("lz", "").split(",")
    fix.altitude_m = _float(lz[0]) if lz and lz[0] else None
    fix.vertical_accuracy_m = _float(lz[1]) if len(lz) > 1 else None
    return fix


# ---------------------------------------------------------------------------------------------- data SMS

# GSM 03.38 default alphabet and its extension table (after ESC, 0x1B).
GSM7 = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|",
            0x65: "€"}
_GSM7_INDEX = {c: i for i, c in enumerate(GSM7) if c != "\x1b"}
_GSM7_EXT_INDEX = {c: i for i, c in GSM7_EXT.items()}


def unpack_septets(packed: bytes) -> list[int]:
    """GSM 7-bit packed octets → septets (3GPP TS 23.038 §6.1.2.1.1). A last septet that is only fill bits
    (a 0 where the octet count leaves room for one more) is dropped."""
    septets = []
    carry, bits = 0, 0
    for byte in packed:
        septets.append(((byte << bits) | carry) & 0x7F)
        carry = byte >> (7 - bits)
        bits += 1
        if bits == 7:
            septets.append(carry)
            carry, bits = 0, 0
    # 7j octets hold 8j septets; when the sender had 8j-1, the last one is 7 fill bits (a 0, '@').
    if packed and len(packed) % 7 == 0 and septets[-1] == 0:
        septets.pop()
    return septets


def pack_septets(septets: list[int]) -> bytes:
    out = bytearray()
    acc, bits = 0, 0
    for s in septets:
        acc |= (s & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def decode_gsm7(packed: bytes) -> str:
    chars = []
    escape = False
    for s in unpack_septets(packed):
        if escape:
            chars.append(GSM7_EXT.get(s, " "))
            escape = False
        elif s == 0x1B:
            escape = True
        else:
            chars.append(GSM7[s])
    return "".join(chars)


def encode_gsm7(text: str) -> bytes:
    """Text in the GSM default alphabet → packed octets (for tests and the CLI's round trip)."""
    septets: list[int] = []
    for c in text:
        if c in _GSM7_INDEX:
            septets.append(_GSM7_INDEX[c])
        elif c in _GSM7_EXT_INDEX:
            septets += [0x1B, _GSM7_EXT_INDEX[c]]
        else:
            raise ValueError(f"{c!r} is not in the GSM 7-bit alphabet")
    return pack_septets(septets)


def decode_data_payload(payload: bytes | str, encoding: str = "auto") -> bytes:
    """A data SMS's user data as bytes: given raw, or as hex, or as base64 (what gateways print).
    `encoding` "hex" or "base64" says which; "auto" tries hex first."""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    text = "".join(payload.split())
    if not text:
        raise AmlError("empty data SMS")
    if len(text) > MAX_SMS_CHARS * 2:
        raise AmlError("data SMS over the size limit")
    if encoding in ("auto", "hex") and _HEX.fullmatch(text) and len(text) % 2 == 0:
        return bytes.fromhex(text)
    if encoding in ("auto", "base64") and _BASE64.fullmatch(text):
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text
                                    else None, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise AmlError("data SMS must be given as hex or base64" if encoding == "auto" else f"data SMS is not {encoding}")


def parse_aml_data_sms(payload: bytes | str, encoding: str = "auto") -> AmlFix:
    """An AML data SMS: GSM 7-bit packed user data (bytes, hex or base64). 8-bit text is accepted too."""
    data = decode_data_payload(payload, encoding)
    if len(data) > MAX_SMS_CHARS:
        raise AmlError("data SMS over the size limit")
    if data[:5].upper() == HEADER.upper().encode():
        try:
            return parse_aml_sms(data.decode("ascii"))
        except UnicodeDecodeError:
            raise AmlError("8-bit AML data SMS that is not ASCII") from None
    text = decode_gsm7(data)
    if not text.upper().startswith(HEADER.upper()):
        raise AmlError('not an AML data SMS: the 7-bit text does not start with A"ML=')
    return parse_aml_sms(text)


# ---------------------------------------------------------------------------------------------- HTTPS


def hmac_of(message: bytes, key: str) -> str:
    return hmac_lib.new(key.encode("utf-8"), message, hashlib.sha1).hexdigest()


def verify_hmac(body: bytes | str, key: str) -> bool:
    """The post's `hmac` field (last) is HMAC-SHA1(key, the body before "&hmac=") in hex."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    head, sep, given = raw.rpartition(b"&hmac=")
    if not sep or not key:
        return False
    given = given.split(b"&", 1)[0].strip()
    return hmac_lib.compare_digest(hmac_of(head, key).encode(), given.lower())


def parse_aml_https(body: bytes | str, hmac_key: str = "") -> AmlFix:
    """An AML HTTPS form post. With `hmac_key`, a post without a matching `hmac` raises AmlAuthError."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_HTTPS_BYTES:
        raise AmlError(f"AML post of {len(raw)} bytes is over the {MAX_HTTPS_BYTES}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AmlError("AML post is not UTF-8 text") from None
    try:
        pairs = parse_qsl(text.strip(), keep_blank_values=True, max_num_fields=MAX_FIELDS, separator="&")
    except ValueError as exc:
        raise AmlError(f"AML post is not a form body: {exc}") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(_clean(key).lower()[:MAX_VALUE], _clean(value)[:MAX_VALUE * 4])
    if "v" not in fields and "location_latitude" not in fields:
        raise AmlError("not an AML post: no v= or location_latitude= field")
    authenticated: bool | None = None
    if hmac_key:
        if "hmac" not in fields:
            raise AmlAuthError("the AML post carries no hmac and a key is configured")
        if not verify_hmac(raw.strip(), hmac_key):
            raise AmlAuthError("the AML post's hmac does not match (HMAC-SHA1 of the body before &hmac=)")
        authenticated = True
    fix = AmlFix(kind="https", version=fields.get("v", "")[:10], fields={k: v[:MAX_VALUE] for k, v in fields.items()},
                 authenticated=authenticated)
    fix.caller_number = _ident(fields.get("device_number", ""), allow_plus=True)
    fix.emergency_number = _ident(fields.get("emergency_number", ""), allow_plus=True)
    fix.imsi, fix.imei = _ident(fields.get("device_imsi", "")), _ident(fields.get("device_imei", ""))
    fix.network_mcc, fix.network_mnc = _ident(fields.get("cell_network_mcc", "")), _ident(
        fields.get("cell_network_mnc", ""))
    fix.home_mcc, fix.home_mnc = _ident(fields.get("cell_home_mcc", "")), _ident(fields.get("cell_home_mnc", ""))
    fix.language = fields.get("device_languages", "")[:35]
    fix.floor = fields.get("location_floor", "")[:20]
    _method(fix, fields.get("location_source", ""))
    confidence = fields.get("location_confidence", "") or fields.get("location_certainty", "")
    value = _float(confidence) if confidence else None
    if value is not None and 0 <= value <= 1 and "location_confidence" in fields:
        value *= 100  # location_confidence is a fraction; the older location_certainty a percentage
    fix.confidence = value if value is not None and 0 <= value <= 100 else None
    fix.altitude_m = _float(fields.get("location_altitude", ""))
    fix.vertical_accuracy_m = _float(fields.get("location_vertical_accuracy", ""))
    for name, attr in (("location_time", "located_at"), ("time", "call_started_at")):
        raw_ms = fields.get(name, "")
        if _DIGITS.fullmatch(raw_ms) and len(raw_ms) <= 15:
            setattr(fix, attr, _epoch(fix, int(raw_ms) / 1000, name))
        elif raw_ms:
            fix._flag(f"{name} is not Unix milliseconds: {_short(raw_ms)!r}")
    _position(fix, fields.get("location_latitude", ""), fields.get("location_longitude", ""),
              fields.get("location_accuracy", ""))
    return fix


# ---------------------------------------------------------------------------------------------- any AML


def detect_aml(data: bytes | str) -> str:
    """'sms', 'data' or 'https' — or '' when the input looks like none of them."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes | bytearray) else data
    head = text.strip()[:8].upper()
    if head.startswith(HEADER.upper()):
        return "sms"
    if "=" in text and ("&" in text or text.strip().lower().startswith(("v=", "location_"))):
        return "https"
    compact = "".join(text.split())
    if compact and (_HEX.fullmatch(compact) or _BASE64.fullmatch(compact)):
        return "data"
    return ""


def parse_aml(data: bytes | str, hmac_key: str = "") -> AmlFix:
    """Any AML message: SMS text, data SMS (hex/base64) or an HTTPS form body, detected from its content."""
    kind = detect_aml(data)
    if kind == "sms":
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes | bytearray) else data
        return parse_aml_sms(text)
    if kind == "https":
        return parse_aml_https(data, hmac_key)
    if kind == "data":
        return parse_aml_data_sms(data.decode("ascii") if isinstance(data, bytes | bytearray) else data)
    raise AmlError("not an AML message (SMS text, data SMS in hex/base64, or an HTTPS form body)")


# ---------------------------------------------------------------------------------------------- values


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _clean(text: str) -> str:
    """Stripped, control characters (NUL included) dropped: values end up stored and shown."""
    return "".join(c for c in text if c >= " " and c != "\x7f").strip()


def _float(text: str) -> float | None:
    text = text.strip()
    if not text or len(text) > 30 or _NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _ident(text: str, allow_plus: bool = False) -> str:
    """An IMSI, IMEI, MCC or (allow_plus) a phone number: digits (and a leading '+'; a number's spaces and
    dashes dropped), bounded; '' for anything else."""
    text = tidy_typed_number(text) if allow_plus else text.strip()
    body = text[1:] if allow_plus and text.startswith("+") else text
    return text[:40] if body and _DIGITS.fullmatch(body) else ""


def _mcc_mnc(text: str) -> tuple[str, str]:
    text = _ident(text)
    return (text[:3], text[3:]) if len(text) >= 5 else ("", "")


def _method(fix: AmlFix, sent: str) -> None:
    fix.method_sent = sent[:20]
    fix.method = METHODS.get(sent.strip().upper(), "") if sent else ""
    if fix.method == "none":
        fix.no_location = True


def _percent(fix: AmlFix, text: str, name: str) -> float | None:
    if not text:
        return None
    value = _float(text)
    if value is None or not 0 <= value <= 100:
        fix._flag(f"{name} is not a percentage: {_short(text)!r}")
        return None
    return value


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _epoch(fix: AmlFix, seconds: float, name: str) -> datetime | None:
    try:
        value = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:
        value = None
    if value is None or not EARLIEST <= value < LATEST:
        fix._flag(f"{name} is not a time between 2000 and 2200")
        return None
    return value


def _compact_time(fix: AmlFix, text: str) -> datetime | None:
    """`top`: YYYYMMDDhhmmss, UTC."""
    if not text:
        return None
    try:
        if not _DIGITS.fullmatch(text) or len(text) != 14:
            raise ValueError
        value = datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        fix._flag(f"top is not a time YYYYMMDDhhmmss: {_short(text)!r}")
        return None
    if not EARLIEST <= value < LATEST:
        fix._flag("top is not a time between 2000 and 2200")
        return None
    return value


def _position(fix: AmlFix, lat_text: str, lon_text: str, radius_text: str) -> None:
    lat_text, lon_text, radius_text = lat_text.strip(), lon_text.strip(), radius_text.strip()
    if not lat_text and not lon_text:
        fix.no_location = True
        fix._flag("the handset sent no location (pm=N)" if fix.method == "none" else "no latitude/longitude")
        return
    lat, lon = _float(lat_text), _float(lon_text)
    if lat is None or lon is None:
        fix._flag(f"latitude/longitude are not numbers: {_short(lat_text)!r}, {_short(lon_text)!r}")
        return
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        fix._flag(f"coordinates out of range: latitude {lat:g}, longitude {lon:g}")
        return
    fix.lat, fix.lon = lat, lon
    if fix.method == "none":
        fix._flag("coordinates sent with positioning method N (no location)")
    if radius_text:
        radius = _float(radius_text)
        if radius is None or radius < 0:
            fix._flag(f"radius is not a distance in metres: {_short(radius_text)!r}")
        elif radius > 1_000_000:
            fix._flag(f"radius of {radius:g} m is over 1000 km: not a usable location")
        else:
            fix.radius_m = radius or None  # 0 means unknown
