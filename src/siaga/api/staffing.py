"""Staffing: operators needed per hour of the week, from the centre's own calls."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query

from siaga.core.clock import site_zone
from siaga.core.context import Ctx
from siaga.core.errors import invalid
from siaga.core.http import ctx_for
from siaga.domains.staffing import schemas, service

router = APIRouter(tags=["staffing"])


@router.get("/staffing", response_model=schemas.StaffingOut)
def staffing(period_from: date | None = Query(default=None, alias="from",
                                               description="First day (site's zone); default: 8 weeks before `to`"),
             period_to: date | None = Query(default=None, alias="to",
                                             description="Last day, inclusive: the whole day up to 24:00 local; "
                                                         "default: yesterday"),
             target: float = Query(default=0.9, gt=0, lt=1, description="Share of offered calls to answer in time"),
             within: float = Query(default=15, gt=0, le=600, description="Seconds"),
             min_operators: int = Query(default=1, ge=0, le=50,
                                        description="Operators on duty at least, every hour (1: a 24/7 service)"),
             include_simulated: bool = Query(default=False, description="Measure the calls made by `siaga simulate` "
                                                                        "too (default: left out)"),
             ctx: Ctx = Depends(ctx_for("staffing.read"))) -> schemas.StaffingOut:
    """Arrivals by hour of the week, handle time and caller patience measured in the period's calls; the
    operators needed each hour (Erlang A; Erlang C when no caller hung up) and 8-hour shifts covering them.
    The period is whole days in the site's zone, `to` included. Calls made by `siaga simulate` are left out unless
    `include_simulated` (`simulated_calls` says how many the period holds)."""
    check_period(period_from, period_to)
    return service.staffing(ctx.db, ctx.now(), site_zone(ctx.settings), period_from, period_to, target, within,
                            min_operators, include_simulated, ctx.settings.pickup_default_seconds)


EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def check_period(period_from: date | None, period_to: date | None) -> None:
    for field, day in (("query.from", period_from), ("query.to", period_to)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise invalid(field, f"a day between {EARLIEST} and {LATEST}", "out_of_range")
    if period_from is not None and period_to is not None:
        if period_from > period_to:
            raise invalid("query.from", "the period starts after it ends (from > to)", "period_order")
        if (period_to - period_from).days + 1 > service.MAX_PERIOD_DAYS:
            raise invalid("query.to", f"at most {service.MAX_PERIOD_DAYS} days", "period_too_long")
