"""`siaga map import`, the writing half: the road network and the patokan of a prepared import in the
caller's transaction (through the roads' and the gazetteer's own actions), audited; the archive is put in
place by `install` once that transaction has committed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from siaga.core.context import Ctx
from siaga.domains.basemap import archive
from siaga.domains.basemap.importer import PreparedMap
from siaga.domains.regions import actions as regions_actions
from siaga.domains.regions.schemas import LandmarkImportOut
from siaga.domains.roads import actions as roads_actions
from siaga.domains.roads.schemas import NetworkOut

Progress = Callable[[str, int, int | None], None]


class MapImportOut(BaseModel):
    """What an import did, for the summary the admin reads."""

    source: str
    region: str
    bbox: tuple[float, float, float, float]
    archive_bytes: int
    tiles: int
    tilemaker: str
    network: NetworkOut
    landmarks: LandmarkImportOut
    pois_unnamed: int
    pois_no_position: int
    seconds: dict[str, float]


def store(ctx: Ctx, prepared: PreparedMap, progress: Progress | None = None) -> MapImportOut:
    network = roads_actions.replace_network(ctx, prepared.network, progress=progress)
    landmarks = regions_actions.import_landmarks(
        ctx, prepared.pois.items, source=f"osm:{prepared.source}", region_code=prepared.regency.kode,
        progress=(lambda done, total: progress("patokan", done, total)) if progress else None)
    out = MapImportOut(source=prepared.source, region=prepared.regency.kode, bbox=prepared.bbox,
                       archive_bytes=prepared.archive_size, tiles=prepared.tiles,
                       tilemaker=prepared.tilemaker_version, network=network, landmarks=landmarks,
                       pois_unnamed=prepared.pois.unnamed, pois_no_position=prepared.pois.no_position,
                       seconds={k: round(v, 2) for k, v in prepared.seconds.items()})
    ctx.audit("basemap.import", "basemap", None, {
        "source": out.source, "region": out.region, "bbox": list(out.bbox), "archive_bytes": out.archive_bytes,
        "tiles": out.tiles, "tilemaker": out.tilemaker, "road_network": network.id, "landmark_import": landmarks.id,
        "pois_unnamed": out.pois_unnamed})
    return out


def install(prepared: PreparedMap, data_dir: Path) -> Path:
    """After the transaction of `store` committed: the new archive replaces the old one."""
    return archive.install(prepared.staged_archive, data_dir)


def discard(prepared: PreparedMap) -> None:
    prepared.staged_archive.unlink(missing_ok=True)
