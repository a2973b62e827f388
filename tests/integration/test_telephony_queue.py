"""The queue's decisions without a phone in sight: who rings next, presence, lines, out of hours, and
the console claim against a ringing phone. (tests/integration/test_sip_edge.py does the same with real
SIP peers.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from siaga.core.errors import Problem
from siaga.domains.calls import actions as call_actions
from siaga.domains.calls.models import Call, RingAttempt
from siaga.domains.calls.schemas import CallClaim, LocationIn
from siaga.domains.telephony import actions, schemas
from siaga.domains.telephony.bridge import encode_netstring, number_from_uri
from siaga.domains.telephony.models import OperatorLine
from siaga.domains.users.models import User


def uid(ctx, username: str) -> int:  # type: ignore[no-untyped-def]
    return ctx.db.scalar(select(User.id).where(User.username == username))


def give_line(ctx_factory, username: str, ext: str, presence: str = "available", registered: bool = True,
              idle_minutes: int = 0) -> None:  # type: ignore[no-untyped-def]
    with ctx_factory(username) as ctx:
        actions.set_line(ctx, uid(ctx, username), schemas.LineIn(extension=ext, password="password-" + ext))
        actions.set_presence(ctx, schemas.PresenceIn(state=presence))  # type: ignore[arg-type]
        line = ctx.db.get(OperatorLine, uid(ctx, username))
        line.idle_since = ctx.now() - timedelta(minutes=idle_minutes)
        if registered:
            actions.registered(ctx, ext, f"<sip:{ext}@10.0.0.5:5060>;expires=300", "")


def offer(ctx_factory, ref: str, number: str = "081200000001", seconds_ago: int = 0):  # type: ignore[no-untyped-def]
    with ctx_factory("phone") as ctx:
        call, refuse = actions.offered(ctx, ref, ctx.now() - timedelta(seconds=seconds_ago), number, "112",
                                       [LocationIn(source="pidf_lo", valid=False, invalid_reason="garbled")])
        return call, refuse


def test_longest_idle_available_operator_rings_first_and_calls_in_order(ctx_factory) -> None:
    give_line(ctx_factory, "ct", "1001", idle_minutes=1)
    give_line(ctx_factory, "sup", "1002", idle_minutes=9)
    offer(ctx_factory, "older", seconds_ago=30)
    offer(ctx_factory, "newer", seconds_ago=5)
    with ctx_factory("phone") as ctx:
        rings = actions.plan_rings(ctx, {"older", "newer"})
    assert [(r.call_ref, r.extension) for r in rings] == [("older", "1002"), ("newer", "1001")]
    with ctx_factory("phone") as ctx:  # both busy now: nothing more to ring
        assert actions.plan_rings(ctx, {"older", "newer"}) == []


def test_break_offline_and_unregistered_phones_are_never_rung(ctx_factory) -> None:
    give_line(ctx_factory, "ct", "1001", presence="break")
    give_line(ctx_factory, "sup", "1002", registered=False)
    call, refuse = offer(ctx_factory, "c1")
    assert refuse is None and call.status == "offered"  # on duty (ct on break): the call waits
    with ctx_factory("phone") as ctx:
        assert actions.plan_rings(ctx, {"c1"}) == []


def test_nobody_on_duty_is_missed_out_of_hours_with_the_fallback(ctx_factory, settings) -> None:
    give_line(ctx_factory, "ct", "1001", presence="offline")
    call, refuse = offer(ctx_factory, "night")
    assert refuse is not None and refuse.code == 480 and refuse.uri == ""
    assert call.status == "abandoned" and call.outcome == "missed_out_of_hours"
    assert [loc.valid for loc in call.locations] == [False]  # the garbled location is kept, flagged


def test_ring_timeout_puts_the_operator_on_break_and_frees_the_call_for_the_next(ctx_factory) -> None:
    give_line(ctx_factory, "ct", "1001", idle_minutes=5)
    give_line(ctx_factory, "sup", "1002", idle_minutes=1)
    offer(ctx_factory, "c1")
    with ctx_factory("phone") as ctx:
        [ring] = actions.plan_rings(ctx, {"c1"})
        assert ring.extension == "1001"
    with ctx_factory("phone") as ctx:
        actions.ring_failed(ctx, "c1", "1001", "timeout")
    with ctx_factory("phone") as ctx:
        [ring] = actions.plan_rings(ctx, {"c1"})
        assert ring.extension == "1002"
        assert ctx.db.get(OperatorLine, uid(ctx, "ct")).presence == "break"
    with ctx_factory("phone") as ctx:
        out = actions.answered(ctx, "c1", "1002", ctx.now())
        assert out is not None and out.operator_id == uid(ctx, "sup")
        results = ctx.db.execute(select(RingAttempt.user_id, RingAttempt.result).order_by(RingAttempt.id)).all()
        assert [r for _, r in results] == ["timeout", "answered"]


def test_a_call_ringing_at_one_phone_cannot_be_claimed_on_another_console(ctx_factory) -> None:
    give_line(ctx_factory, "sup", "1002")
    offer(ctx_factory, "c1")
    with ctx_factory("phone") as ctx:
        actions.plan_rings(ctx, {"c1"})
    with ctx_factory("ct") as ctx:
        call = ctx.db.scalar(select(Call).where(Call.external_ref == "c1"))
        with pytest.raises(Problem) as err:
            call_actions.claim_call(ctx, call.id, CallClaim(version=call.version))
        assert err.value.status == 409 and err.value.params["username"] == "sup"


def test_presence_is_ones_own_unless_supervisor_and_lines_are_validated(api, ctx_factory) -> None:
    give_line(ctx_factory, "ct", "1001")
    r = api("ct").put("/api/v1/telephony/presence", json={"state": "break"})
    assert r.status_code == 200 and r.json()["presence"] == "break"
    with ctx_factory("sup") as ctx:
        sup_id, ct_id = uid(ctx, "sup"), uid(ctx, "ct")
    other = api("ct").put("/api/v1/telephony/presence", json={"state": "available", "user_id": sup_id})
    assert other.status_code == 403
    r = api("sup").put("/api/v1/telephony/presence", json={"state": "available", "user_id": ct_id})
    assert r.status_code == 200 and r.json()["presence"] == "available"
    assert api("ct").put("/api/v1/telephony/presence", json={"state": "asleep"}).status_code == 422
    taken = api("admin").put(f"/api/v1/telephony/lines/{sup_id}", json={"extension": "1001", "password": "x" * 10})
    assert taken.status_code == 422 and taken.json()["errors"][0]["field"] == "body.extension"
    with ctx_factory("disp") as ctx:
        disp_id = uid(ctx, "disp")
    wrong_role = api("admin").put(f"/api/v1/telephony/lines/{disp_id}", json={"extension": "1003",
                                                                           "password": "x" * 10})
    assert wrong_role.status_code == 422
    status = api("disp").get("/api/v1/telephony/status").json()
    assert [line["extension"] for line in status["lines"]] == ["1001"]
    assert status["edge"]["state"] == "unknown"


def test_lower_priority_number_waits_at_most_the_cap_behind_newer_calls(ctx_factory) -> None:
    """The queue the phones are rung from uses the same rank_key as the consoles."""
    from siaga.domains.calls.models import CallerMeasure

    with ctx_factory("sup") as ctx:
        ctx.db.add(CallerMeasure(number="+6281200000009", kind="lower_priority", state="active",
                                 created_at=ctx.now(), duration_hours=24, expires_at=ctx.now() + timedelta(days=1)))
    give_line(ctx_factory, "ct", "1001", presence="break")  # on duty; the calls wait
    offer(ctx_factory, "flagged", number="081200000009", seconds_ago=10)
    offer(ctx_factory, "fresh", number="081200000001", seconds_ago=2)
    with ctx_factory("ct") as ctx:
        actions.set_presence(ctx, schemas.PresenceIn(state="available"))
    with ctx_factory("phone") as ctx:
        [ring] = actions.plan_rings(ctx, {"flagged", "fresh"})
        assert ring.call_ref == "fresh"  # flagged: ranked as if 20 s later, until it has waited 20 s
    offer(ctx_factory, "flagged-long", number="081200000009", seconds_ago=25)
    give_line(ctx_factory, "sup", "1002")
    with ctx_factory("phone") as ctx:
        [ring] = actions.plan_rings(ctx, {"flagged", "flagged-long"})
        assert ring.call_ref == "flagged-long"  # past the cap: its real arrival counts again


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_caller_number_from_any_header_never_raises(header: str) -> None:
    number = number_from_uri(header)
    assert isinstance(number, str) and len(number) <= 40


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=5))
def test_netstring_frames_carry_any_json(obj: dict[str, str]) -> None:
    import json

    frame = encode_netstring(obj)
    size, _, rest = frame.partition(b":")
    assert int(size) == len(rest) - 1 and rest.endswith(b",") and json.loads(rest[:-1]) == obj


def test_tidy_frees_a_phone_whose_ring_outcome_was_never_reported(ctx_factory, clock) -> None:
    give_line(ctx_factory, "ct", "1001")
    offer(ctx_factory, "lost-event")
    with ctx_factory("phone") as ctx:
        [ring] = actions.plan_rings(ctx, {"lost-event"})
        assert actions.tidy(ctx) == 0  # nothing stale yet
    clock.advance(seconds=60)
    with ctx_factory("phone") as ctx:
        assert actions.tidy(ctx) == 1
        line = ctx.db.get(OperatorLine, uid(ctx, "ct"))
        assert line.current_call_id is None
        assert ctx.db.get(RingAttempt, ring.attempt_id).result == "failed"
    with ctx_factory("phone") as ctx:  # the call, still held, rings again
        [again] = actions.plan_rings(ctx, {"lost-event"})
        assert again.extension == "1001" and again.attempt_id != ring.attempt_id


def test_a_cancel_that_crosses_the_answer_ends_the_call_not_abandons_it(ctx_factory) -> None:
    give_line(ctx_factory, "ct", "1001")
    offer(ctx_factory, "crossed")
    with ctx_factory("phone") as ctx:
        actions.plan_rings(ctx, {"crossed"})
    with ctx_factory("phone") as ctx:
        actions.answered(ctx, "crossed", "1001", ctx.now())
    with ctx_factory("phone") as ctx:
        out = actions.ended(ctx, "crossed", ctx.now(), cancelled=True)
        assert out is not None and out.status == "ended" and out.outcome is None


def test_the_last_operator_going_off_duty_refuses_the_waiting_calls(ctx_factory) -> None:
    give_line(ctx_factory, "ct", "1001", presence="break")
    offer(ctx_factory, "waiting")
    with ctx_factory("phone") as ctx:
        assert actions.refuse_if_nobody(ctx, {"waiting"}) == []
    with ctx_factory("ct") as ctx:
        actions.set_presence(ctx, schemas.PresenceIn(state="offline"))
    with ctx_factory("phone") as ctx:
        [refused] = actions.refuse_if_nobody(ctx, {"waiting"})
        assert refused.call_ref == "waiting"
        call = ctx.db.scalar(select(Call).where(Call.external_ref == "waiting"))
        assert call.outcome == "missed_out_of_hours"


def test_the_answering_phone_is_found_by_its_address_when_its_contact_has_no_extension(ctx_factory) -> None:
    give_line(ctx_factory, "ct", "1001")
    offer(ctx_factory, "no-ext")
    with ctx_factory("phone") as ctx:
        out = actions.answered(ctx, "no-ext", "", ctx.now(), contact="sip:10.0.0.5:5060;transport=udp")
        assert out is not None and out.operator_id == uid(ctx, "ct")
    assert actions.contact_address("<sip:1001@10.0.0.5>") == "10.0.0.5:5060"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_contact_address_never_raises(contact: str) -> None:
    assert isinstance(actions.contact_address(contact), str)


def _agency_line_available(ctx_factory, api, ext: str = "2001") -> int:  # type: ignore[no-untyped-def]
    """Damkar's operator gets a line (a supervisor, through the API), registered, and — as a stale row or a
    direct edit could leave it — 'available': the most a 112 queue could ever be tempted by."""
    with ctx_factory("sup") as ctx:
        damkar_id = uid(ctx, "damkar")
    r = api("sup").put(f"/api/v1/telephony/lines/{damkar_id}", json={"extension": ext, "password": "x" * 12})
    assert r.status_code == 200 and r.json()["queue"] is False
    with ctx_factory("sup") as ctx:
        line = ctx.db.get(OperatorLine, damkar_id)
        line.presence, line.idle_since = "available", ctx.now() - timedelta(hours=1)
        actions.registered(ctx, ext, f"<sip:{ext}@10.0.0.9:5060>;expires=300", "")
    return damkar_id


def test_an_agency_operators_line_is_never_in_the_112_queue(api, ctx_factory) -> None:
    """Issue 17: an agency operator's line is only called by a call-taker joining the agency. With it the only
    registered, 'available' line, a 112 call is missed out of hours (not rung to the agency); it is not on duty
    in the status, its presence is not the call-takers' to set, and its own line is readable by its operator."""
    damkar_id = _agency_line_available(ctx_factory, api)
    call, refuse = offer(ctx_factory, "night-agency")
    assert refuse is not None and call.outcome == "missed_out_of_hours"
    with ctx_factory("phone") as ctx:
        assert not actions.on_duty(ctx)
        assert actions.plan_rings(ctx, {"night-agency"}) == []
        assert ctx.db.scalars(select(RingAttempt)).all() == []
        assert actions.agency_extensions(ctx) == {"2001"}
    status = api("sup").get("/api/v1/telephony/status").json()
    assert status["on_duty"] == 0 and [(x["extension"], x["queue"]) for x in status["lines"]] == [("2001", False)]
    # The call-takers' presence controls do not apply to it (refused in words, nothing changed).
    r = api("sup").put("/api/v1/telephony/presence", json={"state": "break", "user_id": damkar_id})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_in_queue"
    assert api("damkar").put("/api/v1/telephony/presence", json={"state": "available"}).status_code == 403
    mine = api("damkar").get("/api/v1/telephony/line")
    assert mine.status_code == 200 and (mine.json()["extension"], mine.json()["queue"]) == ("2001", False)
    assert api("dinkes").get("/api/v1/telephony/line").json() is None
    assert api("damkar").get("/api/v1/telephony/status").status_code == 403
    # Its changes reach the operator's own agency console (the /agency page follows its line), not another's.
    from siaga.domains.users.actions import principal_of
    from siaga.domains.users.models import User
    from siaga.events.models import Event
    from siaga.live.stream import visible

    with ctx_factory("sup") as ctx:
        [event] = ctx.db.scalars(select(Event).where(Event.kind == "telephony.line", Event.entity_id == damkar_id)
                                 .order_by(Event.id.desc()).limit(1))
        who = {u.username: principal_of(u) for u in ctx.db.scalars(select(User))}
        row = {"audience": event.audience}
        assert visible(who["damkar"], row) and visible(who["sup"], row) and not visible(who["dinkes"], row)

    # A call-taker on duty too: the 112 call rings the call-taker only, even with the agency line idle longer.
    give_line(ctx_factory, "ct", "1001")
    offer(ctx_factory, "day-call")
    with ctx_factory("phone") as ctx:
        assert actions.on_duty(ctx)
        assert [(r.call_ref, r.extension) for r in actions.plan_rings(ctx, {"day-call"})] == [("day-call", "1001")]
        assert actions.plan_rings(ctx, {"day-call"}) == []  # the call-taker is busy: the agency line still not
        # A missed ring on an agency line (it can only be a call-taker's call to it) never puts it on break.
        ctx.db.get(OperatorLine, damkar_id).current_call_id = call.id
        actions._free_line(ctx, damkar_id, call.id, missed=True)
        assert ctx.db.get(OperatorLine, damkar_id).presence == "available"
    assert api("sup").get("/api/v1/telephony/status").json()["on_duty"] == 1


