"""The guard for every event kind (Zulip's verify_action): for each kind, a real action that emits it, run
through the real action functions; the snapshot each console loaded before it, plus the events the stream
sends that console (its audience, its masking, decoded from the SSE text), equals a fresh snapshot after it
— for two staff consoles (a call-taker, who sees full numbers, and a dispatcher, who sees them masked) and
an agency console. And the kind's own events must change that state (a kind whose events change nothing
is a defect: either the console keeps something stale or the event is noise), except the reference-data
kinds named in live/snapshot.REFERENCE_KINDS, which must change none of it. A new EventKind with neither a
case here nor a place in that set fails test_every_event_kind_is_guarded_or_declared_reference_data.

Caller measures (nuisance flags, lower priority) have no kind of their own: they reach consoles inside
call.updated, as the number's live calls announced again — the measure case below proves that path."""

from __future__ import annotations

import copy
import csv as csv_module
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from siaga.core.authz import Principal
from siaga.core.context import Ctx
from siaga.db.engine import open_session
from siaga.domains.agencies.models import Agency
from siaga.domains.users.actions import principal_of
from siaga.domains.users.models import User
from siaga.events.hub import read_events
from siaga.events.kinds import EVENT_KINDS, EventKind
from siaga.live.snapshot import REFERENCE_KINDS, apply_event
from tests.conftest import PASSWORD
from tests.consoles import follow, snapshot_as, without_position

STAFF = ("ct", "disp")
AGENCY = "damkar"
NUMBER = "081277771234"


@dataclass
class World:
    """The seeded centre, and what a case's setup made in it (`ids`)."""

    engine: Any
    clock: Any
    settings: Any
    make_ctx: Callable[[str], Any]
    tmp: Path
    ids: dict[str, int] = field(default_factory=dict)

    def act(self, username: str, fn: Callable[[Ctx], Any]) -> Any:
        """One action as this user, in a unit of work of its own (committed when `fn` returns)."""
        with self.make_ctx(username) as ctx:
            return fn(ctx)

    def user_id(self, username: str) -> int:
        with open_session(self.engine, write=False) as db:
            return db.scalar(select(User.id).where(User.username == username))

    def agency_id(self, code: str) -> int:
        with open_session(self.engine, write=False) as db:
            return db.scalar(select(Agency.id).where(Agency.code == code))

    def observers(self) -> dict[str, Principal]:
        with open_session(self.engine, write=False) as db:
            users = db.scalars(select(User).where(User.username.in_((*STAFF, AGENCY))))
            return {u.username: principal_of(u) for u in users}


