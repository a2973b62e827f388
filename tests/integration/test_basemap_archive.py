"""GET /map/basemap.pmtiles: the street basemap archive by HTTP byte ranges (RFC 9110), as protomaps-leaflet reads
it, and what the consoles' pages tell the map (the regency to open on, the archive when there is one). The
range rules do not depend on what the file holds, so most tests serve a file of known random bytes; the
page test uses the archive's real header."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest

from siaga.domains.basemap.archive import ARCHIVE_NAME
from siaga.web.basemap import IN_MEMORY, MAX_RANGES, ROUTE

SIZE = 100_003


@pytest.fixture
def archive(app, settings, tmp_path):  # type: ignore[no-untyped-def]
    """A file of SIZE known bytes where the server looks for the archive (this test's SIAGA_DATA_DIR)."""
    data = random.Random(7).randbytes(SIZE)
    (tmp_path / ARCHIVE_NAME).write_bytes(data)
    app.state.settings = settings.model_copy(update={"data_dir": tmp_path})
    return data


def test_whole_file_without_range_says_ranges_are_accepted(api, archive):
    r = api().get(ROUTE)  # no login: public OpenStreetMap data, like /static
    assert r.status_code == 200 and r.content == archive
    assert r.headers["accept-ranges"] == "bytes" and r.headers["content-length"] == str(SIZE)
    assert r.headers["content-type"] == "application/vnd.pmtiles"
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', r.headers["etag"]) and r.headers["last-modified"]
    assert r.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-16383", 0, 16383),  # PMTiles reads its header and root directory first
    ("bytes=500-999", 500, 999),
    ("bytes=99000-", 99000, SIZE - 1),  # open-ended
    ("bytes=-100", SIZE - 100, SIZE - 1),  # the last 100 bytes
    ("bytes=99990-200000", 99990, SIZE - 1),  # past the end: cut to the file
    ("bytes=-999999", 0, SIZE - 1),  # a suffix longer than the file: all of it
    ("BYTES = 10-19", 10, 19),  # the unit is case-insensitive, spaces around tolerated
])
def test_one_range_is_206_with_exactly_those_bytes(api, archive, header, first, last):
    r = api().get(ROUTE, headers={"Range": header})
    assert r.status_code == 206, r.text
    assert r.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert r.content == archive[first:last + 1]
    assert r.headers["content-length"] == str(last - first + 1)


def test_several_ranges_come_as_multipart_byteranges_merged_where_they_overlap(api, archive):
    r = api().get(ROUTE, headers={"Range": "bytes=0-9, 5-19, 1000-1009, -5"})
    assert r.status_code == 206
    boundary = re.fullmatch(r"multipart/byteranges; boundary=(\w+)", r.headers["content-type"]).group(1)
    assert r.headers["content-length"] == str(len(r.content))
    parts = [p for p in r.content.split(f"--{boundary}".encode()) if p.strip(b"\r\n-")]
    got = []
    for part in parts:
        head, _, body = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        first, last = map(int, re.search(rb"Content-Range: bytes (\d+)-(\d+)/" + str(SIZE).encode(), head).groups())
        assert body.removesuffix(b"\r\n") == archive[first:last + 1]
        got.append((first, last))
    assert got == [(0, 19), (1000, 1009), (SIZE - 5, SIZE - 1)]


@pytest.mark.parametrize("header", [
    f"bytes={SIZE}-",  # starts at the end
    "bytes=200000-300000",  # wholly beyond
    "bytes=-0",  # an empty suffix
    "bytes=5-2",  # last before first
    "bytes=abc",  # not a range
    "bytes=1-2-3",
    "bytes=",  # nothing
    "bytes=" + ",".join(f"{i}-{i}" for i in range(MAX_RANGES + 1)),  # too many ranges
    "garbage",  # no unit at all
])
def test_bad_or_unsatisfiable_ranges_are_416_naming_the_size(api, archive, header):
    r = api().get(ROUTE, headers={"Range": header})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{SIZE}"
    assert r.content == b""


def test_a_range_unit_other_than_bytes_is_ignored(api, archive):
    r = api().get(ROUTE, headers={"Range": "items=0-5"})
    assert r.status_code == 200 and r.content == archive


