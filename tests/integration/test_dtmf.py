"""A caller who cannot speak presses 5 (SIAGA_SILENT_CALLER_KEY): the key press (an RFC 4733 event) is seen
by rtpengine, reported to the bridge (--dtmf-log-dest), kept on the call and shown live; such a call cannot
be recorded as ghost. The real media plane: sipp as the trunk pressing 5 (sip-tester's dtmf_2833_5.pcap)
and as the operator's phone, through the real Kamailio edge and rtpengine. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from siaga.core.audit import AuditEntry
from siaga.core.errors import Problem
from siaga.db.engine import unit_of_work
from siaga.domains.calls import actions as call_actions
from siaga.domains.calls import schemas as call_schemas
from siaga.domains.telephony import actions
from siaga.domains.telephony.bridge import EdgeBridge
from tests.integration.test_caller_history import GHOST_PROTOCOL, call_event
from tests.sip.harness import Centre, free_udp_port, rtp_ports, running_centre, wait_for

CALLER = "+6281234567890"
DTMF_PCAP = Path("/usr/share/sip-tester/dtmf_2833_5.pcap")


@pytest.fixture
def media_centre(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Centre]:
    assert DTMF_PCAP.is_file(), "sip-tester's DTMF sample (dtmf_2833_5.pcap) is missing: apt-get install sip-tester"
    with running_centre(engine, db_url, tmp_path, telephony_media=True, recording_dir=tmp_path / "rec",
                        telephony_rtp_ports=rtp_ports(),
                        telephony_rtpengine_ng=f"127.0.0.1:{free_udp_port()}") as c:
        yield c


def test_a_caller_pressing_5_through_the_edge_is_recorded_on_the_call_and_the_call_cannot_be_closed_as_ghost(
        media_centre: Centre) -> None:
    c = media_centre
    c.line("ct")
    c.phone("ct", "phone_answer_dtmf.xml")
    done = c.edge.sipp("trunk_call_dtmf.xml", "-d", "1000", rows=[f"{CALLER};1.4667 102.1;35"])
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    call = c.call_where("the call, with its key press, to end", lambda x: x.keys_pressed == "5" and x.status == "ended")
    with unit_of_work(c.engine, write=False) as db:
        audits = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "call.key_pressed")))
        assert [(a.entity_id, json.loads(a.data)["key"]) for a in audits] == [(str(call.id), "5")]
    with c.ctx("ct") as ctx, pytest.raises(Problem) as refused:
        call_actions.update_call(ctx, call.id, call_schemas.CallUpdate(
            version=call.version, outcome="ghost", checklist=GHOST_PROTOCOL))
    assert refused.value.errors and refused.value.errors[0]["code"] == "caller_pressed_key"


def _press(engine: Engine, clock, settings, ref: str, event: int) -> None:  # type: ignore[no-untyped-def]
    from siaga.core.context import Ctx

    with unit_of_work(engine) as db:
        actions.key_pressed(Ctx(db=db, actor=__import__("siaga.domains.telephony.bridge").domains.telephony.bridge
                                .EDGE_ACTOR, clock=clock, settings=settings), ref, event, datetime.now(UTC))


def test_ghost_is_refused_after_the_silent_caller_key_and_allowed_after_another(
        api, app, engine: Engine, settings, clock) -> None:  # type: ignore[no-untyped-def]
    pressed = call_event(api, "dtmf-1@trunk", "2026-11-20T03:00:00Z")
    _press(engine, clock, settings, "dtmf-1@trunk", 5)
    got = api("ct").get(f"/api/v1/calls/{pressed['id']}").json()
    assert got["keys_pressed"] == "5"
    r = api("ct").patch(f"/api/v1/calls/{pressed['id']}",
                        json={"version": got["version"], "outcome": "ghost", "checklist": GHOST_PROTOCOL})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.outcome", r.text
    assert "silent emergency" in r.json()["errors"][0]["message"]
    r = api("ct").patch(f"/api/v1/calls/{pressed['id']}", json={"version": got["version"], "outcome": "emergency"})
    assert r.status_code == 200, r.text

    other = call_event(api, "dtmf-2@trunk", "2026-11-20T03:05:00Z")
    _press(engine, clock, settings, "dtmf-2@trunk", 11)  # '#': not the silent-caller key
    got = api("ct").get(f"/api/v1/calls/{other['id']}").json()
    assert got["keys_pressed"] == "#"
    r = api("ct").patch(f"/api/v1/calls/{other['id']}",
                        json={"version": got["version"], "outcome": "ghost", "checklist": GHOST_PROTOCOL})
    assert r.status_code == 200, r.text

    # The key is a setting: with 9 as the silent-caller key, a 5 does not stop a ghost close, a 9 does.
    app.state.settings = settings.model_copy(update={"silent_caller_key": "9"})
    third = call_event(api, "dtmf-3@trunk", "2026-11-20T03:10:00Z")
    _press(engine, clock, settings, "dtmf-3@trunk", 5)
    got = api("ct").get(f"/api/v1/calls/{third['id']}").json()
    r = api("ct").patch(f"/api/v1/calls/{third['id']}",
                        json={"version": got["version"], "outcome": "ghost", "checklist": GHOST_PROTOCOL})
    assert r.status_code == 200, r.text


def test_the_bridge_counts_only_the_callers_keys(engine: Engine, clock, settings) -> None:  # type: ignore[no-untyped-def]
    bridge = EdgeBridge(engine, clock, settings)
    bridge.caller_tags["c-1"] = "callertag"
    at = datetime.now(UTC)
    assert bridge._on_dtmf({"ev": "dtmf", "event": 5, "tag": "phonetag"}, "c-1", at) is None
    assert bridge._on_dtmf({"ev": "dtmf", "event": 5, "tag": "callertag"}, "c-1", at) is not None
    # A call the bridge did not see offered (e.g. handed over after degraded mode): its keys count.
    assert bridge._on_dtmf({"ev": "dtmf", "event": 5, "tag": "x"}, "c-2", at) is not None


def test_keys_pressed_during_a_call_the_edge_handled_alone_are_the_calls_once_it_is_reported(
        api, engine: Engine, settings, clock) -> None:  # type: ignore[no-untyped-def]
    """Degraded mode: the caller pressed 5 before the service knew of the call (a Call-ID longer than an audit
    id, as some trunks send). When the edge hands the call over, the key is the call's, once, however often the
    edge reports it; the ghost close is refused for it."""
    from siaga.core.context import Ctx
    from siaga.domains.telephony.bridge import EDGE_ACTOR

    ref = "degraded-" + "x" * 90 + "@trunk"
    _press(engine, clock, settings, ref, 5)
    at = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    for _ in range(2):  # reported again after a reconnect: idempotent
        with unit_of_work(engine) as db:
            out = actions.degraded_call(Ctx(db=db, actor=EDGE_ACTOR, clock=clock, settings=settings), ref, at,
                                        CALLER, "112")
    got = api("ct").get(f"/api/v1/calls/{out.id}").json()
    assert got["keys_pressed"] == "5"
    r = api("ct").patch(f"/api/v1/calls/{out.id}",
                        json={"version": got["version"], "outcome": "ghost", "checklist": GHOST_PROTOCOL})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "caller_pressed_key", r.text


def test_the_demo_caller_rings_through_the_edge_presses_5_and_speaks(media_centre: Centre) -> None:
    """`siaga simulate calls --via sip --voice` (docs/telephony.md §0): sipp as the telco through the real edge;
    the operator's phone answers, the caller's 5 is on the call and the recording has a voice on each side."""
    from siaga.domains.recordings import actions as rec_actions
    from siaga.domains.recordings.models import Recording
    from siaga.domains.simulate import phone as demo

    c = media_centre
    c.line("ct")
    c.phone("ct", "phone_answer_dtmf.xml")  # its answer takes telephone-event too, as a browser's does
    done = demo.place_sip_calls(c.settings, demo.demo_calls(1, 7), rate=1, talk_ms=3000, timeout_s=60, voice=True)
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + done.stderr.decode(errors="replace")
    call = c.call_where("the demo call, with its key press, to end",
                        lambda x: x.keys_pressed == "5" and x.status == "ended")
    assert call.operator_id == c.user_id("ct")
    from siaga.core.clock import Clock

    wait_for(lambda: rec_actions.attach_step(c.engine, Clock(), c.settings) >= 0 and _recording(c, call.id), 20,
             "the call's recording")
    with unit_of_work(c.engine, write=False) as db:
        rec = db.scalar(select(Recording).where(Recording.call_id == call.id))
        assert rec is not None and rec.state == "ready" and rec.duration_s and rec.duration_s > 3


def _recording(c: Centre, call_id: int) -> bool:
    from siaga.domains.recordings.models import Recording

    with unit_of_work(c.engine, write=False) as db:
        return db.scalar(select(Recording.id).where(Recording.call_id == call_id)) is not None
