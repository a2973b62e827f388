"""`siaga map import`, the reading half: everything that takes time and touches no table. `prepare` builds the street
basemap archive beside its final place from the extract clipped to the regency (extract.py, tiles.py,
archive.py), and reads, within the same bbox, the road network (domains/roads/importer.read_osm, ferries
included) and the points of interest (pois.py). actions.store then writes the roads and the patokan in one
transaction, and only after it commits is the archive renamed into place: a failure anywhere leaves the
site's map, roads and patokan as they were."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from siaga.domains.basemap import archive, tiles
from siaga.domains.basemap.extract import Bbox, ClipResult, ExtractError, clip_extract, file_bbox
from siaga.domains.basemap.pois import PoiFile, read_pois
from siaga.domains.roads.importer import ParsedNetwork, RoadImportError, read_osm

Progress = Callable[[str, int, int | None], None]
MARGIN_DEG = 0.05  # around the regency's bbox (~5.5 km): the roads and ferry piers just across its border


class MapImportError(Exception):
    """The import cannot go on; nothing was changed. `str()` is Indonesian, then English, one per line."""

    def __init__(self, id_text: str, en_text: str) -> None:
        super().__init__(f"{id_text}\n{en_text}")
        self.id_text, self.en_text = id_text, en_text


@dataclass
class Regency:
    """The area the site serves, as the database knows it (regions.service)."""

    kode: str
    name: str
    extent: Bbox  # the regency's own bbox
    desa_with_polygon: int


@dataclass
class PreparedMap:
    source: str  # the extract's file name
    regency: Regency
    bbox: Bbox  # what was kept of the extract
    clip: ClipResult
    staged_archive: Path
    archive_size: int
    tiles: int
    tilemaker_version: str
    network: ParsedNetwork
    pois: PoiFile
    imported_at: datetime
    seconds: dict[str, float] = field(default_factory=dict)


def check_tilemaker() -> str:
    """tilemaker's version, or MapImportError saying how to install it (before any work is done)."""
    try:
        return tiles.tilemaker_version(tiles.tilemaker())
    except tiles.TilemakerMissing as exc:
        id_text, en_text = str(exc).split("\n", 1)
        raise MapImportError(id_text, en_text) from None


def clip_bbox(regency: Regency, override: Bbox | None = None) -> Bbox:
    if override is not None:
        return override
    w, s, e, n = regency.extent
    return (max(-180.0, w - MARGIN_DEG), max(-85.0, s - MARGIN_DEG), min(180.0, e + MARGIN_DEG),
            min(85.0, n + MARGIN_DEG))


def _overlaps(a: Bbox, b: Bbox) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def prepare(path: Path, regency: Regency, *, data_dir: Path, now: datetime, bbox: Bbox | None = None,
            progress: Progress | None = None) -> PreparedMap:
    """Everything but the database writes and the final rename. On any failure the staged archive is
    removed and MapImportError says why, in both languages."""
    if not path.is_file():
        raise MapImportError(f"Berkas {path} tidak ada.", f"{path}: no such file.")
    if regency.desa_with_polygon == 0:
        raise MapImportError(
            f"Batas desa {regency.name} ({regency.kode}) belum dimuat, jadi patokan tidak bisa ditempatkan di "
            "desanya: jalankan dulu `siaga regions import BERKAS.geojson`.",
            f"No desa boundaries of {regency.name} ({regency.kode}) are loaded, so patokan cannot be placed in "
            "their desa: run `siaga regions import FILE.geojson` first.")
    keep = clip_bbox(regency, bbox)
    declared = file_bbox(path)
    if declared is not None and not _overlaps(declared, keep):
        raise MapImportError(
            f"Berkas {path.name} tidak mencakup {regency.name} (berkas: {_fmt(declared)}; wilayah: {_fmt(keep)}). "
            "Unduh ekstrak OpenStreetMap yang memuat kabupaten ini.",
            f"{path.name} does not cover {regency.name} (file: {_fmt(declared)}; regency: {_fmt(keep)}). "
            "Download an OpenStreetMap extract that holds this regency.")
    version = check_tilemaker()
    data_dir.mkdir(parents=True, exist_ok=True)
    staged = archive.staging_path(data_dir)
    seconds: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="siaga-map-") as tmp:
            work = Path(tmp)
            clipped = work / "clipped.osm.pbf"
            t = time.perf_counter()
            try:
                clip = clip_extract(path, clipped, keep, progress)
            except ExtractError as exc:
                raise MapImportError(
                    f"Berkas {path.name} tidak dapat dipakai untuk {regency.name}: {exc}.",
                    f"{path.name} cannot be used for {regency.name}: {exc}.") from exc
            seconds["clip"] = time.perf_counter() - t
            t = time.perf_counter()
            mbtiles = work / "basemap.mbtiles"
            try:
                tiles.build_mbtiles(clipped, mbtiles, keep, work, progress)
                count = tiles.to_pmtiles(mbtiles, staged, {"siaga": {
                    "source": path.name, "imported_at": now.isoformat(), "region": regency.kode,
                    "bbox": [round(v, 6) for v in keep], "tilemaker": version}}, progress)
            except tiles.TileBuildError as exc:
                raise MapImportError(f"Peta jalan gagal dibuat: {exc}", f"The street map could not be built: {exc}") \
                    from exc
            seconds["basemap"] = time.perf_counter() - t
            t = time.perf_counter()
            try:  # from the original: read_osm cuts ways at missing nodes and keeps segments inside `keep`
                network = read_osm(path, bbox=keep, progress=progress)
            except RoadImportError as exc:
                raise MapImportError(f"Jaringan jalan tidak dapat dibaca: {exc}.",
                                     f"The road network cannot be read: {exc}.") from exc
            network.source = f"osm:{path.name}"[:300]
            network.note = (f"OpenStreetMap extract {path.name}, bbox {_fmt(keep)} (siaga map import). "
                            "© OpenStreetMap contributors (ODbL 1.0)")
            seconds["roads"] = time.perf_counter() - t
            t = time.perf_counter()
            pois = read_pois(path, bbox=keep, progress=progress)
            seconds["pois"] = time.perf_counter() - t
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return PreparedMap(source=path.name, regency=regency, bbox=keep, clip=clip, staged_archive=staged,
                       archive_size=staged.stat().st_size, tiles=count, tilemaker_version=version,
                       network=network, pois=pois, imported_at=now, seconds=seconds)


def _fmt(b: Bbox) -> str:
    return ",".join(f"{v:.4f}" for v in b)
