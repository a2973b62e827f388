"""API shapes for response plans, proposals and deadline policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from siaga.core.ids import DbId, Version
from siaga.core.strict import StrictModel

RuleKind = Literal["base", "extra"]
Step = Literal["acknowledge", "units", "on_scene"]


class UnitNeed(StrictModel):
    type: str = Field(min_length=1, max_length=30)
    count: int = Field(default=1, ge=1, le=20)


class RuleFields(StrictModel):
    name: str = Field(min_length=2, max_length=160)
    kind: RuleKind = "base"
    category_code: str | None = Field(default=None, max_length=60)
    subcategory_code: str | None = Field(default=None, max_length=60)
    max_priority: int | None = Field(default=None, ge=1, le=4, description="applies to priority <= this")
    kode_wilayah: str | None = Field(default=None, max_length=13, description="a kecamatan or desa")
    hour_from: int | None = Field(default=None, ge=0, le=23, description="local hour in the site's zone "
                                     "(SIAGA_TIMEZONE), inclusive")
    hour_to: int | None = Field(default=None, ge=0, le=24, description="local hour in the site's zone, "
                                   "exclusive; may wrap midnight")
    answers: dict[str, bool | str | None] = Field(default_factory=dict, max_length=10,
                                                  description="guided answers that must match")
    agency_codes: list[str] = Field(default_factory=list, max_length=12)
    units: list[UnitNeed] = Field(default_factory=list, max_length=12)
    note: str = Field(default="", max_length=1000)
    active: bool = True


class RuleCreate(RuleFields):
    pass


class RuleUpdate(RuleFields):
    version: Version


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    category_code: str | None
    subcategory_code: str | None
    max_priority: int | None
    kode_wilayah: str | None
    hour_from: int | None
    hour_to: int | None
    answers: dict[str, Any]
    agency_codes: list[str]
    units: list[dict[str, Any]]
    note: str
    active: bool
    created_at: datetime
    version: Version


class Finding(BaseModel):
    kind: str
    message: str
    category_code: str | None = None
    rule_ids: list[int] = []


class ProposedAgencyOut(BaseModel):
    agency_id: int
    code: str
    short_name: str
    rules: list[str]
    assignment_state: str | None
    reasons: list[str] = Field(default=[], description="why, one per rule, in the request's language: the "
                                                       "caller's answers that brought the agency, or the rule")


class ProposalOut(BaseModel):
    incident_id: int
    base_rule: str | None
    rules: list[str]
    agencies: list[ProposedAgencyOut]
    missing_agency_ids: list[int] = Field(description="proposed agencies not yet notified")
    units: list[dict[str, Any]]


class PolicyIn(StrictModel):
    agency_id: DbId | None = None
    priority: int | None = Field(default=None, ge=1, le=4)
    step: Step
    seconds: int = Field(ge=10, le=86_400)


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agency_id: int | None
    priority: int | None
    step: str
    seconds: int
