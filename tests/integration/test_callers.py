"""Defend the line without blocking a victim: the nuisance policy applies graduated measures, a
restriction needs a second supervisor, every step is audited, silent calls follow a protocol, callbacks
are listed — and no measure ever stops a call from reaching the queue."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import CallerMeasure

NUMBER = "081277770001"
GHOST_OK = {"asked_key_press": True, "listened_background": True, "callback_tried": True, "location_checked": True}


def call(api, clock, number: str = NUMBER, outcome: str | None = "prank", ref: str | None = None,  # type: ignore[no-untyped-def]
         checklist: dict | None = None, lat: float | None = None, lon: float | None = None) -> dict:
    ref = ref or f"c-{number}-{clock.now().timestamp()}-{outcome}"
    body = {"event_id": ref + "-o", "call_ref": ref, "type": "offered", "at": clock.now().isoformat(),
            "caller_number": number}
    if lat is not None:
        body["location"] = {"source": "network", "lat": lat, "lon": lon, "accuracy_m": 100}
    r = api("phone").post("/api/v1/call-events", json=body)
    assert r.status_code in (200, 201), r.text
    c = r.json()["call"]
    if outcome is None:
        return c
    c = api("ct").post(f"/api/v1/calls/{c['id']}/claim", json={"version": c["version"]}).json()
    body = {"version": c["version"], "outcome": outcome, "end": True}
    if checklist is not None:
        body["checklist"] = checklist
    r = api("ct").patch(f"/api/v1/calls/{c['id']}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def measures(api, number: str = NUMBER) -> list[dict]:  # type: ignore[no-untyped-def]
    return api("sup").get(f"/api/v1/callers/{number}/measures").json()


def test_graduated_measures_flag_then_lower_priority_then_propose(api, clock):
    for _ in range(2):
        call(api, clock)
        clock.advance(minutes=30)
    assert measures(api) == []
    call(api, clock)  # the third prank in 24 h
    assert [(m["kind"], m["state"]) for m in measures(api)] == [("flag", "active")]
    for _ in range(2):
        clock.advance(hours=2)
        call(api, clock)
    kinds = {(m["kind"], m["state"]) for m in measures(api)}
    assert ("lower_priority", "active") in kinds
    ringing = call(api, clock, outcome=None)
    assert set(ringing["measures"]) == {"flag", "lower_priority"} and ringing["queue_penalty_s"] == 20
    for _ in range(5):
        clock.advance(hours=3)
        call(api, clock)
    restriction = next(m for m in measures(api) if m["kind"] == "restriction")
    assert restriction["state"] == "proposed" and restriction["expires_at"] is None  # never applied alone


def test_a_restriction_needs_a_second_supervisor_and_a_legal_basis(api, app, clock):
    proposal = api("sup").post(f"/api/v1/callers/{NUMBER}/measures", json={
        "kind": "restriction", "reason": "12 panggilan iseng, pelapor diketahui", "duration_hours": 48})
    assert proposal.status_code == 201 and proposal.json()["state"] == "proposed"
    m = proposal.json()
    own = api("sup").post(f"/api/v1/measures/{m['id']}/decision", json={"action": "approve", "version": m["version"],
                                                                         "legal_basis": "UU ITE"})
    assert own.status_code == 409 and own.json()["code"] == "four_eyes"
    assert api("ct").post(f"/api/v1/measures/{m['id']}/decision",
                          json={"action": "approve", "version": m["version"]}).status_code == 403


def test_measure_lifecycle_is_audited_and_reversible(api, engine, clock, ctx_factory, settings):
    from siaga.domains.callers import actions, schemas
    from siaga.domains.callers.policy import expire_due

    with ctx_factory("admin") as ctx:  # proposed by the administrator, decided by the supervisor
        m = actions.propose_measure(ctx, NUMBER, schemas.MeasureCreate(kind="restriction", reason="berulang",
                                                                      duration_hours=2))
    no_basis = api("sup").post(f"/api/v1/measures/{m.id}/decision", json={"action": "approve", "version": m.version})
    assert no_basis.status_code == 422 and no_basis.json()["errors"][0]["field"] == "body.legal_basis"
    ok = api("sup").post(f"/api/v1/measures/{m.id}/decision", json={
        "action": "approve", "version": m.version, "legal_basis": "Pasal 28 UU ITE; laporan ke Polres"})
    assert ok.status_code == 200 and ok.json()["state"] == "active"
    assert ok.json()["expires_at"].startswith("2026-11-27T03:00")
    lift_no_note = api("sup").post(f"/api/v1/measures/{m.id}/decision",
                                   json={"action": "lift", "version": ok.json()["version"]})
    assert lift_no_note.status_code == 422
    flag = api("sup").post(f"/api/v1/callers/{NUMBER}/measures",
                           json={"kind": "flag", "reason": "uji kedaluwarsa", "duration_hours": 1}).json()
    clock.advance(hours=1, seconds=1)
    with ctx_factory("admin") as ctx:
        assert expire_due(ctx) == 1  # the flag; the restriction runs 2 h
    states = {x["id"]: x["state"] for x in measures(api)}
    assert states[flag["id"]] == "expired" and states[m.id] == "active"
    lifted = api("sup").post(f"/api/v1/measures/{m.id}/decision", json={
        "action": "lift", "version": ok.json()["version"], "note": "pelapor minta maaf, diselesaikan Polres"})
    assert lifted.status_code == 200 and lifted.json()["state"] == "lifted"
    with unit_of_work(engine, write=False) as db:
        actions_seen = [a.action for a in db.scalars(select(AuditEntry).where(AuditEntry.entity == "caller_measure")
                                                     .order_by(AuditEntry.seq))]
    assert actions_seen == ["measure.propose", "measure.approve", "measure.apply", "measure.expire", "measure.lift"]


def test_no_measure_ever_stops_a_call(api, clock, ctx_factory):
    """Every kind of measure in force at once: the call is still created, rings in every call-taker's
    queue (snapshot) and can be taken and answered."""
    from siaga.domains.callers import actions, schemas

    with ctx_factory("sup") as ctx:
        for kind in ("flag", "lower_priority"):
            actions.propose_measure(ctx, NUMBER, schemas.MeasureCreate(kind=kind, reason="uji"))
        r = actions.propose_measure(ctx, NUMBER, schemas.MeasureCreate(kind="restriction", reason="uji"))
    with ctx_factory("admin") as ctx:
        m = ctx.db.get(CallerMeasure, r.id)
        m.state, m.legal_basis = "active", "uji"
    ringing = call(api, clock, outcome=None, ref="under-every-measure")
    assert ringing["status"] == "offered"
    assert set(ringing["measures"]) == {"flag", "lower_priority", "restriction"}
    snapshot = api("ct").get("/api/v1/snapshot").json()
    assert str(ringing["id"]) in snapshot["calls"]
    claimed = api("ct").post(f"/api/v1/calls/{ringing['id']}/claim", json={"version": ringing["version"]})
    assert claimed.status_code == 200 and claimed.json()["status"] == "answered"


def test_no_code_path_refuses_or_drops_a_call():
    """The call statuses have no 'blocked', 'rejected' or 'dropped', and no module outside telephony
    intake can set a live call to ended except the operator's own 'end' or the caller's hang-up event."""
    from pathlib import Path

    from siaga.domains.calls.models import CALL_STATUSES

    assert not {"blocked", "rejected", "dropped", "refused"} & set(CALL_STATUSES)
    src = Path(__file__).resolve().parents[2] / "src" / "siaga"
    # Every status change goes through calls.actions.move (CALL_TRANSITIONS); nothing else writes it.
    writers = sorted(str(p.relative_to(src)) for p in src.rglob("*.py")
                     if re.search(r'call\.status\s*=[^=]|\.status\s*=\s*"(ended|abandoned)"|\bmove\(',
                                  p.read_text(encoding="utf-8")))
    assert writers == ["domains/calls/actions.py"]


def test_ghost_needs_the_silent_caller_protocol(api, clock):
    c = call(api, clock, outcome=None, ref="silent-1")
    c = api("ct").post(f"/api/v1/calls/{c['id']}/claim", json={"version": c["version"]}).json()
    refused = api("ct").patch(f"/api/v1/calls/{c['id']}", json={"version": c["version"], "outcome": "ghost",
                                                                 "end": True,
                                                                 "checklist": {"asked_key_press": True}})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.checklist"
    assert "listened_background" in refused.json()["errors"][0]["message"]
    c = api("ct").get(f"/api/v1/calls/{c['id']}").json()
    assert c["outcome"] is None and c["status"] == "answered"  # nothing half-written
    ok = api("ct").patch(f"/api/v1/calls/{c['id']}", json={"version": c["version"], "outcome": "ghost", "end": True,
                                                            "checklist": GHOST_OK})
    assert ok.status_code == 200 and ok.json()["checklist"] == GHOST_OK


def test_silent_calls_never_trigger_measures(api, clock):
    for n in range(12):
        call(api, clock, outcome="ghost", checklist=GHOST_OK, ref=f"ghost-{n}")
        clock.advance(minutes=10)
    assert measures(api) == []


def test_callback_list_priority_dedup_and_results(api, clock):
    genuine = "081299990002"
    call(api, clock, number=genuine, outcome="emergency", ref="genuine-old")
    clock.advance(days=40)
    call(api, clock, number=genuine, outcome="ghost", checklist=GHOST_OK, ref="genuine-silent", lat=1.466, lon=102.104)
    for n in range(2):
        call(api, clock, number="081233330003", outcome="abandoned", ref=f"abandon-{n}")
    items = api("ct").get("/api/v1/callbacks").json()
    assert [i["number"] for i in items] == ["+6281299990002", "+6281233330003"]  # priority first, one row a number
    assert items[0]["priority"] is True and items[1]["calls"] == 2
    nothing = api("ct").post(f"/api/v1/calls/{items[1]['last_call_id']}/callbacks", json={"result": "no_answer"})
    assert nothing.status_code == 201
    still = api("ct").get("/api/v1/callbacks").json()
    assert len(still) == 2 and still[1]["attempts"][0]["result"] == "no_answer"
    api("ct").post(f"/api/v1/calls/{items[1]['last_call_id']}/callbacks",
                   json={"result": "reached_no_need", "note": "anak main telepon"})
    assert [i["number"] for i in api("ct").get("/api/v1/callbacks").json()] == ["+6281299990002"]
    assert api("damkar").get("/api/v1/callbacks").status_code == 403
    clock.advance(hours=73)
    assert api("ct").get("/api/v1/callbacks").json() == []


@pytest.mark.parametrize("lang", ["id", "en"])
def test_plain_language_summary(api, clock, lang):
    call(api, clock, outcome="emergency", ref="s-em")
    clock.advance(days=90)
    for n in range(5):
        call(api, clock, ref=f"s-p{n}")
        clock.advance(hours=1)
    text = api("ct").get(f"/api/v1/callers/{NUMBER}/summary", headers={"Accept-Language": lang}).json()["summary"]
    if lang == "id":
        assert text == "5 panggilan iseng dalam 7 hari; darurat terakhir 3 bulan lalu"
    else:
        assert text == "5 prank calls in 7 days; last genuine emergency 3 months ago"
    assert api("ct").get("/api/v1/callers/anonymous/summary").json()["summary"].startswith("Nomor disembunyikan")


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_ringing_call_is_not_one_of_its_own_earlier_calls(api, clock, lang):
    """What the call-taker reads as a call rings agrees with the history panel beside it (fetched with
    exclude_call_id): a first-time caller has no earlier calls; on the second call, one."""
    headers = {"Accept-Language": lang}

    def summary(c: dict) -> str:
        r = api("ct").get(f"/api/v1/calls/{c['id']}/caller-summary", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["summary"]

    def earlier(c: dict) -> int:
        r = api("ct").get(f"/api/v1/callers/{NUMBER}/history", params={"exclude_call_id": c["id"]})
        return r.json()["total_calls"]

    first = call(api, clock, outcome=None, ref="first")
    assert earlier(first) == 0
    text = summary(first)
    assert text == ("Penelepon baru" if lang == "id" else "First-time caller")
    assert "sebelumnya" not in text and "earlier" not in text
    c = api("ct").post(f"/api/v1/calls/{first['id']}/claim", json={"version": first["version"]}).json()
    r = api("ct").patch(f"/api/v1/calls/{c['id']}", json={"version": c["version"], "outcome": "information",
                                                          "end": True})
    assert r.status_code == 200, r.text
    assert summary(first) == text  # still not its own earlier call once it is over
    clock.advance(hours=1)
    second = call(api, clock, outcome=None, ref="second")
    assert earlier(second) == 1
    assert summary(second) == ("1 panggilan sebelumnya" if lang == "id" else "1 earlier call")
