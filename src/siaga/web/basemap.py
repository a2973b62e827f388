"""The street basemap archive (`siaga map import`) over HTTP with byte ranges, as RFC 9110 §13–14 has them:
the consoles' map (protomaps-leaflet reading PMTiles) asks for the header, then for each directory and tile by
`Range`. Served without a login, like the other console assets under /static: it is public OpenStreetMap data
and carries nothing of the centre's.

- `Accept-Ranges: bytes`, a strong `ETag` of the file (size and modification time: a new import renames a
  new file into place, so it gets a new one) and `Last-Modified`; `Cache-Control: no-cache`, so a browser
  revalidates (304) instead of keeping tiles of an archive that was replaced.
- One range → 206 with `Content-Range`; several → 206 `multipart/byteranges` (overlapping ones merged);
  a range running past the end is cut to the file; none that can be satisfied, a syntactically bad one or
  more than MAX_RANGES → 416 with `Content-Range: bytes */SIZE`. A unit other than bytes is ignored (200).
- `If-Match` that fails → 412 (the PMTiles client sends the ETag it started with: a replaced archive makes
  it start again instead of mixing offsets of two files); `If-None-Match` / `If-Modified-Since` → 304;
  `If-Range` that does not match → the whole file (200), as RFC 9110 says.
- Each request opens the file once and answers from that one open file, so a request that overlaps an
  import is served wholly from the old archive or wholly from the new one."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from siaga.core.errors import Problem
from siaga.db.engine import open_session
from siaga.domains.basemap.archive import archive_path, etag_for
from siaga.domains.regions.service import outlines as build_outlines
from siaga.domains.regions.service import outlines_token

ROUTE = "/map/basemap.pmtiles"
MEDIA_TYPE = "application/vnd.pmtiles"
MAX_RANGES = 16
IN_MEMORY = 2 * 1024 * 1024  # a body up to this is read in one go (every tile and directory); larger streams
CHUNK = 256 * 1024
_RANGE = re.compile(r"(\d{0,18})-(\d{0,18})")

router = APIRouter(include_in_schema=False)


class Unsatisfiable(Exception):
    """416: no satisfiable range, a malformed range set, or too many ranges."""


def parse_range(value: str, size: int) -> list[tuple[int, int]] | None:
    """The byte ranges of a Range header as [(first, last)] inclusive, sorted and merged; None when the
    header is to be ignored (a unit other than bytes); Unsatisfiable for a 416."""
    unit, sep, spec = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        if sep:
            return None  # RFC 9110 §14.2: a range unit the server does not understand is ignored
        raise Unsatisfiable()
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts or len(parts) > MAX_RANGES:
        raise Unsatisfiable()
    ranges = []
    for part in parts:
        m = _RANGE.fullmatch(part)
        if m is None or (not m.group(1) and not m.group(2)):
            raise Unsatisfiable()
        if m.group(1):
            first = int(m.group(1))
            last = int(m.group(2)) if m.group(2) else size - 1
            if last < first:
                raise Unsatisfiable()
            if first < size:
                ranges.append((first, min(last, size - 1)))
        else:
            length = int(m.group(2))
            if length > 0 and size > 0:
                ranges.append((max(0, size - length), size - 1))
    if not ranges:
        raise Unsatisfiable()
    ranges.sort()
    merged = [ranges[0]]
    for first, last in ranges[1:]:
        if first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _etags(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


def _strong_match(value: str, etag: str) -> bool:
    return any(t == "*" or (not t.startswith("W/") and t == etag) for t in _etags(value))


def _weak_match(value: str, etag: str) -> bool:
    return any(t == "*" or t.removeprefix("W/") == etag for t in _etags(value))


def _not_modified_since(value: str, mtime: float) -> bool:
    try:
        since = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return since is not None and int(mtime) <= since.timestamp()


def _read(fd: int, first: int, last: int) -> bytes:
    return os.pread(fd, last - first + 1, first)


def _stream(fd: int, parts: list[tuple[bytes, int, int]], tail: bytes) -> Iterator[bytes]:
    """The bodies of the ranges (with a part header before each when multipart), then `tail`; closes fd."""
    try:
        for head, first, last in parts:
            if head:
                yield head
            pos = first
            while pos <= last:
                chunk = os.pread(fd, min(CHUNK, last - pos + 1), pos)
                if not chunk:
                    return  # the file cannot shrink under an open descriptor of a renamed-over file; defensive
                yield chunk
                pos += len(chunk)
        if tail:
            yield tail
    finally:
        os.close(fd)


def archive_response(path: Path, request: Request) -> Response:
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, IsADirectoryError):
        raise Problem(404, "not_found") from None
    keep_open = False
    try:
        st = os.fstat(fd)
        size = st.st_size
        etag = etag_for(size, st.st_mtime_ns)
        headers = {"Accept-Ranges": "bytes", "ETag": etag, "Last-Modified": formatdate(st.st_mtime, usegmt=True),
                   "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        h = request.headers
        if "if-match" in h and not _strong_match(h["if-match"], etag):
            return Response(status_code=412, headers=headers)
        if "if-none-match" in h:
            if _weak_match(h["if-none-match"], etag):
                return Response(status_code=304, headers=headers)
        elif "if-modified-since" in h and _not_modified_since(h["if-modified-since"], st.st_mtime):
            return Response(status_code=304, headers=headers)
        ranges = None
        if "range" in h:
            if_range = h.get("if-range")
            honoured = if_range is None or (_strong_match(if_range, etag) if if_range.lstrip().startswith(('"', "W/"))
                                            else if_range.strip() == headers["Last-Modified"])
            if honoured:
                try:
                    ranges = parse_range(h["range"], size)
                except Unsatisfiable:
                    return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        head_only = request.method == "HEAD"
        if ranges is None:
            status, parts, tail, media = 200, [(b"", 0, size - 1)], b"", MEDIA_TYPE
            length = size
        elif len(ranges) == 1:
            first, last = ranges[0]
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
            status, parts, tail, media = 206, [(b"", first, last)], b"", MEDIA_TYPE
            length = last - first + 1
        else:
            boundary = secrets.token_hex(12)
            parts = [(f"\r\n--{boundary}\r\nContent-Type: {MEDIA_TYPE}\r\nContent-Range: bytes {first}-{last}/{size}"
                      "\r\n\r\n".encode(), first, last) for first, last in ranges]
            tail = f"\r\n--{boundary}--\r\n".encode()
            status, media = 206, f"multipart/byteranges; boundary={boundary}"
            length = sum(len(p) + last - first + 1 for p, first, last in parts) + len(tail)
        headers["Content-Length"] = str(length)
        if head_only or length == 0:
            return Response(status_code=status, headers=headers, media_type=media)
        if length <= IN_MEMORY:
            body = b"".join(p + _read(fd, first, last) for p, first, last in parts) + tail
            return Response(body, status_code=status, headers=headers, media_type=media)
        keep_open = True  # the stream closes it
        return StreamingResponse(_stream(fd, parts, tail), status_code=status, headers=headers, media_type=media)
    finally:
        if not keep_open:
            os.close(fd)


@router.api_route(ROUTE, methods=["GET", "HEAD"])
def basemap_archive(request: Request) -> Response:
    """The archive of `siaga map import`; 404 while none has been made (the map then keeps its built-in
    coastline basemap)."""
    return archive_response(archive_path(request.app.state.settings.data_dir), request)


OUTLINES_ROUTE = "/map/outlines.geojson"


@router.get(OUTLINES_ROUTE)
def outlines(request: Request) -> Response:
    """The built-in basemap of any site, from its official boundaries (regions.service.outlines): land,
    desa, kecamatan, the regency's own outline and its neighbours. Public like /static (official boundary
    data); revalidated by ETag, which changes with each boundary import."""
    with open_session(request.app.state.engine, write=False) as db:
        tag = f'"outlines-{outlines_token(db)}"'
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers={"ETag": tag, "Cache-Control": "no-cache"})
        body = json.dumps(build_outlines(db), ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/geo+json", headers={"ETag": tag, "Cache-Control": "no-cache"})