def test_if_range_serves_the_range_only_for_the_same_file(api, archive):
    etag = api().head(ROUTE).headers["etag"]
    same = api().get(ROUTE, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == archive[:10]
    other = api().get(ROUTE, headers={"Range": "bytes=0-9", "If-Range": '"another-archive"'})
    assert other.status_code == 200 and other.content == archive  # the range belongs to another file
    weak = api().get(ROUTE, headers={"Range": "bytes=0-9", "If-Range": "W/" + etag})
    assert weak.status_code == 200  # If-Range compares strongly


def test_if_match_and_if_none_match(api, archive):
    etag = api().get(ROUTE, headers={"Range": "bytes=0-0"}).headers["etag"]
    assert api().get(ROUTE, headers={"Range": "bytes=0-9", "If-Match": etag}).status_code == 206
    assert api().get(ROUTE, headers={"Range": "bytes=0-9", "If-Match": '"old"'}).status_code == 412
    revalidated = api().get(ROUTE, headers={"If-None-Match": etag})
    assert revalidated.status_code == 304 and revalidated.content == b"" and revalidated.headers["etag"] == etag
    assert api().get(ROUTE, headers={"If-None-Match": '"old"'}).status_code == 200
    last_modified = revalidated.headers["last-modified"]
    assert api().get(ROUTE, headers={"If-Modified-Since": last_modified}).status_code == 304


def test_head_gives_the_headers_without_the_body(api, archive):
    r = api().head(ROUTE, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == b""
    assert r.headers["content-range"] == f"bytes 10-19/{SIZE}" and r.headers["content-length"] == "10"


def test_a_new_import_is_a_new_etag_and_a_client_holding_the_old_one_starts_again(api, archive, settings, app):
    """The PMTiles client sends If-Match with the ETag of the header it read: after the archive is replaced
    (renamed into place, as `siaga map import` does), it gets 412 and reads the new header, rather than
    fetching bytes at offsets of the old archive from the new one."""
    folder = app.state.settings.data_dir
    old = api().head(ROUTE).headers["etag"]
    staged = folder / ".new"
    staged.write_bytes(b"PMTiles" + bytes(500))
    os.replace(staged, folder / ARCHIVE_NAME)
    assert api().get(ROUTE, headers={"Range": "bytes=0-9", "If-Match": old}).status_code == 412
    fresh = api().get(ROUTE, headers={"Range": "bytes=0-6"})
    assert fresh.status_code == 206 and fresh.content == b"PMTiles" and fresh.headers["etag"] != old


def test_a_large_range_streams_whole(api, app, settings, tmp_path):
    data = random.Random(8).randbytes(IN_MEMORY * 2 + 12345)
    (tmp_path / ARCHIVE_NAME).write_bytes(data)
    app.state.settings = settings.model_copy(update={"data_dir": tmp_path})
    r = api().get(ROUTE, headers={"Range": "bytes=100-"})
    assert r.status_code == 206 and r.content == data[100:]
    assert api().get(ROUTE).content == data


def test_no_archive_is_404(api, app, settings, tmp_path):
    app.state.settings = settings.model_copy(update={"data_dir": tmp_path / "none"})
    assert api().get(ROUTE).status_code == 404
    assert api().get(ROUTE, headers={"Range": "bytes=0-10"}).status_code == 404


def write_pmtiles(path: Path, bounds: tuple[float, float, float, float]) -> None:
    """A small PMTiles v3 archive (one z14 tile) with the header and metadata `siaga map import` writes."""
    import gzip

    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import write

    with write(str(path)) as writer:
        writer.write_tile(zxy_to_tileid(14, 9327, 4742), gzip.compress(b"\x1a\x00"))
        e7 = [round(v * 1e7) for v in bounds]
        writer.finalize({"tile_type": TileType.MVT, "tile_compression": Compression.GZIP, "min_zoom": 5,
                         "max_zoom": 14, "min_lon_e7": e7[0], "min_lat_e7": e7[1], "max_lon_e7": e7[2],
                         "max_lat_e7": e7[3], "center_zoom": 12, "center_lon_e7": (e7[0] + e7[2]) // 2,
                         "center_lat_e7": (e7[1] + e7[3]) // 2},
                        {"attribution": "© OpenStreetMap contributors", "siaga": {"source": "test"}})


def reference(api_client, path: str = "/board") -> dict:  # type: ignore[no-untyped-def]
    import json

    page = api_client.get(path)
    assert page.status_code == 200
    raw = re.search(r'<script type="application/json" id="siaga-ref">(.*?)</script>', page.text, re.S).group(1)
    return json.loads(raw)


def test_the_map_opens_on_the_sites_regency_and_uses_the_archive_only_when_there_is_one(api, app, settings,
                                                                                          tmp_path):
    """Bengkalis's bbox from its official outline (not a hard-coded centre); no archive: no vector layer."""
    app.state.settings = settings.model_copy(update={"data_dir": tmp_path})
    ref = reference(api("disp"))
    (south, west), (north, east) = ref["map"]["bounds"]
    assert 0.9 < south < 0.95 and 100.95 < west < 101.0 and 2.1 < north < 2.15 and 102.45 < east < 102.55
    assert ref["map"]["vector"] is None
    # With an archive: its URL, zooms, bounds and the OpenStreetMap attribution, read from its header.
    write_pmtiles(tmp_path / ARCHIVE_NAME, (24.9352, 60.1642, 24.9534, 60.1791))
    vector = reference(api("disp"))["map"]["vector"]
    assert vector["url"] == ROUTE and vector["max_zoom"] == 14
    assert vector["attribution"] == "© OpenStreetMap contributors"
    (s, w), (n, e) = vector["bounds"]
    assert 60.16 < s < n < 60.18 and 24.93 < w < e < 24.96
