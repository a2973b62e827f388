"""The monitoring export for the national monitoring centre: every call and every incident of a period,
in the project's published taxonomy (call outcomes of PRODUCT.md, the category codes, Kemendagri kode
wilayah, agency codes), times in ISO 8601 with the offset of the site's zone (WIB: +07:00), phone numbers
masked to their last three digits. CSV (one row per record, `record_type` call or incident) or JSON;
streamed, so a year of a busy centre never sits in memory. Calls and incidents made by `siaga simulate` are
left out unless `include_simulated`. The format is documented in docs/monitoring-export.md."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import Session

from siaga.core.clock import SiteZone
from siaga.core.i18n import t
from siaga.db.engine import open_session
from siaga.domains.agencies.models import Agency
from siaga.domains.calls.marks import real_call, real_incident
from siaga.domains.calls.models import CALL_OUTCOMES, Call
from siaga.domains.calls.privacy import mask_number
from siaga.domains.incidents.models import Assignment, Category, Incident, UnitAssignment
from siaga.domains.kpi.definitions import FALSE_CALL_OUTCOMES
from siaga.domains.kpi.service import Period, _in, simulated_counts
from siaga.domains.kpi.sql import kecamatan_of, seconds_between
from siaga.domains.regions.service import served_regency

FORMAT_NAME = "siaga112-monitoring"
FORMAT_VERSION = 1
CSV_COLUMNS = (
    "record_type", "id", "incident_number", "occurred_at", "answered_at", "ended_at", "answer_s", "caller_masked",
    "outcome", "false_call", "category", "subcategory", "priority", "status", "kode_wilayah", "kecamatan",
    "agencies", "calls", "first_answer_at", "first_unit_dispatched_at", "processing_s", "first_on_scene_at",
    "closed_at",
)
CHUNK_ROWS = 2000
Progress = Callable[[int], None]


def _iso(moment: datetime | None, zone: SiteZone) -> str | None:
    return moment.astimezone(zone.tz).isoformat() if moment is not None else None


def centre(db: Session) -> dict[str, str]:
    region = served_regency(db)
    return {"kode_wilayah": region.kode, "name": region.name} if region else {"kode_wilayah": "", "name": ""}


def taxonomy(db: Session) -> dict[str, Any]:
    return {
        "call_outcomes": [{"code": o, "id": t(f"status.outcome.{o}", "id"), "en": t(f"status.outcome.{o}", "en"),
                           "false_call": o in FALSE_CALL_OUTCOMES} for o in CALL_OUTCOMES],
        "categories": [{"code": c.code, "parent": c.parent_code, "id": c.name_id, "en": c.name_en}
                       for c in db.scalars(select(Category).order_by(Category.code))],
        "agencies": [{"code": a.code, "name": a.name} for a in db.scalars(select(Agency).order_by(Agency.code))],
    }


def _calls_of(period: Period, include_simulated: bool) -> Any:
    in_period = _in(Call.offered_at, period)
    return in_period if include_simulated else and_(in_period, real_call())


def _incidents_of(period: Period, include_simulated: bool) -> Any:
    in_period = _in(Incident.created_at, period)
    return in_period if include_simulated else and_(in_period, real_incident(Incident.id))


def count_records(db: Session, period: Period, include_simulated: bool = False) -> int:
    calls = db.scalar(select(func.count()).select_from(Call).where(_calls_of(period, include_simulated))) or 0
    incidents = db.scalar(select(func.count()).select_from(Incident)
                          .where(_incidents_of(period, include_simulated))) or 0
    return calls + incidents


def call_records(db: Session, period: Period, include_simulated: bool = False) -> Iterator[dict[str, Any]]:
    query = (select(Call.id, Incident.number, Call.offered_at, Call.answered_at, Call.ended_at,
                    seconds_between(Call.answered_at, Call.offered_at), Call.caller_number, Call.outcome, Call.status)
             .select_from(Call).outerjoin(Incident, Incident.id == Call.incident_id)
             .where(_calls_of(period, include_simulated)).order_by(Call.offered_at, Call.id))
    result = db.connection().execution_options(stream_results=True, yield_per=5000).execute(query)
    zone = period.zone
    for cid, number, offered, answered, ended, answer_s, caller, outcome, status in result:
        yield {"record_type": "call", "id": cid, "incident_number": number, "occurred_at": _iso(offered, zone),
               "answered_at": _iso(answered, zone), "ended_at": _iso(ended, zone), "answer_s": answer_s,
               "caller_masked": mask_number(caller), "outcome": outcome,
               "false_call": outcome in FALSE_CALL_OUTCOMES if outcome else None, "status": status}


def incident_records(db: Session, period: Period, include_simulated: bool = False) -> Iterator[dict[str, Any]]:
    in_period = _in(Incident.created_at, period)
    linked = in_period if include_simulated else and_(in_period, real_call())
    calls = (select(Call.incident_id.label("iid"), func.count().label("n"), func.min(Call.answered_at).label("t0"))
             .join(Incident, Incident.id == Call.incident_id).where(linked)
             .group_by(Call.incident_id).subquery("calls"))
    units = (select(UnitAssignment.incident_id.label("iid"), func.min(UnitAssignment.dispatched_at).label("t1"),
                    func.min(UnitAssignment.on_scene_at).label("t2"))
             .join(Incident, Incident.id == UnitAssignment.incident_id).where(in_period)
             .group_by(UnitAssignment.incident_id).subquery("units"))
    agencies: dict[int, list[str]] = {}
    assigned = (select(Assignment.incident_id, Agency.code).join(Agency, Agency.id == Assignment.agency_id)
                .join(Incident, Incident.id == Assignment.incident_id).where(in_period)
                .order_by(Assignment.incident_id, Assignment.notified_at, Agency.code))
    for iid, code in db.execute(assigned):
        agencies.setdefault(iid, []).append(code)
    query = (select(Incident.id, Incident.number, Incident.created_at, Incident.category_code,
                    Incident.subcategory_code, Incident.priority, Incident.status, Incident.kode_wilayah,
                    kecamatan_of(Incident.kode_wilayah),
                    func.coalesce(calls.c.n, 0), calls.c.t0, units.c.t1, seconds_between(units.c.t1, calls.c.t0),
                    units.c.t2, Incident.closed_at)
             .select_from(Incident).outerjoin(calls, calls.c.iid == Incident.id)
             .outerjoin(units, units.c.iid == Incident.id).where(_incidents_of(period, include_simulated))
             .order_by(Incident.created_at, Incident.id))
    zone = period.zone
    for (iid, number, created, category, sub, priority, status, kode, kecamatan, n_calls, t0, t1, processing, t2,
         closed) in db.execute(query):
        yield {"record_type": "incident", "id": iid, "incident_number": number, "occurred_at": _iso(created, zone),
               "category": category, "subcategory": sub, "priority": priority, "status": status,
               "kode_wilayah": kode, "kecamatan": kecamatan, "agencies": agencies.get(iid, []), "calls": n_calls,
               "first_answer_at": _iso(t0, zone), "first_unit_dispatched_at": _iso(t1, zone),
               "processing_s": processing, "first_on_scene_at": _iso(t2, zone), "closed_at": _iso(closed, zone)}


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def csv_chunks(engine: Engine, period: Period, progress: Progress | None = None,
               include_simulated: bool = False) -> Iterator[bytes]:
    """The CSV, a few thousand rows per chunk, UTF-8 with a header row; read in one snapshot."""
    with _snapshot(engine) as db:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
        done = 0
        for record in _records(db, period, include_simulated):
            writer.writerow({k: _csv_value(v) for k, v in record.items()})
            done += 1
            if done % CHUNK_ROWS == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
                if progress:
                    progress(done)
        yield buffer.getvalue().encode()
        if progress:
            progress(done)


def json_chunks(engine: Engine, period: Period, now: datetime, progress: Progress | None = None,
                include_simulated: bool = False) -> Iterator[bytes]:
    """The JSON document, streamed: a header object, then the calls and incidents arrays."""
    with _snapshot(engine) as db:
        head = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "centre": centre(db),
                "from": period.start_date.isoformat(), "to": period.end_date.isoformat(),
                "last_day": period.last_day.isoformat(),
                "timezone": period.zone.description, "generated_at": _iso(now, period.zone),
                "simulated": simulated_counts(db, period, included=include_simulated).as_dict(),
                "taxonomy": taxonomy(db)}
        text = json.dumps(head, ensure_ascii=False)
        yield (text[:-1] + ', "calls": [').encode()
        done = 0
        for section, records in (("calls", call_records(db, period, include_simulated)),
                                 ("incidents", incident_records(db, period, include_simulated))):
            if section == "incidents":
                yield b'], "incidents": ['
            parts: list[str] = []
            first = True
            for record in records:
                record.pop("record_type")
                parts.append(("" if first else ",") + json.dumps(record, ensure_ascii=False))
                first = False
                done += 1
                if len(parts) >= CHUNK_ROWS:
                    yield "".join(parts).encode()
                    parts = []
                    if progress:
                        progress(done)
            yield "".join(parts).encode()
        yield b"]}"
        if progress:
            progress(done)


def _records(db: Session, period: Period, include_simulated: bool = False) -> Iterator[dict[str, Any]]:
    yield from call_records(db, period, include_simulated)
    yield from incident_records(db, period, include_simulated)


class _snapshot:  # noqa: N801 - used as `with _snapshot(engine) as db`
    """One read transaction for the whole export (REPEATABLE READ on PostgreSQL): calls and incidents agree."""

    def __init__(self, engine: Engine) -> None:
        self.session = open_session(engine, write=False, snapshot=True)

    def __enter__(self) -> Session:
        self.session.begin()
        return self.session

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()
        self.session.close()
