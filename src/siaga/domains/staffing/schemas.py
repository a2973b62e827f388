"""API shapes for staffing."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


class HourOut(BaseModel):
    weekday: int = Field(description="0 = Monday … 6 = Sunday (site's zone)")
    hour: int = Field(description="0..23, local")
    calls: int = Field(description="Calls offered in this hour of the week over the whole period")
    arrivals_per_hour: float = Field(description="Average calls offered in one such hour")
    operators: int = Field(description="Operators needed to meet the target in this hour")
    answered_within: float = Field(description="Predicted share of offered calls answered within the target "
                                               "time with that many operators")
    abandon: float = Field(description="Predicted share of offered calls that hang up before an answer")
    occupancy: float = Field(description="Predicted busy share of those operators")


class ShiftOut(BaseModel):
    weekday: int = Field(description="Day the shift starts, 0 = Monday (site's zone)")
    start_hour: int
    hours: int
    operators: int


class RosterOut(BaseModel):
    shift_hours: int
    shift_starts: list[int] = Field(description="Shift start hours, local")
    shifts: list[ShiftOut]
    operator_hours_per_week: int
    on_duty: list[int] = Field(description="Operators on duty under this roster, 168 hours from Monday 00:00 local")
    expected_answered_within: float | None = Field(
        description="Predicted share of all offered calls answered within the target time under the roster")


class StaffingOut(BaseModel):
    """Operators needed each hour of the week for `target` of offered calls answered within `within_s`
    seconds (hang-ups count against it), from the period's own calls, and a roster of 8-hour shifts."""

    period_from: date
    period_to: date = Field(description="Inclusive; days are calendar days of the site's zone")
    days: int
    target: float
    within_s: float
    min_operators: int
    method: Literal["erlang_a", "erlang_c", "no_data"] = Field(
        description="erlang_a: callers' patience estimated from hang-ups; erlang_c: no hang-ups seen, callers "
                    "assumed to wait; no_data: no answered call in the period, only the minimum cover")
    calls_offered: int
    calls_answered: int
    calls_abandoned: int = Field(description="Hung up before an answer (abandoned or missed out of hours)")
    simulated_included: bool = Field(False, description="Whether calls made by `siaga simulate` were measured too")
    simulated_calls: int = Field(0, description="Calls of the period made by `siaga simulate`: left out of every "
                                                "figure unless simulated_included")
    handle_s: float | None = Field(description="Average handle time, answered → ended")
    patience_s: float | None = Field(description="Average patience (censored maximum-likelihood estimate)")
    pickup_s: float = Field(description="The pickup delay used (ringing at an operator → answered), seconds: the "
                                        "period's median, or the configured default when none was measured")
    pickup_source: Literal["measured", "default"] = Field(description="Where pickup_s comes from")
    pickup_measured: int = Field(0, description="Answered calls of the period whose pickup delay was measured")
    pickup_stay: float | None = Field(None, description="Share of callers still on the line when an operator "
                                      "picks up: measured (answered / rang at an operator), else from the patience")
    pickup_ceiling: float | None = Field(None, description="The most any roster can answer within the target time "
                                         "with this pickup (callers hanging up while the phone rings)")
    peak_operators: int
    required_operator_hours_per_week: int
    hours: list[HourOut] = Field(description="168 hours, Monday 00:00 local first")
    roster: RosterOut
