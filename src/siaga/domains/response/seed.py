"""Seed a new database with the region's default response plan and backup agencies
(`data/<region>/response_plan.json`). Only when no rule exists yet: after that, the plan is the
admins' to edit, and a reload never overwrites their work."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from siaga.core.context import Ctx
from siaga.domains.agencies.models import Agency
from siaga.domains.response import actions, schemas
from siaga.domains.response.models import ResponseRule


def load_plan(ctx: Ctx, folder: Path) -> dict[str, int]:
    path = folder / "response_plan.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    added: dict[str, int] = {}
    agencies = {a.code: a for a in ctx.db.scalars(select(Agency))}
    for code, backup in data.get("backup_agencies", {}).items():
        if code in agencies and backup in agencies and agencies[code].backup_agency_id is None:
            agencies[code].backup_agency_id = agencies[backup].id
            added["backup_agencies"] = added.get("backup_agencies", 0) + 1
    if ctx.db.scalar(select(func.count()).select_from(ResponseRule)):
        return added
    for rule in data["rules"]:
        actions.create_rule(ctx, schemas.RuleCreate(
            name=rule["name"], kind=rule.get("kind", "base"), category_code=rule.get("category"),
            subcategory_code=rule.get("subcategory"), max_priority=rule.get("max_priority"),
            kode_wilayah=rule.get("kode_wilayah"), hour_from=(rule.get("hours") or [None, None])[0],
            hour_to=(rule.get("hours") or [None, None])[1], answers=rule.get("answers", {}),
            agency_codes=rule.get("agencies", []), units=rule.get("units", []), note=rule.get("note", "")))
        added["response_rules"] = added.get("response_rules", 0) + 1
    return added
