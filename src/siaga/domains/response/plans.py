"""Response plans: which agencies and units an incident needs, from rules kept as data.

Precedence, stated once: an incident takes the agencies and units of its **most specific** matching
`base` rule, plus those of **every** matching `extra` rule. Specificity counts the conditions a rule
names (subcategory 8, category 4, desa 3 or kecamatan 2, guided answers 2, priority 1, hours 1); two
base rules equally specific that can match the same incident are reported by `check_plan`, and the
older rule (lower id) wins between them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.clock import SiteZone
from siaga.core.i18n import joined, message, ref, t
from siaga.domains.agencies.models import Agency
from siaga.domains.incidents.models import Assignment, Category, Incident
from siaga.domains.incidents.questions import all_questions
from siaga.domains.incidents.service import answer_error, answer_line
from siaga.domains.response.models import ResponseRule


@dataclass(frozen=True)
class Facts:
    """What rules look at, taken from an incident (or a form being filled in)."""

    category_code: str
    subcategory_code: str | None
    priority: int
    kode_wilayah: str | None
    answers: dict[str, Any]
    hour: int  # in the site's zone

    @classmethod
    def of(cls, incident: Incident, now: datetime, zone: SiteZone) -> Facts:
        """The incident as rules see it now; hour windows are the site's local hours."""
        return cls(incident.category_code, incident.subcategory_code, incident.priority, incident.kode_wilayah,
                   dict(incident.answers or {}), zone.local(now).hour)


def in_hours(hour: int, hour_from: int | None, hour_to: int | None) -> bool:
    if hour_from is None or hour_to is None:
        return True
    if hour_from < hour_to:
        return hour_from <= hour < hour_to
    return hour >= hour_from or hour < hour_to  # wraps midnight, e.g. 22 → 6


def matches(rule: ResponseRule, facts: Facts) -> bool:
    if not rule.active:
        return False
    if rule.category_code is not None and rule.category_code != facts.category_code:
        return False
    if rule.subcategory_code is not None and rule.subcategory_code != facts.subcategory_code:
        return False
    if rule.max_priority is not None and facts.priority > rule.max_priority:
        return False
    if rule.kode_wilayah is not None:
        kode = facts.kode_wilayah or ""
        if not (kode == rule.kode_wilayah or kode.startswith(rule.kode_wilayah + ".")):
            return False
    if not in_hours(facts.hour, rule.hour_from, rule.hour_to):
        return False
    return all(facts.answers.get(key) == value for key, value in (rule.answers or {}).items())


def specificity(rule: ResponseRule) -> int:
    score = 0
    if rule.subcategory_code is not None:
        score += 8
    if rule.category_code is not None:
        score += 4
    if rule.kode_wilayah is not None:
        score += 3 if rule.kode_wilayah.count(".") >= 3 else 2
    if rule.answers:
        score += 2
    if rule.max_priority is not None:
        score += 1
    if rule.hour_from is not None:
        score += 1
    return score


@dataclass
class ProposedAgency:
    agency_id: int
    code: str
    short_name: str
    rules: list[str] = field(default_factory=list)
    assignment_state: str | None = None  # already assigned: its state
    reasons: list[dict[str, Any]] = field(default_factory=list)  # why, as messages (core.i18n.message)


@dataclass
class Proposal:
    base_rule: str | None
    rules: list[str]
    agencies: list[ProposedAgency]
    units: list[dict[str, Any]]

    @property
    def missing(self) -> list[ProposedAgency]:
        return [a for a in self.agencies if a.assignment_state in (None, "stood_down")]  # stood down: sent again


def choose_rules(rules: Sequence[ResponseRule], facts: Facts) -> list[ResponseRule]:
    matching = [r for r in rules if matches(r, facts)]
    bases = sorted((r for r in matching if r.kind == "base"), key=lambda r: (-specificity(r), r.id))
    extras = sorted((r for r in matching if r.kind == "extra"), key=lambda r: r.id)
    return ([bases[0]] if bases else []) + extras


def propose(db: Session, facts: Facts, incident_id: int | None = None) -> Proposal:
    rules = db.scalars(select(ResponseRule).where(ResponseRule.active.is_(True))).all()
    chosen = choose_rules(rules, facts)
    agencies_by_code = {a.code: a for a in db.scalars(select(Agency).where(Agency.active.is_(True)))}
    assigned: dict[int, str] = {}
    if incident_id is not None:
        assigned = {a.agency_id: a.state for a in db.scalars(select(Assignment)
                                                             .where(Assignment.incident_id == incident_id))}
    proposed: dict[str, ProposedAgency] = {}
    units: dict[str, int] = {}
    questions = all_questions(db) if any(r.answers for r in chosen) else {}
    for rule in chosen:
        for code in rule.agency_codes or []:
            agency = agencies_by_code.get(code)
            if agency is None:  # deactivated since the rule was written; check_plan reports it
                continue
            entry = proposed.setdefault(code, ProposedAgency(agency.id, code, agency.short_name,
                                                             assignment_state=assigned.get(agency.id)))
            entry.rules.append(rule.name)
            entry.reasons.append(reason(rule, questions))
        for unit in rule.units or []:
            units[unit["type"]] = max(units.get(unit["type"], 0), int(unit["count"]))
    base = next((r.name for r in chosen if r.kind == "base"), None)
    return Proposal(base_rule=base, rules=[r.name for r in chosen], agencies=list(proposed.values()),
                    units=[{"type": t, "count": n} for t, n in units.items()])


