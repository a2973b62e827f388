"""Demo data for `make run`: an operator of every role (one-time passwords printed once) and a few
incidents and calls in Bengkalis, created through the same actions as real work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from siaga.core.authz import ADMIN, AGENCY_OPERATOR, CALL_TAKER, DISPATCHER, SUPERVISOR
from siaga.core.context import Ctx
from siaga.domains.agencies.models import Agency
from siaga.domains.calls import actions as call_actions
from siaga.domains.calls import schemas as call_schemas
from siaga.domains.calls.models import Call
from siaga.domains.dispatch import actions as dispatch
from siaga.domains.incidents import actions as incident_actions
from siaga.domains.incidents import schemas as incident_schemas
from siaga.domains.incidents import service as incident_service
from siaga.domains.incidents.models import Category, Incident
from siaga.domains.regions.models import Region
from siaga.domains.units.models import Unit
from siaga.domains.users import actions as user_actions
from siaga.domains.users import schemas as user_schemas
from siaga.domains.users.actions import principal_of
from siaga.domains.users.models import User

DEMO_USERS = [
    ("admin", "Admin Diskominfotik", ADMIN, None),
    ("operator1", "Operator 112 Satu", CALL_TAKER, None),
    ("dispatcher1", "Dispatcher Shift Pagi", DISPATCHER, None),
    ("supervisor1", "Supervisor Command Center", SUPERVISOR, None),
    ("damkar1", "Operator Damkar", AGENCY_OPERATOR, "DAMKAR"),
    ("dinkes1", "Operator PSC 119", AGENCY_OPERATOR, "DINKES"),
    ("polres1", "Operator Polres", AGENCY_OPERATOR, "POLRES"),
]


@dataclass
class NewUser:
    username: str
    role: str
    password: str


def ensure_users(ctx: Ctx) -> list[NewUser]:
    """Create the demo users that do not exist yet; return their one-time passwords (shown once)."""
    created = []
    agencies = {a.code: a.id for a in ctx.db.scalars(select(Agency))}
    for username, full_name, role, agency_code in DEMO_USERS:
        if ctx.db.scalar(select(User.id).where(User.username == username)) is not None:
            continue
        out = user_actions.create_user(ctx, user_schemas.UserCreate(
            username=username, full_name=full_name, role=role,
            agency_id=agencies.get(agency_code) if agency_code else None))
        created.append(NewUser(username, role, out.one_time_password or ""))
    return created


def ensure_admin(ctx: Ctx) -> NewUser | None:
    """A new site's first admin (`admin`), if the database has no user yet; its one-time password."""
    if ctx.db.scalar(select(User.id).limit(1)) is not None:
        return None
    username, full_name, role, _ = DEMO_USERS[0]
    made = user_actions.create_user(ctx, user_schemas.UserCreate(username=username, full_name="Admin", role=role))
    return NewUser(username, role, made.one_time_password or "")


def load_demo_incidents(ctx: Ctx) -> int:
    """A handful of open incidents with their calls and assignments, if there are none yet."""
    if ctx.db.scalar(select(Incident.id).limit(1)) is not None:
        return 0
    operator = ctx.db.scalar(select(User).where(User.username == "operator1"))
    dispatcher = ctx.db.scalar(select(User).where(User.username == "dispatcher1"))
    if operator is None or dispatcher is None:
        return 0
    agencies = {a.code: a.id for a in ctx.db.scalars(select(Agency))}
    as_operator = Ctx(db=ctx.db, actor=principal_of(operator), clock=ctx.clock, settings=ctx.settings)
    as_dispatcher = Ctx(db=ctx.db, actor=principal_of(dispatcher), clock=ctx.clock, settings=ctx.settings)
    scenarios = [
        ("081266001122", "kebakaran", "kebakaran.bangunan", 1, "14.03.01.1001", 1.4680, 102.1030,
         "Jl. Ahmad Yani", "dekat Masjid Agung Istiqomah", "Rumah warga terbakar, api di dapur", ["DAMKAR"]),
        ("085271234567", "kecelakaan_lalu_lintas", None, 2, "14.03.09", 1.2870, 101.2350,
         "Jl. Jenderal Sudirman, Duri", "Simpang Padang", "Tabrakan motor dan mobil, satu korban luka",
         ["DISHUB", "DINKES"]),
        ("081378889900", "medis", None, 1, "14.03.16", 1.2300, 101.3400,
         "Desa Balai Makam", "", "Lansia sesak napas", ["DINKES"]),
        ("082199887766", "orang_hilang", None, 2, "14.03.16", 1.2500, 101.3000,
         "Kebun sawit", "", "Dua orang belum pulang sejak pagi", ["BPBD", "POLRES"]),
    ]
    base = ctx.now() - timedelta(minutes=40)
    count = 0
    for i, (number, cat, sub, prio, kode, lat, lon, address, patokan, text, codes) in enumerate(scenarios):
        event_time = base + timedelta(minutes=8 * i)
        ref = f"demo-call-{i + 1}"
        for kind, offset in (("offered", 0), ("answered", 6)):
            call_actions.ingest_call_event(as_operator, call_schemas.CallEventIn(
                event_id=f"{ref}-{kind}", call_ref=ref, type=kind, at=event_time + timedelta(seconds=offset),
                caller_number=number, operator_username="operator1"))
        call_id = ctx.db.scalar(select(Call.id).where(Call.external_ref == ref))
        kode_known = kode if ctx.db.get(Region, kode) is not None else None
        out = incident_actions.create_incident(as_operator, incident_schemas.IncidentCreate(
            category_code=cat, subcategory_code=sub if sub and ctx.db.get(Category, sub) is not None else None,
            priority=prio, lat=lat, lon=lon, kode_wilayah=kode_known, address_text=address, patokan=patokan,
            description=text, call_id=call_id))
        for code in codes:
            if code in agencies:
                dispatch.create_assignment(as_dispatcher, out.id,
                                           incident_schemas.AssignmentCreate(agency_id=agencies[code]))
        count += 1
    # One ambulance already on its way to the medical call.
    medical = ctx.db.scalar(select(Incident).where(Incident.category_code == "medis"))
    ambulance = ctx.db.scalar(select(Unit).where(Unit.agency_id == agencies.get("DINKES"),
                                                 Unit.type == "ambulance").order_by(Unit.callsign))
    if medical is not None and ambulance is not None:
        out = incident_service.incident_out(ctx.db, medical)
        assignment = next((a for a in out.assignments if a.agency_id == agencies.get("DINKES")), None)
        if assignment is not None:
            dispatch.assign_unit(as_dispatcher, assignment.id, incident_schemas.AssignUnitIn(unit_id=ambulance.id))
    return count
