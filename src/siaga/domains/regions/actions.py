"""The only writers of the gazetteer's editable part (landmarks)."""

from __future__ import annotations

from siaga.core.context import Ctx
from siaga.core.errors import invalid
from siaga.domains.regions import schemas
from siaga.domains.regions.models import Landmark, Region


def create_landmark(ctx: Ctx, data: schemas.LandmarkCreate) -> schemas.LandmarkOut:
    if data.kode_wilayah and ctx.db.get(Region, data.kode_wilayah) is None:
        raise invalid("body.kode_wilayah", "unknown kode wilayah", "unknown")
    lm = Landmark(**data.model_dump())
    ctx.db.add(lm)
    ctx.db.flush()
    out = schemas.LandmarkOut.model_validate(lm)
    ctx.audit("landmark.create", "landmark", lm.id, data.model_dump())
    ctx.emit("landmark.created", "landmark", lm.id, out.model_dump(mode="json"))
    return out
