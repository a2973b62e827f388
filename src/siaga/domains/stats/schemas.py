"""API shapes for statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class WallboardOut(BaseModel):
    """What the centre's wallboard shows. "Today" is the calendar day in the site's zone (WIB for Bengkalis);
    today's counts leave out calls made by `siaga simulate`, the live queue does not."""

    calls_waiting: int = Field(description="Live calls offered or ringing, not yet answered")
    longest_wait_s: int = Field(description="Seconds the oldest waiting call has waited; 0 when none waits")
    operators_on_duty: int = Field(description="Operators who can answer the 112 line now (phone available or "
                                               "on a call: the same count as the consoles' header) where the centre "
                                               "has operator phones; otherwise call-takers, dispatchers and "
                                               "supervisors with a console open (seen in the last 90 s)")
    operators_counted_by: Literal["phones", "consoles"] = Field(
        default="consoles", description="which of the two measures operators_on_duty is")
    calls_offered_today: int
    calls_answered_today: int
    answered_within_15s_today: int
    pct_answered_within_15s: float | None = Field(
        description="Share of today's offered calls answered within 15 s (abandoned calls count against it); "
                    "null when no call was offered today")
    open_incidents: int
    open_by_category: dict[str, int] = Field(description="Open incidents per top-level category code")
    open_by_agency: dict[str, int] = Field(description="Open assignments per agency id (as a string key)")
    generated_at: datetime
