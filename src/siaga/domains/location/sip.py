"""One whole SIP message (RFC 3261), read with bounds, and the caller's location from an INVITE (RFC 6442).

`parse_sip_message(raw)` refuses what cannot be a SIP message with `SipParseError`, which carries the
status a server should answer (400 Bad Request, 413 body too large, 505 version not supported, 513 message
too large) and a one-line reason. It is liberal where being strict would only lose a call: trailing
whitespace on the request line, a Request-URI without a scheme ("INVITE 911 SIP/2.0"), a Via without a
branch, bare LF line endings (a message saved to a file), odd but balanced header values. The checks follow
RFC 4475's torture messages: several different Content-Lengths, a negative or oversized one, a body shorter
than its Content-Length, several Call-IDs / CSeqs / Froms / Tos, a CSeq whose method is not the request's,
scalars out of range, an unbalanced quote in a name-addr, whitespace or <> in the Request-URI, an unknown
SIP version — all refused. A body that cannot be split (a multipart without its boundary) does not refuse
the message: `body_error` says why and the call goes on.

`locations_from_parts(content_type, body, geolocation)` is what the SIP edge calls for every INVITE: it
never raises. Geolocation `cid:` values point at a body part (PIDF-LO by value); http(s), sip(s) and pres
URIs are locations by reference, kept for later dereference; PIDF-LO parts the header does not name are read
too. A garbled PIDF-LO, a `cid:` with no such part or a Geolocation value that is not a URI each become one
invalid location with the reason. No location at all: [].

Parsing uses only str/bytes methods — no regular expression that could backtrack on hostile input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from siaga.domains.calls.numbers import WITHHELD
from siaga.domains.calls.schemas import LocationIn
from siaga.domains.location.errors import LocationError
from siaga.domains.location.pidf import parse_pidf_lo

MAX_MESSAGE_BYTES = 256 * 1024
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADERS = 200
MAX_HEADER_LINE = 8 * 1024
MAX_BODY_BYTES = 192 * 1024
MAX_PARTS = 32
MAX_MULTIPART_DEPTH = 3
MAX_GEOLOCATION_VALUES = 8
MAX_LOCATIONS = 32

REASONS = {400: "Bad Request", 413: "Request Entity Too Large", 505: "Version Not Supported",
           513: "Message Too Large"}

COMPACT = {"i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length", "c": "content-type",
           "f": "from", "s": "subject", "k": "supported", "t": "to", "v": "via", "o": "event", "r": "refer-to",
           "b": "referred-by", "u": "allow-events", "a": "accept-contact", "j": "reject-contact",
           "d": "request-disposition", "x": "session-expires", "y": "identity", "n": "identity-info"}
SINGLE = ("call-id", "cseq", "from", "to", "max-forwards", "content-type")
REQUIRED = ("via", "from", "to", "call-id", "cseq")
REFERENCE_SCHEMES = ("http", "https", "sip", "sips", "pres")
PIDF_TYPES = ("application/pidf+xml", "application/pidf-lo+xml")

_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_URI_FORBIDDEN = frozenset(' <>"{}|\\^`\x7f') | frozenset(chr(c) for c in range(32))


def printable(text: str) -> str:
    """Text safe to store and show: control characters (NUL included — PostgreSQL cannot store it) as '?'."""
    return "".join(c if " " <= c != "\x7f" else ("?" if c not in "\t" else " ") for c in text)


class SipParseError(ValueError):
    """Not a SIP message this server can take: `status` is the response to send, `reason` says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {REASONS.get(status, '')}: {reason}")
        self.status = status
        self.reason_phrase = REASONS.get(status, "Bad Request")
        self.reason = reason


