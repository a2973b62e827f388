"""Browser line or desk phone, and the browser's SIP password: chosen by the call-taker for their own line or by a
supervisor for anyone's; the password is made per console session, returned once, stored only as its digest,
replaces the one before, and is audited; the edge is given the browser's digest for a browser line and the desk
phone's (kept) for a desk phone. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.domains.telephony import actions
from siaga.domains.telephony.models import OperatorLine
from tests.integration.test_telephony_queue import give_line, uid

WS = {"telephony_ws_listen": "127.0.0.1:8088"}


def test_a_call_taker_chooses_the_browser_line_and_gets_a_password_once(api, app, ctx_factory, settings) -> None:  # type: ignore[no-untyped-def]
    app.state.settings = settings.model_copy(update=WS)
    give_line(ctx_factory, "ct", "1001")
    with ctx_factory("sup") as ctx:
        ct, sup = uid(ctx, "ct"), uid(ctx, "sup")
        desk = ctx.db.get(OperatorLine, ct).sip_ha1
    # A desk phone line has no browser password to give.
    r = api("ct").post("/api/v1/telephony/browser-credential")
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_browser"
    # Another call-taker's line is not mine to change; a supervisor may.
    assert api("ct").put(f"/api/v1/telephony/lines/{sup}/device", json={"device": "browser"}).status_code in (403, 404)
    assert api("ct").put(f"/api/v1/telephony/lines/{ct}/device", json={"device": "tablet"}).status_code == 422
    r = api("ct").put(f"/api/v1/telephony/lines/{ct}/device", json={"device": "browser"})
    assert r.status_code == 200 and r.json()["device"] == "browser" and r.json()["registered"] is False
    r = api("ct").post("/api/v1/telephony/browser-credential")
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["extension"] == "1001" and first["ws_url"] == "ws://127.0.0.1:8088" and len(first["password"]) >= 24
    with ctx_factory("sup") as ctx:
        line = ctx.db.get(OperatorLine, ct)
        assert line.browser_ha1 == actions.ha1("1001", settings.telephony_domain, first["password"])
        assert first["password"] not in (line.browser_ha1, line.sip_ha1) and line.sip_ha1 == desk
        assert actions.line_credentials(ctx)["1001"] == line.browser_ha1  # what the edge checks now
    second = api("ct").post("/api/v1/telephony/browser-credential").json()
    assert second["password"] != first["password"]  # the one before stops working
    with ctx_factory("sup") as ctx:
        assert ctx.db.get(OperatorLine, ct).browser_ha1 == actions.ha1("1001", settings.telephony_domain,
                                                                      second["password"])
        audits = list(ctx.db.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(("telephony.line.device", "telephony.line.browser_credential")))
            .order_by(AuditEntry.seq)))
        assert [a.action for a in audits] == ["telephony.line.device", "telephony.line.browser_credential",
                                              "telephony.line.browser_credential"]
        assert all(first["password"] not in a.data and second["password"] not in a.data for a in audits)
        assert json.loads(audits[0].data) == {"from": "phone", "to": "browser"}
    # Logging out ends it: the edge no longer knows the extension until the next console session.
    assert api("ct").post("/api/v1/auth/logout").status_code == 204
    with ctx_factory("sup") as ctx:
        assert ctx.db.get(OperatorLine, ct).browser_ha1 == "" and actions.line_credentials(ctx)["1001"] == ""
    api("ct").post("/api/v1/telephony/browser-credential")
    # A supervisor puts the line back on the desk phone: its own password works again, unchanged.
    r = api("sup").put(f"/api/v1/telephony/lines/{ct}/device", json={"device": "phone"})
    assert r.status_code == 200 and r.json()["device"] == "phone"
    with ctx_factory("sup") as ctx:
        assert actions.line_credentials(ctx)["1001"] == desk
        assert ctx.db.get(OperatorLine, ct).browser_ha1 == ""


def test_without_a_websocket_listener_the_console_is_told_browser_lines_are_off(  # type: ignore[no-untyped-def]
        api, app, ctx_factory, settings) -> None:
    app.state.settings = settings
    give_line(ctx_factory, "ct", "1001")
    with ctx_factory("ct") as ctx:
        ct = uid(ctx, "ct")
    assert api("ct").put(f"/api/v1/telephony/lines/{ct}/device", json={"device": "browser"}).status_code == 200
    r = api("ct").post("/api/v1/telephony/browser-credential")
    assert r.status_code == 409 and r.json()["code"] == "browser_lines_off"
    assert api("disp").post("/api/v1/telephony/browser-credential").status_code == 403
