"""Vector tiles of the street basemap: tilemaker 2.2 (Debian's `tilemaker` package) turns the clipped extract
into MBTiles with the layers of `tilemaker/config.json` and `tilemaker/process.lua` (project files); then
`to_pmtiles` writes the one PMTiles archive the server hands out by HTTP range requests. tilemaker is a
program, not a library: when it is missing, `TilemakerMissing` says how to install it."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from siaga.domains.basemap.pois import lua_rules

Progress = Callable[[str, int, int | None], None]
Bbox = tuple[float, float, float, float]
HERE = Path(__file__).parent / "tilemaker"
ATTRIBUTION = "© OpenStreetMap contributors"
LICENSE = "ODbL-1.0"
_WRITING = re.compile(r"writing tile (\d+) of (\d+)")
_BLOCK = re.compile(r"Block (\d+)/(\d+)")


class TileBuildError(Exception):
    """tilemaker failed, or wrote no tile; the message holds the end of its output."""


class TilemakerMissing(TileBuildError):
    """tilemaker is not installed. The message says how to install it, in Indonesian then English."""

    def __init__(self) -> None:
        super().__init__(
            "Program tilemaker belum terpasang; peta jalan dibuat dengannya. Pasang sebagai root: "
            "`sudo apt-get install tilemaker` (Debian 12 atau lebih baru, Ubuntu 24.04), lalu ulangi perintah "
            "ini. Tidak ada yang diubah.\n"
            "tilemaker is not installed; the street map is built with it. Install it as root: "
            "`sudo apt-get install tilemaker` (Debian 12 or later, Ubuntu 24.04), then run this command "
            "again. Nothing was changed.")


def tilemaker() -> str:
    """The tilemaker program, or TilemakerMissing."""
    exe = shutil.which("tilemaker")
    if exe is None:
        raise TilemakerMissing()
    return exe


def tilemaker_version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].replace("tilemaker", "").strip() if first else "unknown"


def write_config(workdir: Path, bbox: Bbox) -> tuple[Path, Path]:
    """config.json with the bbox to write tiles for, and process.lua with the patokan rules, in `workdir`."""
    config = json.loads((HERE / "config.json").read_text(encoding="utf-8"))
    config["settings"]["bounding_box"] = [round(v, 7) for v in bbox]
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    lua = (HERE / "process.lua").read_text(encoding="utf-8")
    if "-- @POI_RULES@" not in lua:
        raise TileBuildError("tilemaker/process.lua lost its `-- @POI_RULES@` line")
    lua_path = workdir / "process.lua"
    lua_path.write_text(lua.replace("-- @POI_RULES@", lua_rules()), encoding="utf-8")
    return config_path, lua_path


def build_mbtiles(extract: Path, out: Path, bbox: Bbox, workdir: Path, progress: Progress | None = None) -> None:
    """Run tilemaker on `extract` (reference-complete: extract.clip_extract) for `bbox`, writing `out`."""
    exe = tilemaker()
    config, lua = write_config(workdir, bbox)
    args = [exe, "--input", str(extract), "--output", str(out), "--config", str(config), "--process", str(lua),
            "--bbox", ",".join(f"{v:.7f}" for v in bbox)]
    tail: list[str] = []
    blocks = 0
    proc = subprocess.Popen(args, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    buffer = b""
    while chunk := proc.stdout.read1(4096):  # tilemaker rewrites its progress line with \r
        buffer += chunk
        *lines, buffer = re.split(rb"[\r\n]", buffer)
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            tail = (tail + [line])[-12:]
            if progress and (m := _WRITING.search(line)):
                progress("tiles", int(m.group(1)), int(m.group(2)))
            elif progress and _BLOCK.search(line):
                blocks += 1
                progress("tiles_read", blocks, None)
    code = proc.wait()
    if code != 0:
        raise TileBuildError(f"tilemaker stopped with exit code {code}: " + " | ".join(tail[-6:]))
    if not out.exists():
        raise TileBuildError("tilemaker wrote no tiles: " + " | ".join(tail[-6:]))


def to_pmtiles(mbtiles: Path, out: Path, metadata: dict[str, object], progress: Progress | None = None) -> int:
    """Copy the tiles of `mbtiles` into one PMTiles archive `out` (tiles stay gzip-compressed, as tilemaker
    wrote them), with `metadata` added to the archive's own; returns the number of tiles."""
    from pmtiles.convert import mbtiles_to_header_json
    from pmtiles.tile import zxy_to_tileid
    from pmtiles.writer import write

    conn = sqlite3.connect(f"file:{mbtiles}?mode=ro", uri=True)
    try:
        meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
        rows = conn.execute("SELECT zoom_level, tile_column, tile_row FROM tiles").fetchall()
        if not rows:
            raise TileBuildError("tilemaker wrote an empty tile set (nothing inside the bbox?)")
        ids = sorted((zxy_to_tileid(z, x, (1 << z) - 1 - y), z, x, y) for z, x, y in rows)
        with write(str(out)) as writer:
            for i, (tile_id, z, x, y) in enumerate(ids):
                (data,) = conn.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                                       "AND tile_row = ?", (z, x, y)).fetchone()
                writer.write_tile(tile_id, data)
                if progress and (i % 500 == 0 or i == len(ids) - 1):
                    progress("archive", i + 1, len(ids))
            header, _ = mbtiles_to_header_json(meta)
            if meta.get("format") == "pbf":
                vector_layers = json.loads(meta.get("json") or "{}").get("vector_layers", [])
            else:
                vector_layers = []
            writer.finalize(header, {"name": meta.get("name", ""), "description": meta.get("description", ""),
                                     "attribution": ATTRIBUTION, "license": LICENSE,
                                     "vector_layers": vector_layers, **metadata})
        return len(ids)
    finally:
        conn.close()