class SipHeaders:
    """Headers in arrival order, names in their long lower-case form (compact forms expanded)."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self.items: list[tuple[str, str]] = list(items or [])

    def get(self, name: str, default: str = "") -> str:
        key = _canonical(name)
        return next((v for k, v in self.items if k == key), default)

    def get_all(self, name: str) -> list[str]:
        key = _canonical(name)
        return [v for k, v in self.items if k == key]

    def values(self, name: str) -> list[str]:
        """Every comma-separated value of every instance (commas inside <>, quotes are kept)."""
        return [v for raw in self.get_all(name) for v in split_commas(raw)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k == _canonical(name) for k, _ in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def as_dict(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, v in self.items:
            out.setdefault(k, []).append(v)
        return out


@dataclass
class BodyPart:
    content_type: str  # media type, lower case, without parameters
    headers: SipHeaders
    body: bytes
    content_id: str = ""  # without the <>

    @property
    def params(self) -> dict[str, str]:
        return parse_content_type(self.headers.get("content-type"))[1]


@dataclass
class SipMessage:
    is_request: bool
    method: str = ""
    request_uri: str = ""
    status_code: int = 0
    reason: str = ""
    version: str = "SIP/2.0"
    headers: SipHeaders = field(default_factory=SipHeaders)
    body: bytes = b""
    content_type: str = ""
    parts: list[BodyPart] = field(default_factory=list)
    body_error: str = ""
    extra_bytes: int = 0  # bytes after Content-Length (ignored, as for a datagram)
    call_id: str = ""
    cseq: int = 0
    cseq_method: str = ""
    caller_uri: str = ""
    caller_number: str = ""
    caller_display: str = ""
    geolocation: list[str] = field(default_factory=list)
    line_endings_fixed: bool = False

    def part_by_cid(self, cid: str) -> BodyPart | None:
        cid = cid.strip().strip("<>")
        return next((p for p in self.parts if p.content_id and p.content_id == cid), None)

    def summary(self) -> dict[str, Any]:
        return {"request": self.is_request, "method": self.method, "request_uri": self.request_uri,
                "status_code": self.status_code, "call_id": self.call_id, "cseq": self.cseq,
                "caller_number": self.caller_number, "caller_uri": self.caller_uri,
                "caller_display": self.caller_display, "geolocation": self.geolocation,
                "content_type": self.content_type,
                "parts": [{"content_type": p.content_type, "content_id": p.content_id, "bytes": len(p.body)}
                          for p in self.parts],
                "body_error": self.body_error}


# ---------------------------------------------------------------------------------------------- the message


def parse_sip_message(raw: bytes) -> SipMessage:
    """One whole SIP request or response. Raises SipParseError (with the status to answer) when the
    message cannot be taken."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise SipParseError(400, "a SIP message is bytes")
    raw = bytes(raw)
    if len(raw) > MAX_MESSAGE_BYTES:
        raise SipParseError(513, f"message of {len(raw)} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    start = 0
    while raw.startswith(b"\r\n", start) or raw.startswith(b"\n", start):  # RFC 3261 §7.5: leading CRLFs
        start += 2 if raw.startswith(b"\r\n", start) else 1
    raw = raw[start:]
    if not raw:
        raise SipParseError(400, "empty message")
    head, body, fixed = _split_head(raw)
    if len(head) > MAX_HEADER_BYTES:
        raise SipParseError(513, f"header section over {MAX_HEADER_BYTES} bytes")
    lines = head.split(b"\r\n")
    msg = _start_line(lines[0])
    msg.line_endings_fixed = fixed
    msg.headers = SipHeaders(_header_lines(lines[1:]))
    _frame_body(msg, body)
    _check_headers(msg)
    _read_identity(msg)
    _read_body(msg)
    return msg


def _split_head(raw: bytes) -> tuple[bytes, bytes, bool]:
    """Header section and body. A message whose header section has bare LF line endings (saved to a file
    on Unix) has every bare LF turned into CRLF, body included, so Content-Length still adds up."""
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n")
    if lf != -1 and (crlf == -1 or lf < crlf) and b"\r" not in raw[:lf]:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        crlf = raw.find(b"\r\n\r\n")
        fixed = True
    elif crlf == -1 and b"\r" not in raw and b"\n" in raw:
        raw = raw.replace(b"\n", b"\r\n")
        fixed = True
    else:
        fixed = False
    if crlf == -1:
        head = raw[:-2] if raw.endswith(b"\r\n") else raw  # no blank line: headers only, no body
        return head, b"", fixed
    return raw[:crlf], raw[crlf + 4:], fixed


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace")


def _start_line(line: bytes) -> SipMessage:
    if len(line) > MAX_HEADER_LINE:
        raise SipParseError(513, "start line too long")
    text = _decode(line).rstrip(" \t")  # trailing whitespace (RFC 4475 trws): harmless, ignored
    if not text or text[0] in " \t":
        raise SipParseError(400, "the message must start with a request line or a status line")
    if text.upper().startswith("SIP/"):
        version, _, rest = text.partition(" ")
        code, _, reason = rest.partition(" ")
        _check_version(version)
        if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
            raise SipParseError(400, f"status code {code[:20]!r} is not three digits 100–699")
        return SipMessage(is_request=False, status_code=int(code), reason=reason, version="SIP/2.0")
    parts = text.split(" ")
    if len(parts) != 3 or not all(parts):
        raise SipParseError(400, "the request line must be METHOD SP Request-URI SP SIP-Version, with single "
                                 "spaces and no space inside the URI")
    method, uri, version = parts
    if not set(method) <= _TOKEN:
        raise SipParseError(400, f"method {method[:40]!r} is not a token")
    _check_version(version)
    if any(c in _URI_FORBIDDEN for c in uri):
        raise SipParseError(400, f"Request-URI {uri[:80]!r} contains characters a URI cannot hold (<, >, space…)")
    return SipMessage(is_request=True, method=method, request_uri=uri, version="SIP/2.0")


def _check_version(version: str) -> None:
    if version.upper() == "SIP/2.0":
        return
    major, dot, minor = version[4:].partition(".")
    if version.upper().startswith("SIP/") and dot and major.isdigit() and minor.isdigit():
        raise SipParseError(505, f"SIP version {version[:20]} is not supported (only SIP/2.0)")
    raise SipParseError(400, f"{version[:20]!r} is not a SIP version")


def _canonical(name: str) -> str:
    low = name.strip().lower()
    return COMPACT.get(low, low)


def _header_lines(lines: list[bytes]) -> list[tuple[str, str]]:
    logical: list[str] = []
    for line in lines:
        if len(line) > MAX_HEADER_LINE:
            raise SipParseError(513, f"header line over {MAX_HEADER_LINE} bytes")
        text = _decode(line)
        if text[:1] in (" ", "\t"):  # folded: continues the previous header (RFC 3261 §7.3.1)
            if not logical:
                raise SipParseError(400, "the first header line starts with whitespace")
            logical[-1] += " " + text.strip(" \t")
            if len(logical[-1]) > MAX_HEADER_LINE:
                raise SipParseError(513, f"header over {MAX_HEADER_LINE} bytes")
            continue
        if not text:
            continue
        logical.append(text)
        if len(logical) > MAX_HEADERS:
            raise SipParseError(513, f"more than {MAX_HEADERS} headers")
    items = []
    for text in logical:
        name, colon, value = text.partition(":")
        name = name.rstrip(" \t")
        if not colon or not name or not set(name) <= _TOKEN:
            raise SipParseError(400, f"not a header line: {text[:60]!r}")
        items.append((_canonical(name), value.strip(" \t")))
    return items


def _frame_body(msg: SipMessage, body: bytes) -> None:
    lengths = msg.headers.get_all("content-length")
    if not lengths:
        msg.body = body  # RFC 3261 §18.3: allowed over UDP, the body runs to the end of the datagram
    else:
        values = {v.strip() for v in lengths}
        if len(values) > 1:
            raise SipParseError(400, "several different Content-Length values: the body length is unknowable")
        value = values.pop()
        if not value.isdigit() or not value.isascii():
            raise SipParseError(400, f"Content-Length {value[:20]!r} is not a non-negative number")
        if len(value) > 9:
            raise SipParseError(413, f"Content-Length {value[:20]} is over the limit")
        length = int(value)
        if length > len(body):
            raise SipParseError(400, f"Content-Length {length} is larger than the {len(body)}-byte body")
        msg.body, msg.extra_bytes = body[:length], len(body) - length
    if len(msg.body) > MAX_BODY_BYTES:
        raise SipParseError(413, f"body of {len(msg.body)} bytes is over the {MAX_BODY_BYTES}-byte limit")


def _check_headers(msg: SipMessage) -> None:
    h = msg.headers
    for name in SINGLE:
        values = h.get_all(name)
        if len(values) > 1 and len(set(values)) > 1:
            raise SipParseError(400, f"several {name} headers")
    if msg.is_request:
        missing = [n for n in REQUIRED if n not in h]
        if missing:
            raise SipParseError(400, "missing required header" + ("s" if len(missing) > 1 else "") + ": "
                                + ", ".join(missing))
    msg.call_id = h.get("call-id").strip()
    if msg.is_request and not msg.call_id:
        raise SipParseError(400, "empty Call-ID")
    if printable(msg.call_id) != msg.call_id:
        raise SipParseError(400, "Call-ID holds control characters")
    cseq = h.get("cseq")
    if cseq or msg.is_request:
        number, _, method = cseq.strip().partition(" ")
        method = method.strip(" \t")
        if not number.isdigit() or not number.isascii() or len(number) > 10 or int(number) >= 2**31:
            raise SipParseError(400, f"CSeq number {number[:24]!r} is not below 2**31")
        if not method or not set(method) <= _TOKEN:
            raise SipParseError(400, f"CSeq {cseq[:40]!r} has no method")
        if msg.is_request and method != msg.method:
            raise SipParseError(400, f"CSeq method {method[:30]} does not match the request's {msg.method[:30]}")
        msg.cseq, msg.cseq_method = int(number), method
    max_forwards = h.get("max-forwards").strip()
    if max_forwards and (not max_forwards.isdigit() or not max_forwards.isascii() or len(max_forwards) > 10
                         or int(max_forwards) > 255):
        raise SipParseError(400, f"Max-Forwards {max_forwards[:20]!r} is not 0–255")
    for name in ("from", "to", "p-asserted-identity"):
        for value in h.get_all(name):
            if not _quotes_balanced(value):
                raise SipParseError(400, f"unbalanced quote in {name}: {value[:60]!r}")


def _quotes_balanced(value: str) -> bool:
    inside = False
    escaped = False
    for c in value:
        if escaped:
            escaped = False
        elif inside and c == "\\":
            escaped = True
        elif c == '"':
            inside = not inside
    return not inside


# ---------------------------------------------------------------------------------------------- addresses


def split_commas(value: str) -> list[str]:
    """'a, <b,c>, "d,e" <f>' → ['a', '<b,c>', '"d,e" <f>']: commas outside <> and quotes separate values."""
    out, current = [], []
    depth, inside, escaped = 0, False, False
    for c in value:
        if escaped:
            escaped = False
        elif inside and c == "\\":
            escaped = True
        elif c == '"':
            inside = not inside
        elif not inside and c == "<":
            depth += 1
        elif not inside and c == ">" and depth:
            depth -= 1
        elif c == "," and not inside and not depth:
            out.append("".join(current).strip())
            current = []
            continue
        current.append(c)
    last = "".join(current).strip()
    if last:
        out.append(last)
    return [v for v in out if v]


def parse_name_addr(value: str) -> tuple[str, str]:
    """(display name, URI) of a From / To / P-Asserted-Identity value; params after the URI dropped."""
    value = value.strip()
    display = ""
    rest = value
    if value.startswith('"'):
        i, chars = 1, []
        while i < len(value):
            c = value[i]
            if c == "\\" and i + 1 < len(value):
                chars.append(value[i + 1])
                i += 2
                continue
            if c == '"':
                break
            chars.append(c)
            i += 1
        display, rest = "".join(chars), value[i + 1:]
    lt = rest.find("<")
    if lt != -1:
        gt = rest.find(">", lt)
        uri = rest[lt + 1: gt if gt != -1 else len(rest)].strip()
        if not display:
            display = rest[:lt].strip()
        return display, uri
    return display, rest.strip().split(";", 1)[0].strip()  # addr-spec: ";params" belong to the header


def number_of(uri: str) -> str:
    """The user part of a tel:/sip:/sips: URI, as sent ('+6281234…', '8185553333'); '' when withheld,
    absent or longer than a number can be."""
    u = uri.strip()
    scheme, colon, rest = u.partition(":")
    if not colon or scheme.lower() not in ("tel", "sip", "sips"):
        return ""
    if scheme.lower() == "tel":
        user = rest.split(";", 1)[0]
    else:
        user = rest.split("@", 1)[0] if "@" in rest else ""
        user = user.split(";", 1)[0].split(":", 1)[0]
    user = user.strip()
    if not user or user.lower() in WITHHELD or len(user) > 40:
        return ""
    return user


def _read_identity(msg: SipMessage) -> None:
    """Caller: the network-asserted identity (P-Asserted-Identity, tel: preferred) else From."""
    candidates = msg.headers.values("p-asserted-identity")
    chosen = ""
    for value in sorted(candidates, key=lambda v: 0 if parse_name_addr(v)[1].lower().startswith("tel:") else 1):
        display, uri = parse_name_addr(value)
        if number_of(uri):
            chosen = value
            break
    if not chosen:
        chosen = msg.headers.get("from")
    display, uri = parse_name_addr(chosen) if chosen else ("", "")
    msg.caller_display, msg.caller_uri = printable(display[:200]), printable(uri[:500])
    number = number_of(uri)
    msg.caller_number = number if printable(number) == number else ""
    msg.geolocation = [v for v in msg.headers.values("geolocation")][:MAX_GEOLOCATION_VALUES]


# ---------------------------------------------------------------------------------------------- bodies


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """('multipart/mixed', {'boundary': 'x'}) — media type lower-cased, parameter names lower-cased,
    quoted values unquoted."""
    pieces = _split_params(value)
    media = pieces[0].strip().lower() if pieces else ""
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        key, eq, val = piece.partition("=")
        key, val = key.strip().lower(), val.strip()
        if not eq or not key:
            continue
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params.setdefault(key, val)
    return media, params


def _split_params(value: str) -> list[str]:
    out, current, inside, escaped = [], [], False, False
    for c in value[:2000]:
        if escaped:
            escaped = False
        elif inside and c == "\\":
            escaped = True
        elif c == '"':
            inside = not inside
        elif c == ";" and not inside:
            out.append("".join(current))
            current = []
            continue
        current.append(c)
    out.append("".join(current))
    return out


def split_multipart(body: bytes, boundary: str, depth: int = 0) -> list[BodyPart]:
    """The parts of a multipart body (RFC 2046), nested multiparts flattened; raises ValueError when the
    body has no delimiter line for `boundary`."""
    if not boundary or len(boundary) > 70:
        raise ValueError("multipart body without a usable boundary parameter")
    delimiter = b"--" + boundary.encode("utf-8", errors="replace")
    if body.startswith(delimiter):
        pos = 0
    else:
        pos = body.find(b"\r\n" + delimiter)
        if pos == -1:
            raise ValueError(f"multipart body has no --{boundary[:40]} delimiter")
        pos += 2
    parts: list[BodyPart] = []
    while True:
        pos += len(delimiter)
        if body.startswith(b"--", pos):  # close delimiter
            break
        line_end = body.find(b"\r\n", pos)
        if line_end == -1:
            break
        start = line_end + 2
        nxt = body.find(b"\r\n" + delimiter, start)
        end = nxt if nxt != -1 else len(body)
        if len(parts) >= MAX_PARTS:
            raise ValueError(f"more than {MAX_PARTS} body parts")
        parts.extend(_part(body[start:end], depth))
        if nxt == -1:
            break  # no close delimiter: take what there is
        pos = nxt + 2
    return parts


def _part(chunk: bytes, depth: int) -> list[BodyPart]:
    if chunk.startswith(b"\r\n"):
        head, content = b"", chunk[2:]
    else:
        sep = chunk.find(b"\r\n\r\n")
        head, content = (chunk, b"") if sep == -1 else (chunk[:sep], chunk[sep + 4:])
    try:
        headers = SipHeaders(_header_lines(head.split(b"\r\n")) if head else [])
    except SipParseError as exc:
        raise ValueError(f"body part headers: {exc.reason}") from None
    media, params = parse_content_type(headers.get("content-type") or "text/plain")
    if media.startswith("multipart/") and depth + 1 < MAX_MULTIPART_DEPTH:
        return split_multipart(content, params.get("boundary", ""), depth + 1)
    return [BodyPart(content_type=media, headers=headers, body=content,
                     content_id=headers.get("content-id").strip().strip("<>").strip())]


def _read_body(msg: SipMessage) -> None:
    media, params = parse_content_type(msg.headers.get("content-type"))
    msg.content_type = media
    if not msg.body:
        return
    if media.startswith("multipart/"):
        try:
            msg.parts = split_multipart(msg.body, params.get("boundary", ""))
        except ValueError as exc:
            msg.body_error = str(exc)
    elif media:
        msg.parts = [BodyPart(content_type=media, headers=SipHeaders([("content-type", media)]), body=msg.body)]


# ---------------------------------------------------------------------------------------------- locations


def locations_from_parts(content_type: str, body: bytes, geolocation: str = "") -> list[LocationIn]:
    """Every location an INVITE carries, from its Content-Type, body and Geolocation header value(s).
    NEVER raises: what cannot be read becomes an invalid location with the reason; no location → []."""
    try:
        data = body.encode("utf-8", errors="replace") if isinstance(body, str) else bytes(body or b"")
        return _locations(str(content_type or ""), data, str(geolocation or ""))
    except Exception as exc:  # the edge must never lose a call to a bug here: say so, as a location
        return [_invalid(f"the location could not be read ({type(exc).__name__})")]


def locations_from_invite(msg: SipMessage) -> list[LocationIn]:
    return locations_from_parts(msg.headers.get("content-type"), msg.body,
                                ", ".join(msg.headers.get_all("geolocation")))


def _invalid(reason: str, **detail: Any) -> LocationIn:
    return LocationIn(source="pidf_lo", valid=False, invalid_reason=printable(reason[:300]), detail=detail)


def _locations(content_type: str, body: bytes, geolocation: str) -> list[LocationIn]:
    media, params = parse_content_type(content_type)
    parts: list[BodyPart] = []
    body_error = ""
    if len(body) > MAX_BODY_BYTES:
        body_error = f"body of {len(body)} bytes is over the {MAX_BODY_BYTES}-byte limit"
    elif media.startswith("multipart/") and body:
        if b"\r" not in body:  # a body passed on with bare LF line endings
            body = body.replace(b"\n", b"\r\n")
        try:
            parts = split_multipart(body, params.get("boundary", ""))
        except ValueError as exc:
            body_error = str(exc)
    elif body:
        parts = [BodyPart(content_type=media, headers=SipHeaders([("content-type", media)]), body=body)]
    out: list[LocationIn] = []
    used: set[int] = set()
    for value in split_commas(geolocation[:4000])[:MAX_GEOLOCATION_VALUES]:
        uri = value.strip()
        if uri.startswith("<"):
            uri = uri[1:uri.find(">")] if ">" in uri else uri[1:]
        malformed = any(c in _URI_FORBIDDEN for c in uri.strip())
        uri, value = printable(uri.strip()), printable(value)
        scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
        if scheme == "cid":
            cid = uri[4:].strip()
            index = next((i for i, p in enumerate(parts) if p.content_id and p.content_id == cid), None)
            if index in used:
                continue
            if index is None:
                reason = (f"Geolocation names cid:{cid[:80]} but the body could not be split: {body_error}"
                          if body_error else f"Geolocation names cid:{cid[:80]} but the body has no such part")
                out.append(_invalid(reason, geolocation=value[:200]))
                continue
            used.add(index)
            out.extend(_from_part(parts[index]))
        elif scheme in REFERENCE_SCHEMES and len(uri) > len(scheme) + 1 and not malformed:
            if len(uri) > 500:
                out.append(LocationIn(source="pidf_lo", shape="reference", valid=False, reference_uri=uri[:500],
                                      invalid_reason="location reference longer than 500 characters (cut)"))
            else:
                out.append(LocationIn(source="pidf_lo", shape="reference", reference_uri=uri,
                                      detail={"scheme": scheme}))
        else:
            out.append(LocationIn(source="pidf_lo", shape="reference", valid=False, reference_uri=uri[:500],
                                  invalid_reason="Geolocation value is not a location URI (cid:, http(s):, "
                                                 f"sip(s): or pres:): {value[:80]!r}"))
    for i, part in enumerate(parts):
        if i not in used and part.content_type in PIDF_TYPES:
            out.extend(_from_part(part))
    if body_error and not out and (geolocation.strip() or "pidf" in body[:4000].lower().decode("ascii", "ignore")):
        out.append(_invalid(f"the body could not be read: {body_error}"))
    return out[:MAX_LOCATIONS]


def _from_part(part: BodyPart) -> list[LocationIn]:
    extra = {"content_id": part.content_id} if part.content_id else {}
    looks_like_pidf = b"presence" in part.body[:400].lower()
    if part.content_type not in PIDF_TYPES and not looks_like_pidf:
        return [_invalid(f"the Geolocation part is {part.content_type or 'untyped'}, not application/pidf+xml",
                         **extra)]
    try:
        found = parse_pidf_lo(part.body)
    except LocationError as exc:
        return [_invalid(f"garbled PIDF-LO: {exc.reason}", **extra)]
    if not found:
        return [_invalid("PIDF-LO without any location", **extra)]
    if extra:
        found = [loc.model_copy(update={"detail": {**loc.detail, **extra}}) for loc in found]
    return found
