"""Statistics: the wallboard."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from siaga.core.clock import site_zone
from siaga.core.context import Ctx
from siaga.core.http import ctx_for
from siaga.domains.stats import schemas, service

router = APIRouter(tags=["stats"])


@router.get("/stats/wallboard", response_model=schemas.WallboardOut)
def wallboard(ctx: Ctx = Depends(ctx_for("stats.read"))) -> schemas.WallboardOut:
    """Calls waiting and the longest wait, operators on duty, today's (in the site's zone) answer times against the 15 s
    target, and open incidents by category and by agency. Poll it, or refresh on call and incident events."""
    return service.wallboard(ctx.db, ctx.now(), site_zone(ctx.settings))
