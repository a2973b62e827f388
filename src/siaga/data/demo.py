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
        # The call-taker finished the call: hung up a few minutes in, recorded as an emergency (a demo must not
        # leave operator1 with calls still waiting for an outcome).
        call_actions.ingest_call_event(as_operator, call_schemas.CallEventIn(
            event_id=f"{ref}-ended", call_ref=ref, type="ended", at=event_time + timedelta(minutes=3)))
        call = ctx.db.get(Call, call_id)
        assert call is not None
        ctx.db.refresh(call)
        call_actions.update_call(as_operator, call.id, call_schemas.CallUpdate(version=call.version,
                                                                              outcome="emergency"))
        for code in codes:
            if code in agencies:
                dispatch.create_assignment(as_dispatcher, out.id,
                                           incident_schemas.AssignmentCreate(agency_id=agencies[code]))
        _under_way(as_dispatcher, out.id)
        count += 1
    return count


def _under_way(ctx: Ctx, incident_id: int) -> None:
    """Every agency has acknowledged (by radio, recorded by the dispatcher) and sent its nearest free unit,
    as on a real board a few minutes in: the clocks left running are the realistic ones (units to arrive,
    15–30 minutes), not a minute to acknowledge that would turn a demo board red before anyone looks."""
    for a in incident_service.incident_out(ctx.db, ctx.db.get(Incident, incident_id)).assignments:
        dispatch.change_assignment_state(ctx, a.id, incident_schemas.AssignmentStateIn(state="acknowledged",
                                                                                       version=a.version))
        ranked = dispatch.recommend_for_assignment(ctx, a.id)
        # The fastest by road; where the demo's roads do not reach, the nearest on the map (the recommendation
        # lists only free units: busy and out-of-service ones are not among them).
        best = next((r for r in ranked if r.offered), None) or min(
            ranked, key=lambda r: r.straight_m if r.straight_m is not None else float("inf"), default=None)
        if best is not None:
            dispatch.assign_unit(ctx, a.id, incident_schemas.AssignUnitIn(unit_id=best.unit_id))