@pytest.fixture
def world(engine, clock, settings, ctx_factory, tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    yield World(engine, clock, settings, ctx_factory, tmp_path)


# --- what cases build on ------------------------------------------------------------------------------------

def an_incident(w: World, *, for_damkar: bool = False, acknowledged: bool = False) -> None:
    from siaga.domains.dispatch import actions as dispatch
    from siaga.domains.incidents import actions as incidents
    from siaga.domains.incidents import schemas as inc

    w.ids["incident"] = w.act("disp", lambda ctx: incidents.create_incident(
        ctx, inc.IncidentCreate(category_code="kebakaran", description="Rumah terbakar"))).id
    if for_damkar:
        out = w.act("disp", lambda ctx: dispatch.create_assignment(
            ctx, w.ids["incident"], inc.AssignmentCreate(agency_id=w.agency_id("DAMKAR"))))
        w.ids["assignment"] = out.assignments[0].id
    if acknowledged:
        w.act("damkar", lambda ctx: dispatch.change_assignment_state(ctx, w.ids["assignment"], inc.AssignmentStateIn(
            state="acknowledged", version=version_of(ctx, "assignment", w.ids["assignment"]))))


def version_of(ctx: Ctx, what: str, id_: int) -> int:
    from siaga.domains.calls.models import Call
    from siaga.domains.incidents.models import Assignment, Incident
    from siaga.domains.units.models import Unit

    model = {"incident": Incident, "assignment": Assignment, "unit": Unit, "call": Call}[what]
    return ctx.db.get(model, id_).version


def a_damkar_unit(w: World) -> int:
    from siaga.domains.units.models import Unit

    with open_session(w.engine, write=False) as db:
        return db.scalar(select(Unit.id).where(Unit.agency_id == w.agency_id("DAMKAR"), Unit.active.is_(True),
                                               Unit.status == "available").order_by(Unit.id).limit(1))


def a_call(w: World, ref: str = "guard-1") -> None:
    from siaga.domains.calls import actions as calls
    from siaga.domains.calls import schemas as call_schemas

    w.ids["call"] = w.act("phone", lambda ctx: calls.ingest_call_event(ctx, call_schemas.CallEventIn(
        event_id=f"{ref}-offered", call_ref=ref, type="offered", at=w.clock.now(), caller_number=NUMBER))).call.id


def a_line(w: World) -> None:
    from siaga.domains.telephony import actions as telephony
    from siaga.domains.telephony import schemas as tel

    w.act("admin", lambda ctx: telephony.set_line(ctx, w.user_id("ct"), tel.LineIn(extension="1001",
                                                                                   password="rahasia-uji-1")))


def closed_incident(w: World) -> None:
    from siaga.domains.incidents import actions as incidents
    from siaga.domains.incidents import schemas as inc

    an_incident(w)
    i = w.ids["incident"]
    for target in ("resolved", "closed"):
        w.act("disp", lambda ctx, t=target: incidents.change_incident_status(ctx, i, inc.IncidentStatusIn(
            status=t, version=version_of(ctx, "incident", i), note="api padam")))


def escalation_due(w: World) -> None:
    from siaga.domains.incidents.models import Deadline

    an_incident(w, for_damkar=True)
    with open_session(w.engine, write=False) as db:
        due = db.scalar(select(Deadline.due_at).where(Deadline.state == "pending").order_by(Deadline.due_at))
    w.clock.set(due + timedelta(seconds=1))


# --- the actions under guard ---------------------------------------------------------------------------------

def create_incident(w: World) -> None:
    an_incident(w)


def update_incident(w: World) -> None:
    from siaga.domains.incidents import actions as incidents
    from siaga.domains.incidents import schemas as inc

    i = w.ids["incident"]
    w.act("disp", lambda ctx: incidents.update_incident(ctx, i, inc.IncidentUpdate(
        version=version_of(ctx, "incident", i), priority=1, address_text="Jl. Pramuka 12")))


def link_call(w: World) -> None:
    from siaga.domains.incidents import actions as incidents
    from siaga.domains.incidents import schemas as inc

    w.act("disp", lambda ctx: incidents.link_call(ctx, w.ids["incident"], inc.LinkCallIn(call_id=w.ids["call"])))


def change_status(target: str, note: str = "") -> Callable[[World], None]:
    def act(w: World) -> None:
        from siaga.domains.incidents import actions as incidents
        from siaga.domains.incidents import schemas as inc

        i = w.ids["incident"]
        w.act("disp", lambda ctx: incidents.change_incident_status(ctx, i, inc.IncidentStatusIn(
            status=target, version=version_of(ctx, "incident", i), note=note)))
    return act


def assign_damkar(w: World) -> None:
    from siaga.domains.dispatch import actions as dispatch
    from siaga.domains.incidents import schemas as inc

    w.act("disp", lambda ctx: dispatch.create_assignment(ctx, w.ids["incident"],
                                                         inc.AssignmentCreate(agency_id=w.agency_id("DAMKAR"))))


def acknowledge(w: World) -> None:
    from siaga.domains.dispatch import actions as dispatch
    from siaga.domains.incidents import schemas as inc

    a = w.ids["assignment"]
    w.act("damkar", lambda ctx: dispatch.change_assignment_state(ctx, a, inc.AssignmentStateIn(
        state="acknowledged", version=version_of(ctx, "assignment", a))))


def send_unit(w: World) -> None:
    from siaga.domains.dispatch import actions as dispatch
    from siaga.domains.incidents import schemas as inc

    unit = a_damkar_unit(w)
    w.act("damkar", lambda ctx: dispatch.assign_unit(ctx, w.ids["assignment"], inc.AssignUnitIn(unit_id=unit)))


def fire_deadlines(w: World) -> None:
    from siaga.domains.dispatch.escalation import fire_due

    assert fire_due(w.engine, w.clock, w.settings) >= 1


def create_unit(w: World) -> None:
    from siaga.domains.units import actions as units
    from siaga.domains.units import schemas as unit_schemas

    w.act("admin", lambda ctx: units.create_unit(ctx, unit_schemas.UnitCreate(
        callsign="DMK-UJI-01", agency_id=w.agency_id("DAMKAR"), type="pumper")))


def report_unit_status(w: World) -> None:
    from siaga.domains.dispatch import actions as dispatch
    from siaga.domains.units import schemas as unit_schemas

    unit = a_damkar_unit(w)
    w.act("damkar", lambda ctx: dispatch.report_unit_status(ctx, unit, unit_schemas.UnitStatusIn(
        status="out_of_service", version=version_of(ctx, "unit", unit))))


def offer_call(w: World) -> None:
    a_call(w)


def answer_call(w: World) -> None:
    from siaga.domains.calls import actions as calls
    from siaga.domains.calls import schemas as call_schemas

    w.act("phone", lambda ctx: calls.ingest_call_event(ctx, call_schemas.CallEventIn(
        event_id="guard-1-answered", call_ref="guard-1", type="answered", at=w.clock.now(),
        operator_username="ct")))


def flag_number(w: World) -> None:
    from siaga.domains.callers import actions as callers
    from siaga.domains.callers import schemas as caller_schemas

    w.act("sup", lambda ctx: callers.propose_measure(ctx, NUMBER, caller_schemas.MeasureCreate(
        kind="flag", reason="panggilan iseng berulang")))


def add_note(w: World) -> None:
    from siaga.domains.incidents import actions as incidents
    from siaga.domains.incidents import schemas as inc

    w.act("damkar", lambda ctx: incidents.add_note(ctx, w.ids["incident"], inc.NoteIn(text="Tim tiba 5 menit")))


def set_line(w: World) -> None:
    a_line(w)


def go_available(w: World) -> None:
    from siaga.domains.telephony import actions as telephony
    from siaga.domains.telephony import schemas as tel

    w.act("ct", lambda ctx: telephony.set_presence(ctx, tel.PresenceIn(state="available")))


def phone_registers(w: World) -> None:
    from siaga.domains.telephony import actions as telephony

    w.act("phone", lambda ctx: telephony.registered(ctx, "1001", "<sip:1001@10.0.0.5:5060>", "600"))


def edge_up(w: World) -> None:
    from siaga.domains.telephony import actions as telephony

    w.act("phone", lambda ctx: telephony.edge_seen(ctx, "up"))


def create_agency(w: World) -> None:
    from siaga.domains.agencies import actions, schemas

    w.act("admin", lambda ctx: actions.create_agency(ctx, schemas.AgencyCreate(
        code="BPBD_UJI", name="Badan Penanggulangan Bencana Uji", short_name="BPBD Uji", kind="bpbd")))


def update_agency(w: World) -> None:
    from siaga.domains.agencies import actions, schemas
    from siaga.domains.agencies.models import Agency

    def act(ctx):  # type: ignore[no-untyped-def]
        agency = ctx.db.get(Agency, w.agency_id("DAMKAR"))
        actions.update_agency(ctx, agency.id, schemas.AgencyUpdate(version=agency.version, phone="(0766) 21-113"))
    w.act("admin", act)


def create_station(w: World) -> None:
    from siaga.domains.agencies import actions, schemas

    w.act("admin", lambda ctx: actions.create_station(ctx, schemas.StationCreate(
        code="POS-UJI", agency_id=w.agency_id("DAMKAR"), name="Pos Damkar Uji")))


def create_category(w: World) -> None:
    from siaga.domains.incidents import actions, schemas

    w.act("admin", lambda ctx: actions.create_category(ctx, schemas.CategoryCreate(
        code="uji_guard", name_id="Kejadian uji", name_en="Test incident")))


def create_landmark(w: World) -> None:
    from siaga.domains.regions import actions, schemas

    w.act("admin", lambda ctx: actions.create_landmark(ctx, schemas.LandmarkCreate(
        name="Tugu Uji", lat=1.46, lon=102.1)))


def create_question(w: World) -> None:
    from siaga.domains.incidents import questions
    from siaga.domains.incidents.schemas import Question

    w.act("admin", lambda ctx: questions.create_question(ctx, questions.GuidedQuestionIn(
        category_code="kebakaran", question=Question(id="guard_asap", kind="yesno", text_id="Ada asap tebal?",
                                                     text_en="Thick smoke?"))))


def load_reference(w: World) -> None:
    """A site folder (its CSVs, nothing else) with a category and a fire engine the database lacks."""
    from siaga.data.load import BENGKALIS
    from siaga.data.load import load_reference as load

    folder = w.tmp / "site"
    folder.mkdir()
    for csv in BENGKALIS.glob("*.csv"):
        shutil.copy(csv, folder / csv.name)
    add_row(folder / "categories.csv", code="uji_muat", name_id="Muat uji", name_en="Load test", default_priority="3")
    with (folder / "units.csv").open(encoding="utf-8") as f:
        damkar = next(r for r in csv_module.DictReader(f) if r["agency_code"] == "DAMKAR")
    add_row(folder / "units.csv", **{**damkar, "callsign": "DMK-MUAT-01"})
    report = w.act("admin", lambda ctx: load(ctx, folder))
    assert report.added == {"categories": 1, "units": 1}


def add_row(path: Path, **row: str) -> None:
    text = path.read_text(encoding="utf-8")
    header = text.splitlines()[0].split(",")
    with path.open("a", encoding="utf-8", newline="") as f:
        if not text.endswith("\n"):
            f.write("\n")
        csv_module.DictWriter(f, header).writerow({h: row.get(h, "") for h in header})


def replace_roads(w: World) -> None:
    from siaga.domains.roads.actions import DEMO_FILE, replace_network
    from siaga.domains.roads.importer import read_demo

    w.act("admin", lambda ctx: replace_network(ctx, read_demo(DEMO_FILE)))


def import_boundary(w: World) -> None:
    from siaga.data.load import BENGKALIS
    from siaga.domains.regions.actions import import_boundaries
    from siaga.domains.regions.geometry import parse_boundaries

    features = json.loads((BENGKALIS / "boundaries.geojson").read_text(encoding="utf-8"))["features"]
    one = [f for f in features if f["properties"]["kode"] == "14.03.01.2005"]
    parsed = parse_boundaries({"type": "FeatureCollection", "features": one}, "uji.geojson")
    w.act("admin", lambda ctx: import_boundaries(ctx, parsed, replace=True))


def import_patokan(w: World) -> None:
    from siaga.domains.regions.actions import import_landmarks
    from siaga.domains.regions.models import Region
    from siaga.domains.regions.schemas import PatokanIn

    with open_session(w.engine, write=False) as db:
        desa = db.get(Region, "14.03.01.2005")
        lat, lon = desa.lat, desa.lon
    w.act("admin", lambda ctx: import_landmarks(ctx, [PatokanIn("node/9001", "Masjid Uji", "mosque", lat, lon)],
                                                source="uji", region_code=w.settings.region_code))


# --- the cases ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    kind: EventKind
    name: str
    action: Callable[[World], None]
    setup: Callable[[World], None] = lambda w: None
    agency_sees: bool = False  # the DAMKAR console must be changed by the kind's events (else: left alone)


CASES = [
    Case(EventKind.INCIDENT_CREATED, "an incident is created", create_incident),
    Case(EventKind.INCIDENT_UPDATED, "an agency's incident is edited", update_incident,
         lambda w: an_incident(w, for_damkar=True), agency_sees=True),
    Case(EventKind.INCIDENT_UPDATED, "a call is linked to an incident", link_call,
         lambda w: (an_incident(w, for_damkar=True), a_call(w)), agency_sees=True),
    Case(EventKind.INCIDENT_STATUS_CHANGED, "an agency's incident is resolved", change_status("resolved"),
         lambda w: an_incident(w, for_damkar=True), agency_sees=True),
    Case(EventKind.INCIDENT_STATUS_CHANGED, "resolving stands down an agency whose unit is sent (released)",
         change_status("resolved"), lambda w: (an_incident(w, for_damkar=True, acknowledged=True), send_unit(w)),
         agency_sees=True),
    Case(EventKind.INCIDENT_STATUS_CHANGED, "an incident leaves every view, timeline and all",
         change_status("cancelled", "laporan palsu"), lambda w: an_incident(w, for_damkar=True), agency_sees=True),
    Case(EventKind.INCIDENT_STATUS_CHANGED, "a closed incident is reopened with its history",
         change_status("dispatched", "api menyala lagi"), closed_incident),
    Case(EventKind.INCIDENT_ASSIGNMENT_ADDED, "an incident comes into an agency's view", assign_damkar,
         an_incident, agency_sees=True),
    Case(EventKind.INCIDENT_ASSIGNMENT_CHANGED, "the agency acknowledges", acknowledge,
         lambda w: an_incident(w, for_damkar=True), agency_sees=True),
    Case(EventKind.INCIDENT_UNIT_ASSIGNED, "the agency sends a unit", send_unit,
         lambda w: an_incident(w, for_damkar=True, acknowledged=True), agency_sees=True),
    Case(EventKind.INCIDENT_ESCALATED, "an acknowledgement deadline passes", fire_deadlines, escalation_due,
         agency_sees=True),
    Case(EventKind.UNIT_CREATED, "an agency gets a unit", create_unit, agency_sees=True),
    Case(EventKind.UNIT_STATUS_CHANGED, "a unit goes out of service", report_unit_status, agency_sees=True),
    Case(EventKind.CALL_CREATED, "a call is offered", offer_call),
    Case(EventKind.CALL_UPDATED, "a call is answered", answer_call, a_call),
    Case(EventKind.CALL_UPDATED, "a nuisance measure on the caller's number", flag_number, a_call),
    Case(EventKind.TIMELINE_ADDED, "the agency adds a note", add_note,
         lambda w: an_incident(w, for_damkar=True), agency_sees=True),
    Case(EventKind.TELEPHONY_LINE, "an operator gets a line", set_line),
    Case(EventKind.TELEPHONY_LINE, "an operator becomes available", go_available, a_line),
    Case(EventKind.TELEPHONY_LINE, "an operator's phone registers", phone_registers, a_line),
    Case(EventKind.TELEPHONY_EDGE, "the SIP edge comes up", edge_up),
    Case(EventKind.AGENCY_CREATED, "an agency is added", create_agency),
    Case(EventKind.AGENCY_UPDATED, "an agency's number is corrected", update_agency),
    Case(EventKind.STATION_CREATED, "a station is added", create_station),
    Case(EventKind.CATEGORY_CREATED, "a category is added", create_category),
    Case(EventKind.LANDMARK_CREATED, "a patokan is added by hand", create_landmark),
    Case(EventKind.QUESTION_CHANGED, "a guided question is added", create_question),
    Case(EventKind.REFERENCE_LOADED, "a site folder is loaded", load_reference),
    Case(EventKind.ROADS_NETWORK_REPLACED, "the road network is replaced", replace_roads),
    Case(EventKind.REGIONS_BOUNDARIES_IMPORTED, "a desa outline is imported", import_boundary),
    Case(EventKind.REGIONS_LANDMARKS_IMPORTED, "patokan are imported", import_patokan),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind.value}: {c.name}")
def test_events_bring_every_console_to_a_fresh_snapshot(world, case):
    case.setup(world)
    who = world.observers()
    now = world.clock.now()
    before = {name: snapshot_as(world.engine, p, now) for name, p in who.items()}
    case.action(world)
    events = read_events(world.engine, min(s["last_event_id"] for s in before.values()), 10_000)
    emitted = {e["kind"] for e in events}
    assert case.kind in emitted, f"the action did not emit {case.kind}: {sorted(emitted)}"
    for name, p in who.items():
        followed = follow(world.engine, copy.deepcopy(before[name]), events, p)
        fresh = snapshot_as(world.engine, p, now)
        assert without_position(followed) == without_position(fresh), f"{name}'s console drifted"
        # What the kind's own events did: the same console, sent every event of the action but those.
        others = [e for e in events if e["kind"] != case.kind]
        changed = without_position(followed) != without_position(follow(world.engine, copy.deepcopy(before[name]),
                                                                         others, p))
        if case.kind in REFERENCE_KINDS:
            assert not changed, f"{case.kind} is declared reference data, yet it changed {name}'s console"
        elif name in STAFF or case.agency_sees:
            assert changed, f"{case.kind} changed nothing in {name}'s console"
        else:
            assert not changed, f"{case.kind} reached {name}'s console, which may not see it"


def test_the_guard_sees_a_change_its_events_do_not_carry(world):
    """The guard can fail: a timeline entry written without its event leaves a followed console behind."""
    from siaga.domains.incidents.models import TimelineEntry

    an_incident(world, for_damkar=True)
    who = world.observers()
    now = world.clock.now()
    before = {name: snapshot_as(world.engine, p, now) for name, p in who.items()}
    with world.make_ctx("disp") as ctx:
        ctx.db.add(TimelineEntry(incident_id=world.ids["incident"], at=now, actor="Test disp", kind="note",
                                 text="tanpa peristiwa", data={}))
    events = read_events(world.engine, min(s["last_event_id"] for s in before.values()), 10_000)
    for name, p in who.items():
        followed = follow(world.engine, copy.deepcopy(before[name]), events, p)
        assert without_position(followed) != without_position(snapshot_as(world.engine, p, now)), name


def test_every_event_kind_is_guarded_or_declared_reference_data():
    guarded = {case.kind for case in CASES}
    assert set(EventKind) - guarded - REFERENCE_KINDS == set(), "a kind with no guard and no place in REFERENCE_KINDS"
    assert {case.kind for case in CASES if case.agency_sees} <= set(EventKind) - REFERENCE_KINDS


def test_a_kind_with_no_rule_is_refused_by_the_reducer():
    """apply_event refuses an event it has no rule for instead of leaving the console's copy stale."""
    who = Principal(user_id=1, username="disp", full_name="Disp", role="dispatcher", agency_id=None)
    state = {"last_event_id": 0, "incidents": {}, "units": {}, "calls": {}}
    event = {"id": 1, "at": "2026-11-27T01:00:00+00:00", "kind": "shift.changed", "entity": "shift",
             "entity_id": 1, "payload": {}}
    with pytest.raises(ValueError, match="no rule for shift.changed"):
        apply_event(state, event, who)
    apply_event(state, {**event, "kind": EventKind.AGENCY_CREATED.value, "entity": "agency"}, who)
    assert state["last_event_id"] == 1


def test_consoles_are_handed_every_kind_to_listen_for(app):
    """The page gives siaga.js the kinds it subscribes to (REF.event_kinds): exactly the enumeration's."""
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert client.post("/login", data={"username": "disp", "password": PASSWORD, "next": "/"}).status_code == 303
    page = client.get("/board")
    blob = re.search(r'<script type="application/json" id="siaga-ref">(.*?)</script>', page.text, re.S).group(1)
    assert json.loads(blob)["event_kinds"] == [kind.value for kind in EventKind] == list(EVENT_KINDS)
