"""PIDF-LO by value (RFC 4119, shapes of RFC 5491, civic addresses of RFC 5139 / 6848) → `LocationIn`s.

One location per shape or civic address found in any `location-info` of any `geopriv` of any tuple, device or
person. What a network sends is read leniently (elements are matched by their local name, so a tuple in the
wrong namespace or a Circle in the GML namespace still counts) but never guessed: a shape whose numbers are
missing, not numbers, out of range or in another coordinate system comes back `valid=False` with the reason,
next to the good ones. Only a document that is not PIDF at all (not XML, not a <presence>, too big, or
carrying a DTD — entity tricks such as "billion laughs" are refused before any expansion) raises
`LocationError`.

Positions: `gml:pos` is "latitude longitude [altitude]" (EPSG 4326 / 4979). A shape becomes one point and an
accuracy radius: circle/sphere → its centre and radius; ellipse/ellipsoid → centre and semi-major axis; arc
band → the middle of the band (halfway between the radii, on the bisecting bearing: the caller is in the
band, not at the antenna) and the greatest distance from there to the band's edge; polygon/prism → area
centroid and the greatest distance to a corner. The shape's own parameters are kept in `detail`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from pydantic import ValidationError

from siaga.core import geo
from siaga.domains.calls.schemas import LocationIn
from siaga.domains.location.errors import LocationError

MAX_PIDF_BYTES = 64 * 1024  # real documents are 1–5 kB; an INVITE's whole body is bounded by sip.py
MAX_ELEMENTS = 4000
MAX_LOCATIONS = 32
MAX_VERTICES = 256
MAX_TEXT = 200  # one civic field, a method, an id
MAX_ACCURACY_M = 1_000_000.0

NS_CIVIC = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
NS_CIVIC_EXT = NS_CIVIC + ":ext"

# RFC 5139 civic address elements (and the RFC 6848 extension ones), in reading order for address_text.
CIVIC_FIELDS = ("country", "A1", "A2", "A3", "A4", "A5", "A6", "PRM", "PRD", "RD", "STS", "POD", "POM", "RDSEC",
                "RDBR", "RDSUBBR", "HNO", "HNS", "LMK", "LOC", "FLR", "NAM", "PC", "BLD", "UNIT", "ROOM", "SEAT",
                "PLC", "PCN", "POBOX", "ADDCODE")
CIVIC_EXT_FIELDS = ("PN", "MP", "STP", "HNP", "LMKP")

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_DMS = re.compile(r"([0-9]{1,3}):([0-9]{1,2})(?::([0-9]{1,2}(?:\.[0-9]{1,6})?))?([NSEWnsew])")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,12})?"
                   r"([Zz]|[+-][0-9]{2}:[0-9]{2})?")
_SRS = re.compile(r"(?:EPSG|epsg)[:/#.a-z]*(?:[0-9.]*[:/#])?([0-9]{4,5})$")

SHAPE_NAMES = {"Point": "point", "Circle": "circle", "Sphere": "circle", "Ellipse": "ellipse",
               "Ellipsoid": "ellipse", "ArcBand": "arc_band", "Polygon": "polygon", "Prism": "polygon"}


class _Bad(Exception):
    """One shape cannot be used; the reason becomes its invalid_reason."""


def parse_pidf_lo(data: bytes | str) -> list[LocationIn]:
    """Every location in a PIDF-LO document, good ones valid and bad ones `valid=False` with the reason.
    Raises `LocationError` only when the document cannot be read as PIDF at all."""
    root = _parse_xml(data)
    if _local(root.tag) != "presence":
        raise LocationError(f"not a PIDF document: the root element is <{_short(_local(root.tag), 40)}>, "
                            "not <presence>")
    entity = _clip(root.get("entity", ""), MAX_TEXT)
    out: list[LocationIn] = []
    for owner in list(root):
        kind = _local(owner.tag)
        if kind not in ("tuple", "device", "person", "geopriv"):
            continue
        found_at = _timestamp(owner)
        for gp in _descendants(owner, "geopriv"):
            out.extend(_from_geopriv(gp, kind, owner.get("id", ""), entity, found_at))
            if len(out) >= MAX_LOCATIONS:
                return out[:MAX_LOCATIONS]
    return out


# ---------------------------------------------------------------------------------------------- reading XML


def _parse_xml(data: bytes | str) -> Element:
    if isinstance(data, str):
        size = len(data.encode("utf-8", errors="replace"))
        text: bytes | str = data.lstrip("\ufeff \t\r\n")
    else:
        size = len(data)
        text = bytes(data).lstrip(b" \t\r\n")
        if text.startswith(b"\xef\xbb\xbf"):
            text = text[3:].lstrip(b" \t\r\n")
    if size > MAX_PIDF_BYTES:
        raise LocationError(f"PIDF-LO document of {size} bytes is over the {MAX_PIDF_BYTES}-byte limit")
    if not text:
        raise LocationError("empty PIDF-LO document")
    try:
        root = SafeET.fromstring(text, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise LocationError(f"PIDF-LO refused: {type(exc).__name__} (DTDs and entities are not accepted)") from None
    except ParseError as exc:
        raise LocationError(f"PIDF-LO is not well-formed XML: {exc}") from None
    except (ValueError, LookupError) as exc:  # e.g. an unknown encoding in the XML declaration
        raise LocationError(f"PIDF-LO cannot be read: {_short(str(exc), 120)}") from None
    count = 0
    for _ in root.iter():
        count += 1
        if count > MAX_ELEMENTS:
            raise LocationError(f"PIDF-LO has more than {MAX_ELEMENTS} elements")
    return root


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag.split(":")[-1]


def _ns(tag: object) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _descendants(el: Element, local: str) -> Iterator[Element]:
    for node in el.iter():
        if _local(node.tag) == local:
            yield node


def _children(el: Element, local: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == local]


def _child(el: Element, local: str) -> Element | None:
    found = _children(el, local)
    return found[0] if found else None


def _text(el: Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _short(value: str, limit: int) -> str:
    return _clip(" ".join(value.split()), limit)


# ---------------------------------------------------------------------------------------------- one geopriv


def _timestamp(owner: Element) -> tuple[datetime | None, str]:
    raw = _text(_child(owner, "timestamp"))
    return parse_timestamp(raw), raw


def parse_timestamp(raw: str) -> datetime | None:
    """An RFC 3339 time with its offset, as UTC; None for anything else (a time without an offset is not
    guessed: it is kept as sent in `detail`)."""
    raw = raw.strip()
    if not raw or len(raw) > 40 or _TIME.fullmatch(raw) is None:
        return None
    m = _TIME.fullmatch(raw)
    assert m is not None
    if m.group(2) is None:
        return None
    fraction = m.group(1) or ""
    text = raw.replace(fraction, fraction[:7]) if len(fraction) > 7 else raw
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    return value.astimezone(UTC)


def _from_geopriv(gp: Element, kind: str, owner_id: str, entity: str,
                  found_at: tuple[datetime | None, str]) -> list[LocationIn]:
    located_at, raw_time = found_at
    base: dict[str, Any] = {"element": kind}
    if owner_id:
        base["id"] = _clip(owner_id, MAX_TEXT)
    if entity:
        base["entity"] = entity
    method = _text(_child(gp, "method"))
    if method:
        base["method"] = _clip(method, MAX_TEXT)
    rules = _child(gp, "usage-rules")
    retransmission = _text(_child(rules, "retransmission-allowed")) if rules is not None else ""
    if retransmission:
        base["retransmission_allowed"] = retransmission.lower() in ("yes", "true", "1")
    if raw_time and located_at is None:
        base["timestamp_sent"] = _clip(raw_time, 60)
        base["timestamp_note"] = "not an RFC 3339 time with an offset; ignored"
    infos = _children(gp, "location-info")
    if not infos:
        return [_invalid("geopriv has no location-info", base)]
    out: list[LocationIn] = []
    for info in infos:
        out.extend(_from_location_info(info, base, located_at))
    return out


def _from_location_info(info: Element, base: dict[str, Any], located_at: datetime | None) -> list[LocationIn]:
    extra: dict[str, Any] = {}
    shapes: list[Element] = []
    others: list[str] = []
    for el in info:
        name = _local(el.tag)
        if name == "location":  # RFC 4119's original <gml:location><gml:Point>… wrapper
            shapes.extend(c for c in el if _local(c.tag) in SHAPE_NAMES)
        elif name in SHAPE_NAMES or name == "civicAddress":
            shapes.append(el)
        elif name == "confidence":
            value = _number_or_none(_text(el))
            if value is not None and 0 <= value <= 100:
                extra["confidence"] = value
                if el.get("pdf"):
                    extra["confidence_pdf"] = _clip(el.get("pdf", ""), 20)
        elif name == "Dynamic":
            dynamic = {_local(c.tag): _clip(_text(c), 40) for c in el if _text(c)}
            if dynamic:
                extra["dynamic"] = dict(list(dynamic.items())[:6])
            others.append(name)
        elif name:
            others.append(name)
    if not shapes:
        what = f" (found: {', '.join(sorted(set(others))[:5])})" if others else ""
        return [_invalid("location-info carries no position or civic address" + what, {**base, **extra})]
    out = []
    for el in shapes[:MAX_LOCATIONS]:
        detail = {**base, **extra}
        name = _local(el.tag)
        try:
            if name == "civicAddress":
                out.append(_civic(el, detail, located_at))
            else:
                out.append(_geodetic(el, detail, located_at))
        except _Bad as bad:
            detail["shape_sent"] = name
            out.append(_invalid(str(bad), detail, shape=SHAPE_NAMES.get(name, "civic")))
    return out


def _invalid(reason: str, detail: dict[str, Any], shape: str = "") -> LocationIn:
    return LocationIn(source="pidf_lo", valid=False, invalid_reason=_short(reason, 300),
                      shape=shape, detail=detail)  # type: ignore[arg-type]


def _make(**fields: Any) -> LocationIn:
    try:
        return LocationIn(source="pidf_lo", **fields)
    except ValidationError as exc:  # a value the schema refuses: keep the location, say why
        first = exc.errors()[0]
        raise _Bad(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


# ---------------------------------------------------------------------------------------------- numbers


def _number_or_none(text: str) -> float | None:
    text = text.strip()
    if not text or len(text) > 40 or _NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _number(text: str, what: str) -> float:
    value = _number_or_none(text)
    if value is None:
        raise _Bad(f"{what} is not a number: {_short(text, 40)!r}" if text.strip() else f"{what} is missing")
    return value


def _check_lat_lon(lat: float, lon: float) -> None:
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise _Bad(f"coordinates out of range: latitude {lat:g}, longitude {lon:g} "
                   "(gml:pos is 'latitude longitude')")


def _position(text: str, dims: int | None = None) -> tuple[float, float, float | None]:
    parts = text.split()
    if len(parts) not in (2, 3) or (dims is not None and len(parts) != dims):
        raise _Bad(f"gml:pos must be 'latitude longitude [altitude]', got {_short(text, 60)!r}")
    nums = [_number_or_none(p) for p in parts]
    if any(n is None for n in nums):
        raise _Bad(f"gml:pos {_short(text, 60)!r} is not 'latitude longitude [altitude]' as numbers")
    _check_lat_lon(nums[0], nums[1])  # type: ignore[arg-type]
    return nums[0], nums[1], nums[2] if len(nums) == 3 else None  # type: ignore[return-value]


def _dms(token: str) -> float:
    """'37:46:30N' (RFC 4119's original example) or a decimal degree."""
    m = _DMS.fullmatch(token)
    if m is None:
        return _number(token, "a coordinate")
    deg, minutes, seconds = float(m.group(1)), float(m.group(2)), float(m.group(3) or 0)
    if minutes >= 60 or seconds >= 60:
        raise _Bad(f"not degrees:minutes:seconds: {token!r}")
    value = deg + minutes / 60 + seconds / 3600
    return -value if m.group(4).upper() in "SW" else value


def _length_m(el: Element | None, what: str) -> float:
    if el is None:
        raise _Bad(f"{what} is missing")
    uom = el.get("uom", "")
    value = _number(_text(el), what)
    if uom and not uom.endswith("9001"):
        raise _Bad(f"{what} in unit {_short(uom, 60)!r}; only metres (EPSG::9001) are read")
    if value < 0:
        raise _Bad(f"{what} is negative ({value:g})")
    return value


def _angle_deg(el: Element | None, what: str) -> float:
    if el is None:
        raise _Bad(f"{what} is missing")
    uom = el.get("uom", "")
    value = _number(_text(el), what)
    if uom.endswith("9101"):  # radians
        value = math.degrees(value)
    elif uom and not uom.endswith("9102"):
        raise _Bad(f"{what} in unit {_short(uom, 60)!r}; only degrees (EPSG::9102) or radians are read")
    return value


def _srs(el: Element, inherited: str = "") -> str:
    name = (el.get("srsName", "") or inherited).strip()
    if not name:
        return ""
    m = _SRS.search(name) if len(name) <= 100 else None
    code = m.group(1) if m else ""
    if code not in ("4326", "4979"):
        raise _Bad(f"coordinate system {_short(name, 80)!r} is not WGS 84 (EPSG 4326 or 4979)")
    return "EPSG::" + code


def _only(el: Element, local: str, what: str) -> Element | None:
    found = _children(el, local)
    if len(found) > 1 and len({_text(f) for f in found}) > 1:
        raise _Bad(f"{what} given {len(found)} times with different values")
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------- shapes


def _geodetic(el: Element, detail: dict[str, Any], located_at: datetime | None) -> LocationIn:
    name = _local(el.tag)
    shape = SHAPE_NAMES[name]
    detail["shape_sent"] = name
    srs = _srs(el)
    detail["srs"] = srs or "EPSG::4326 (assumed: no srsName)"
    if shape == "polygon":
        return _polygon(el, detail, located_at, srs)
    lat, lon, alt = _centre(el)
    if alt is not None:
        detail["altitude_m"] = alt
    accuracy: float | None = None
    if name in ("Circle", "Sphere"):
        accuracy = _length_m(_only(el, "radius", "radius"), "radius")
        detail["radius_m"] = accuracy
    elif name in ("Ellipse", "Ellipsoid"):
        major = _length_m(_only(el, "semiMajorAxis", "semiMajorAxis"), "semiMajorAxis")
        minor = _length_m(_only(el, "semiMinorAxis", "semiMinorAxis"), "semiMinorAxis")
        orientation = _angle_deg(_only(el, "orientation", "orientation"), "orientation")
        accuracy = max(major, minor)
        detail.update(semi_major_m=major, semi_minor_m=minor, orientation_deg=orientation)
        if name == "Ellipsoid":
            detail["vertical_axis_m"] = _length_m(_only(el, "verticalAxis", "verticalAxis"), "verticalAxis")
    elif name == "ArcBand":
        return _arc_band(el, detail, located_at, lat, lon)
    if accuracy is not None and accuracy > MAX_ACCURACY_M:
        raise _Bad(f"uncertainty of {accuracy:g} m is over {MAX_ACCURACY_M:g} m: not a usable location")
    return _make(lat=lat, lon=lon, accuracy_m=accuracy, shape=shape, detail=detail, located_at=located_at)


def _centre(el: Element) -> tuple[float, float, float | None]:
    pos = _only(el, "pos", "gml:pos")
    if pos is not None:
        return _position(_text(pos))
    coords = _only(el, "coordinates", "gml:coordinates")
    if coords is not None:
        tokens = _text(coords).replace(",", " ").split()
        if len(tokens) not in (2, 3):
            raise _Bad(f"gml:coordinates must be 'latitude longitude', got {_short(_text(coords), 60)!r}")
        lat, lon = _dms(tokens[0]), _dms(tokens[1])
        _check_lat_lon(lat, lon)
        return lat, lon, _number(tokens[2], "altitude") if len(tokens) == 3 else None
    raise _Bad(f"{_local(el.tag)} has no gml:pos")


def _arc_band(el: Element, detail: dict[str, Any], located_at: datetime | None, lat: float,
              lon: float) -> LocationIn:
    inner = _length_m(_only(el, "innerRadius", "innerRadius"), "innerRadius")
    outer = _length_m(_only(el, "outerRadius", "outerRadius"), "outerRadius")
    start = _angle_deg(_only(el, "startAngle", "startAngle"), "startAngle")
    opening = _angle_deg(_only(el, "openingAngle", "openingAngle"), "openingAngle")
    if outer < inner:
        raise _Bad(f"outerRadius {outer:g} m is smaller than innerRadius {inner:g} m")
    if outer > MAX_ACCURACY_M:
        raise _Bad(f"outerRadius of {outer:g} m is over {MAX_ACCURACY_M:g} m: not a usable location")
    if not 0 < opening <= 360:
        raise _Bad(f"openingAngle {opening:g}° is not in (0, 360]")
    detail.update(centre_lat=lat, centre_lon=lon, inner_radius_m=inner, outer_radius_m=outer,
                  start_angle_deg=start, opening_angle_deg=opening)
    mid_lat, mid_lon = geo.destination(lat, lon, start + opening / 2, (inner + outer) / 2)
    steps = max(2, math.ceil(opening / 5))
    edge = [geo.destination(lat, lon, start + opening * i / steps, r) for i in range(steps + 1) for r in (inner, outer)]
    accuracy = max(geo.distance_m(mid_lat, mid_lon, a, b) for a, b in edge)
    return _make(lat=round(mid_lat, 7), lon=round(mid_lon, 7), accuracy_m=round(accuracy, 1), shape="arc_band",
                 detail=detail, located_at=located_at)


def _polygon(el: Element, detail: dict[str, Any], located_at: datetime | None, srs: str) -> LocationIn:
    polygon = el
    if _local(el.tag) == "Prism":
        base = _child(el, "base")
        polygon = _child(base, "Polygon") if base is not None else None  # type: ignore[assignment]
        if polygon is None:
            raise _Bad("Prism has no base Polygon")
        detail["height_m"] = _length_m(_only(el, "height", "height"), "height")
        srs = _srs(polygon, srs)
    ring = None
    exterior = _child(polygon, "exterior")
    if exterior is not None:
        ring = _child(exterior, "LinearRing")
    if ring is None:
        raise _Bad("Polygon has no gml:exterior/gml:LinearRing")
    dims = 3 if srs == "EPSG::4979" else None
    vertices: list[tuple[float, float]] = []
    pos_list = _child(ring, "posList")
    if pos_list is not None:
        numbers = _text(pos_list).split()
        declared = pos_list.get("srsDimension", "")
        if declared not in ("", "2", "3"):
            raise _Bad(f"gml:posList srsDimension {_short(declared, 20)!r} is not 2 or 3")
        step = int(declared) if declared else (dims or 2)
        if len(numbers) % step:
            raise _Bad(f"gml:posList has {len(numbers)} numbers, not a whole number of positions")
        if len(numbers) // step > MAX_VERTICES:
            raise _Bad(f"polygon with more than {MAX_VERTICES} corners")
        for i in range(0, len(numbers), step):
            lat, lon, _ = _position(" ".join(numbers[i:i + step]))
            vertices.append((lat, lon))
    else:
        positions = _children(ring, "pos")
        if len(positions) > MAX_VERTICES:
            raise _Bad(f"polygon with more than {MAX_VERTICES} corners")
        for p in positions:
            lat, lon, _ = _position(_text(p), dims)
            vertices.append((lat, lon))
    distinct = list(dict.fromkeys(vertices))
    if len(distinct) < 3:
        raise _Bad(f"polygon needs at least 3 distinct corners, got {len(distinct)}")
    lat, lon = geo.polygon_centroid(vertices)
    accuracy = max(geo.distance_m(lat, lon, a, b) for a, b in distinct)
    if accuracy > MAX_ACCURACY_M:
        raise _Bad(f"polygon over {MAX_ACCURACY_M / 1000:g} km across: not a usable location")
    detail["vertices"] = [[a, b] for a, b in (vertices if vertices[0] == vertices[-1] else vertices + vertices[:1])]
    return _make(lat=round(lat, 7), lon=round(lon, 7), accuracy_m=round(accuracy, 1), shape="polygon",
                 detail=detail, located_at=located_at)


# ---------------------------------------------------------------------------------------------- civic


def _civic(el: Element, detail: dict[str, Any], located_at: datetime | None) -> LocationIn:
    detail["shape_sent"] = "civicAddress"
    lang = el.get("{http://www.w3.org/XML/1998/namespace}lang", "")
    if lang:
        detail["lang"] = _clip(lang, 20)
    fields: dict[str, str] = {}
    extensions: dict[str, str] = {}
    for child in el:
        name, ns, value = _local(child.tag), _ns(child.tag), _clip(" ".join(_text(child).split()), MAX_TEXT)
        if not name or not value:
            continue
        if (name in CIVIC_FIELDS and ns in (NS_CIVIC, "")) or (name in CIVIC_EXT_FIELDS and ns == NS_CIVIC_EXT):
            fields.setdefault(name, value)
        elif len(extensions) < 20:
            extensions.setdefault(name, value)
    if not fields and not extensions:
        raise _Bad("civic address with no fields")
    detail["civic"] = fields
    if extensions:
        detail["civic_extensions"] = extensions
    return _make(shape="civic", address_text=civic_text(fields, extensions), detail=detail, located_at=located_at)


def civic_text(fields: dict[str, str], extensions: dict[str, str] | None = None) -> str:
    """A readable one-line address from RFC 5139 fields, most specific first:
    'Hospital, Fockygasse 51A, floor 5, Meidling, Wien, 1120, AT'."""
    f = fields
    street = " ".join(v for v in (f.get("PRM"), f.get("PRD"), f.get("RD") or f.get("A6"), f.get("STS"),
                                  f.get("POD"), f.get("POM"), f.get("STP")) if v)
    number = "".join(v for v in (f.get("HNP"), f.get("HNO"), f.get("HNS")) if v)
    line = " ".join(v for v in (street, number) if v)
    if f.get("RDSEC") or f.get("RDBR"):
        line = ", ".join(v for v in (line, f.get("RDSEC"), f.get("RDBR"), f.get("RDSUBBR")) if v)
    parts = [f.get("NAM"), line, f.get("BLD"), _labelled("unit", f.get("UNIT")), _labelled("floor", f.get("FLR")),
             _labelled("room", f.get("ROOM")), _labelled("seat", f.get("SEAT")), f.get("LOC"),
             _labelled("near", f.get("LMK")), _labelled("MP", f.get("MP")), _labelled("PN", f.get("PN")),
             f.get("A6") if f.get("RD") else None, f.get("A5"), f.get("A4"), f.get("A3"), f.get("A2"), f.get("A1"),
             f.get("PCN") if f.get("PCN") != f.get("A3") else None, f.get("PC"), _labelled("PO box", f.get("POBOX")),
             f.get("country")]
    parts += [f"{k} {v}" for k, v in (extensions or {}).items()]
    seen: list[str] = []
    for p in parts:
        if p and p not in seen:
            seen.append(p)
    return _clip(", ".join(seen), 1000)


def _labelled(label: str, value: str | None) -> str | None:
    return f"{label} {value}" if value else None
