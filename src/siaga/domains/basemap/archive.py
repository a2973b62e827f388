"""Where the street basemap archive lives and what it says about itself. One file,
`SIAGA_DATA_DIR/basemap.pmtiles` (var/data by default), written whole beside its final name and renamed into
place (`install`), so a console reading it by ranges sees the old archive or the new one, never half of one.
Each host serving consoles needs the file (copy it, or point SIAGA_DATA_DIR at shared storage)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ARCHIVE_NAME = "basemap.pmtiles"


def archive_path(data_dir: Path) -> Path:
    return data_dir / ARCHIVE_NAME


def staging_path(data_dir: Path) -> Path:
    """Where an import writes the new archive, on the same file system as the archive (rename is atomic)."""
    return data_dir / f".{ARCHIVE_NAME}.{os.getpid()}.new"


def install(staged: Path, data_dir: Path) -> Path:
    """Move a written archive into place: flushed to disk first, then renamed over the old one."""
    target = archive_path(data_dir)
    with staged.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(staged, target)
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return target


@dataclass(frozen=True)
class ArchiveInfo:
    path: Path
    size: int
    mtime_ns: int
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    attribution: str
    source: str
    imported_at: str

    @property
    def etag(self) -> str:
        return etag_for(self.size, self.mtime_ns)


def etag_for(size: int, mtime_ns: int) -> str:
    """A strong validator of one archive file: a new import (a new file, renamed into place) has another."""
    return f'"{size:x}-{mtime_ns:x}"'


_cache: dict[Path, tuple[tuple[int, int, int], ArchiveInfo | None]] = {}


def archive_info(path: Path) -> ArchiveInfo | None:
    """The archive's header and metadata when `path` holds a readable PMTiles v3 archive, else None. Read
    again only when the file changed (inode, size or time), so a page render costs one stat()."""
    try:
        st = path.stat()
    except OSError:
        return None
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _cache.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    info = _read(path, st)
    _cache[path] = (key, info)
    return info


def _read(path: Path, st: os.stat_result) -> ArchiveInfo | None:
    import gzip

    from pmtiles.tile import Compression, deserialize_header

    try:
        with path.open("rb") as f:
            head = f.read(127)
            if len(head) < 127 or head[:7] != b"PMTiles" or head[7] != 3:
                return None
            header = deserialize_header(head)
            f.seek(header["metadata_offset"])
            raw = f.read(header["metadata_length"])
        meta = json.loads(gzip.decompress(raw) if header["internal_compression"] == Compression.GZIP else raw)
    except (OSError, ValueError, EOFError, KeyError):
        return None
    siaga = meta.get("siaga") or {}
    return ArchiveInfo(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, min_zoom=header["min_zoom"],
                       max_zoom=header["max_zoom"],
                       bounds=(header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7, header["max_lon_e7"] / 1e7,
                               header["max_lat_e7"] / 1e7),
                       attribution=str(meta.get("attribution") or ""), source=str(siaga.get("source") or ""),
                       imported_at=str(siaga.get("imported_at") or ""))