def reason(rule: ResponseRule, questions: dict[str, tuple[Any, bool]]) -> dict[str, Any]:
    """Why a rule brought its agencies, as a message: the caller's answers it matched (each question and
    answer in both languages, as the question now stands), else the rule's name alone."""
    if not rule.answers:
        return message("proposal.because_rule", rule=rule.name)
    lines = []
    for qid, value in rule.answers.items():
        question = questions.get(qid, (None, False))[0]
        if question is None:
            lines.append(ref("proposal.answer", question=qid, answer=str(value)))
            continue
        shown = answer_line(question, value)  # {question} {answer} in both languages
        lines.append(ref("proposal.answer", question=shown["question"], answer=shown["answer"]))
    return message("proposal.because_answers", rule=rule.name, answers=joined("; ", lines))


def overlaps(a: ResponseRule, b: ResponseRule) -> bool:
    """Could one incident match both? (Conditions named by only one rule never exclude the other.)"""
    def same_or_unset(x: Any, y: Any) -> bool:
        return x is None or y is None or x == y

    if not (same_or_unset(a.category_code, b.category_code) and same_or_unset(a.subcategory_code, b.subcategory_code)):
        return False
    if a.kode_wilayah and b.kode_wilayah and not (a.kode_wilayah.startswith(b.kode_wilayah)
                                                  or b.kode_wilayah.startswith(a.kode_wilayah)):
        return False
    if a.hour_from is not None and b.hour_from is not None:
        if not any(in_hours(h, a.hour_from, a.hour_to) and in_hours(h, b.hour_from, b.hour_to) for h in range(24)):
            return False
    shared = set(a.answers or {}) & set(b.answers or {})
    return all((a.answers or {})[k] == (b.answers or {})[k] for k in shared)


def check_plan(db: Session, lang: str = "id") -> list[dict[str, Any]]:
    """What an admin should look at: categories no base rule covers, equally specific base rules that
    overlap (the older wins), rules naming an agency that is not active, and rules matching an answer no
    call-taker can give (the question retired, gone or without that option); each `message` in `lang`."""

    rules = db.scalars(select(ResponseRule).where(ResponseRule.active.is_(True)).order_by(ResponseRule.id)).all()
    active_agencies = {a.code for a in db.scalars(select(Agency).where(Agency.active.is_(True)))}
    findings: list[dict[str, Any]] = []
    bases = [r for r in rules if r.kind == "base"]
    covered = {r.category_code for r in bases if r.subcategory_code is None and r.max_priority is None
               and r.kode_wilayah is None and r.hour_from is None and not r.answers}
    if any(r.category_code is None and r.subcategory_code is None and not r.answers for r in bases):
        covered = None  # a catch-all rule covers everything
    if covered is not None:
        for category in db.scalars(select(Category).where(Category.parent_code.is_(None), Category.active.is_(True))
                                   .order_by(Category.code)):
            if category.code not in covered:
                findings.append({"kind": "uncovered_category", "category_code": category.code,
                                 "message": t("plan_check.uncovered_category", lang, category=category.code)})
    for i, a in enumerate(bases):
        for b in bases[i + 1:]:
            if specificity(a) == specificity(b) and overlaps(a, b):
                findings.append({"kind": "overlap", "rule_ids": [a.id, b.id],
                                 "message": t("plan_check.overlap", lang, a=a.name, b=b.name)})
    for r in rules:
        dead = [c for c in r.agency_codes or [] if c not in active_agencies]
        if dead:
            findings.append({"kind": "inactive_agency", "rule_ids": [r.id],
                             "message": t("plan_check.inactive_agency", lang, rule=r.name, agencies=", ".join(dead))})
    asked = all_questions(db)
    for r in rules:
        for qid, value in (r.answers or {}).items():
            question, active = asked.get(qid, (None, False))
            if question is None or not active or answer_error(question, value):
                findings.append({"kind": "unasked_answer", "rule_ids": [r.id],
                                 "message": t("plan_check.unasked_answer", lang, rule=r.name, question=qid,
                                              value=str(value))})
    return findings
