"""Consoles never drift: for any sequence of changes, the snapshot a console loaded plus the events it
was sent (filtered and, for callers' numbers, masked as the stream sends them) equals a fresh snapshot —
for staff and agency consoles, in the live store (incidents, units, calls) and in what pages keep (the
timeline of open incidents, operators' lines, the SIP edge). test_event_guard.py proves it kind by kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from siaga.core.errors import Problem
from siaga.db.engine import open_session
from siaga.domains.agencies.models import Agency
from siaga.domains.callers import actions as callers
from siaga.domains.callers import schemas as caller_schemas
from siaga.domains.calls import actions as calls
from siaga.domains.calls import schemas as call_schemas
from siaga.domains.dispatch import actions as dispatch
from siaga.domains.incidents import actions as incidents
from siaga.domains.incidents import schemas as inc
from siaga.domains.incidents.models import Assignment, Incident
from siaga.domains.telephony import actions as telephony
from siaga.domains.telephony import schemas as tel
from siaga.domains.units import schemas as unit_schemas
from siaga.domains.units.models import Unit
from siaga.domains.users.actions import principal_of
from siaga.domains.users.models import User
from siaga.events.hub import read_events
from tests.consoles import follow, without_position
from tests.consoles import snapshot_as as fresh_snapshot

OBSERVERS = ("disp", "ct", "damkar", "dinkes", "admin")

op = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(["kebakaran", "medis", "orang_hilang"])),
    st.tuples(st.just("assign"), st.integers(0, 5), st.sampled_from(["DAMKAR", "DINKES", "POLRES"])),
    st.tuples(st.just("ack"), st.integers(0, 10)),
    st.tuples(st.just("send_unit"), st.integers(0, 10), st.integers(0, 5)),
    st.tuples(st.just("unit_status"), st.integers(0, 29),
              st.sampled_from(["en_route", "on_scene", "returning", "available", "out_of_service"])),
    st.tuples(st.just("incident_status"), st.integers(0, 5),
              st.sampled_from(["resolved", "cancelled", "closed", "dispatched"])),  # dispatched: a reopening
    st.tuples(st.just("clear"), st.integers(0, 10)),
    st.tuples(st.just("call"), st.integers(0, 3), st.sampled_from(["offered", "answered", "ended", "abandoned"])),
    st.tuples(st.just("note"), st.integers(0, 5), st.sampled_from(["disp", "damkar", "dinkes"])),
    st.tuples(st.just("measure"), st.sampled_from(["flag", "lower_priority"])),
    st.tuples(st.just("line"), st.sampled_from(["ct", "sup"]), st.sampled_from(["1001", "1002"])),
    st.tuples(st.just("presence"), st.sampled_from(["ct", "sup"]), st.sampled_from(["available", "break", "offline"])),
    # A day: a registration that lapses on its own is not announced (the telephony bar polls for it), and
    # the examples' clock moves on by at most a few hours.
    st.tuples(st.just("register"), st.sampled_from(["1001", "1002"]), st.sampled_from(["86400", "0"])),
    st.tuples(st.just("edge"), st.sampled_from(["up", "down"])),
)


def run(engine, clock, settings_, username, fn):  # type: ignore[no-untyped-def]
    from siaga.core.context import Ctx

    db = open_session(engine, write=True)
    try:
        with db.begin():
            user = db.scalar(select(User).where(User.username == username))
            fn(Ctx(db=db, actor=principal_of(user), clock=clock, settings=settings_))
    except Problem:
        pass  # refused moves are part of real life; they must leave no trace in the stream either
    finally:
        db.close()


def apply_op(engine, clock, settings_, step, counter):  # type: ignore[no-untyped-def]
    kind = step[0]
    clock.advance(seconds=7)

    def nth(db, model, i, *where):  # type: ignore[no-untyped-def]
        rows = db.scalars(select(model).where(*where).order_by(model.id)).all()
        return rows[i % len(rows)] if rows else None

    def body(ctx):  # type: ignore[no-untyped-def]
        db = ctx.db
        if kind == "create":
            incidents.create_incident(ctx, inc.IncidentCreate(category_code=step[1]))
        elif kind == "assign":
            i = nth(db, Incident, step[1])
            agency = db.scalar(select(Agency).where(Agency.code == step[2]))
            if i is not None:
                dispatch.create_assignment(ctx, i.id, inc.AssignmentCreate(agency_id=agency.id))
        elif kind in ("ack", "clear"):
            a = nth(db, Assignment, step[1])
            if a is not None:
                state = "acknowledged" if kind == "ack" else "cleared"
                dispatch.change_assignment_state(ctx, a.id, inc.AssignmentStateIn(state=state, version=a.version))
        elif kind == "send_unit":
            a = nth(db, Assignment, step[1])
            if a is not None:
                u = nth(db, Unit, step[2], Unit.agency_id == a.agency_id)
                if u is not None:
                    dispatch.assign_unit(ctx, a.id, inc.AssignUnitIn(unit_id=u.id))
        elif kind == "unit_status":
            u = nth(db, Unit, step[1])
            dispatch.report_unit_status(ctx, u.id, unit_schemas.UnitStatusIn(status=step[2], version=u.version))
        elif kind == "incident_status":
            i = nth(db, Incident, step[1])
            if i is not None:
                incidents.change_incident_status(ctx, i.id, inc.IncidentStatusIn(
                    status=step[2], version=i.version, note="selesai"))
        elif kind == "call":
            counter[0] += 1
            calls.ingest_call_event(ctx, call_schemas.CallEventIn(
                event_id=f"ev-{counter[0]}", call_ref=f"call-{step[1]}", type=step[2],
                at=datetime(2026, 11, 27, 1, tzinfo=UTC) + timedelta(seconds=counter[0]),
                caller_number="0812"))
        elif kind == "note":
            i = nth(db, Incident, step[1])
            if i is not None:
                incidents.add_note(ctx, i.id, inc.NoteIn(text="catatan"))
        elif kind == "measure":
            callers.propose_measure(ctx, "0812", caller_schemas.MeasureCreate(kind=step[1], reason="uji iseng"))
        elif kind == "line":
            user = db.scalar(select(User).where(User.username == step[1]))
            telephony.set_line(ctx, user.id, tel.LineIn(extension=step[2], password="rahasia-uji-1"))
        elif kind == "presence":
            telephony.set_presence(ctx, tel.PresenceIn(state=step[2]))
        elif kind == "register":
            telephony.registered(ctx, step[1], f"<sip:{step[1]}@10.0.0.5:5060>", step[2])
        elif kind == "edge":
            telephony.edge_seen(ctx, step[1])

    # Each change as whoever makes it in real life (a note by the agency, presence by its operator).
    actor = {"note": step[-1], "measure": "sup", "line": "admin", "presence": step[1], "register": "phone",
             "edge": "phone"}.get(kind, "disp")
    run(engine, clock, settings_, actor, body)


def snapshot_as(engine, who, clock):  # type: ignore[no-untyped-def]
    return fresh_snapshot(engine, who, clock.now())


def principals(engine):  # type: ignore[no-untyped-def]
    with open_session(engine, write=False) as db:
        return {u.username: principal_of(u) for u in db.scalars(select(User).where(User.username.in_(OBSERVERS)))}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=25))
def test_snapshot_plus_events_equals_fresh_snapshot(engine, clock, settings, steps):
    who = principals(engine)
    before = {name: snapshot_as(engine, p, clock) for name, p in who.items()}
    counter = [hash(tuple(map(str, steps))) & 0xFFFFFF]
    for step in steps:
        apply_op(engine, clock, settings, step, counter)
    events = read_events(engine, min(s["last_event_id"] for s in before.values()), 100_000)
    for name, p in who.items():
        state = follow(engine, before[name], events, p)
        fresh = snapshot_as(engine, p, clock)
        assert state.keys() == fresh.keys()
        for table, rows in without_position(fresh).items():
            assert state[table] == rows, (name, table)


def test_agency_snapshot_holds_only_that_agencys_incidents_and_units(engine, clock, settings):
    apply_op(engine, clock, settings, ("create", "medis"), [0])
    apply_op(engine, clock, settings, ("create", "kebakaran"), [0])
    apply_op(engine, clock, settings, ("assign", 1, "DAMKAR"), [0])
    who = principals(engine)
    damkar = snapshot_as(engine, who["damkar"], clock)
    assert len(damkar["incidents"]) == 1 and damkar["calls"] == {}
    assert damkar["lines"] == {} and damkar["edge"] is None  # the telephony bar is the centre's, not an agency's
    damkar_id = who["damkar"].agency_id
    assert {u["agency_id"] for u in damkar["units"].values()} == {damkar_id}
    assert len(snapshot_as(engine, who["disp"], clock)["incidents"]) == 2