def test_the_call_taker_chooses_the_agencys_desk_number_or_its_operators_line(api, app, ctx_factory) -> None:
    """Issue 17: Damkar has a desk number (a trunk gateway is set) and an operator with a line: `auto` dials the
    number, `line` the operator's line, `number` the number; a choice that cannot be dialled is refused in words."""
    from siaga.domains.agencies.models import Agency

    app.state.settings = app.state.settings.model_copy(update={"telephony_trunk_gateway": "sip:127.0.0.1:5099"})
    give_line(ctx_factory, "ct", "1001")
    _agency_line_available(ctx_factory, api)
    offer(ctx_factory, "joined")
    with ctx_factory("phone") as ctx:
        [ring] = actions.plan_rings(ctx, {"joined"})
        actions.answered(ctx, "joined", "1001", ctx.now())
        damkar = ctx.db.scalar(select(Agency).where(Agency.code == "DAMKAR"))
        damkar.phone, damkar_id = "(0766) 21-113", damkar.id
    url = f"/api/v1/calls/{ring.call_id}/agency-calls"
    dialled = {target: api("ct").post(url, json={"agency_id": damkar_id, "target": target}).json()
               for target in ("auto", "line", "number")}
    assert {t: (d["target_kind"], d["dial"]) for t, d in dialled.items()} == {
        "auto": ("agency", "076621113"), "line": ("line", "2001"), "number": ("agency", "076621113")}
    with ctx_factory("phone") as ctx:  # Dinkes: a number, no operator line; Damkar: its line only
        ctx.db.scalar(select(Agency).where(Agency.code == "DINKES")).phone = "0766 21-110"
        dinkes_id = ctx.db.scalar(select(Agency.id).where(Agency.code == "DINKES"))
        ctx.db.get(Agency, damkar_id).phone = ""
    for agency_id, target, code in ((dinkes_id, "line", "no_agency_line"), (damkar_id, "number", "no_number")):
        r = api("ct").post(url, json={"agency_id": agency_id, "target": target})
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == code, r.json()
        assert r.json()["errors"][0]["field"] == "body.target"
