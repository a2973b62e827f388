"""Reads for the street map: the regency an import is for, as the gazetteer knows it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siaga.domains.basemap.importer import MapImportError, Regency
from siaga.domains.regions import service as regions_service
from siaga.domains.regions.models import Region


def regency(db: Session, kode: str) -> Regency:
    """The site's regency with its extent and how many of its desa have an outline; MapImportError when the
    gazetteer does not know it."""
    region = db.get(Region, kode)
    extent = regions_service.region_extent(db, kode)
    if region is None or extent is None:
        raise MapImportError(
            f"Wilayah {kode} (SIAGA_REGION_CODE) tidak ada di gazetir: muat data situs dulu (`siaga demo load` "
            "atau `siaga site load`).",
            f"Region {kode} (SIAGA_REGION_CODE) is not in the gazetteer: load the site's data first "
            "(`siaga demo load` or `siaga site load`).")
    return Regency(kode=kode, name=region.name, extent=extent,
                   desa_with_polygon=regions_service.desa_polygon_count(db, kode))
