"""Callers' numbers and the risk hint in real browsers (Debian's chromium): the call-taker sees the prank-risk
hint beside the caller summary as a repeat prankster's call rings — a hint, not a decision — and takes the
call like any other; on the incident page a dispatcher sees the caller's number masked with no way to reveal
it, while a supervisor reveals it with a click and a reason, and the reveal is in the audit log."""

from __future__ import annotations

from sqlalchemy import select

from siaga.core.audit import AuditEntry
from siaga.db.engine import unit_of_work
from siaga.domains.callers import risk
from siaga.domains.callers.models import RiskModel
from tests.e2e.test_consoles import browse as browse  # noqa: F401  (the fixture, shared)
from tests.e2e.test_consoles import offer_call, shot

NUMBER = "081366660042"
MASKED = "****042"


def a_model(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """A trained model stands in: pranks in the last 7 days raise the odds, as a real one learns."""
    coef = {"pranks_7d": 3.0, "emergencies_90d": -2.0}
    params = {"version": risk.PARAMS_VERSION, "algorithm": risk.ALGORITHM, "features": list(risk.FEATURES),
              "mean": [0.0] * len(risk.FEATURES), "scale": [1.0] * len(risk.FEATURES),
              "coef": [coef.get(f, 0.0) for f in risk.FEATURES], "intercept": -2.0, "threshold": 0.6}
    with unit_of_work(engine) as db:
        db.add(RiskModel(trained_at=clock.now(), train_from=clock.now(), train_to=clock.now(), algorithm="e2e",
                         params=params, metrics={"test": {"precision": 0.93, "recall": 0.41,
                                                          "genuine_flagged_share": 0.05}}, active=True))


def prank(api, clock, ref: str) -> None:  # type: ignore[no-untyped-def]
    c = offer_call(api, ref, NUMBER, clock.now().isoformat())
    c = api("ct").post(f"/api/v1/calls/{c['id']}/claim", json={"version": c["version"]}).json()
    r = api("ct").patch(f"/api/v1/calls/{c['id']}", json={"version": c["version"], "outcome": "prank", "end": True})
    assert r.status_code == 200, r.text


def test_call_taker_sees_the_hint_and_numbers_are_masked_elsewhere(browse, live_server, api, engine, clock):  # noqa: F811
    a_model(engine, clock)
    for i in range(3):
        prank(api, clock, f"pr-{i}")
        clock.advance(hours=2)
    ct = browse("ct", live_server, "/calltaker")
    ringing = offer_call(api, "again", NUMBER, clock.now().isoformat())
    row = ct.locator(f"#call-queue [data-call='{ringing['id']}']")
    row.locator(".call-risk").wait_for(state="visible")
    assert "(tinggi)" in row.locator(".call-risk").inner_text()
    assert NUMBER in row.locator(".num").inner_text()  # the call-taker's own screen: the number whole
    row.locator("button").click()  # the hint changes nothing: the call is taken like any other
    ct.wait_for_selector("#risk-hint:visible")
    hint = ct.locator("#risk-hint").inner_text()
    assert "Petunjuk risiko iseng" in hint and "petunjuk, bukan keputusan" in hint
    assert "↑ 3 panggilan iseng dalam 7 hari" in ct.locator("#risk-reasons").inner_text()
    assert "3 panggilan iseng dalam 7 hari" in ct.locator("#caller-summary").inner_text()
    shot(ct, "calltaker-risk-hint")
    assert not ct.js_errors

    incident = api("ct").post("/api/v1/incidents", json={"category_code": "kebakaran", "call_id": ringing["id"],
                                                         "description": "asap dari rumah"}).json()
    path = f"/incident/{incident['id']}"

    disp = browse("disp", live_server, path)
    item = disp.locator(f"#linked-calls [data-call='{ringing['id']}']")
    item.wait_for()
    assert MASKED in item.inner_text() and NUMBER not in disp.content()
    assert not item.locator(".reveal-button").is_visible()  # a dispatcher cannot reveal
    disp.wait_for_selector("#timeline .tl-call_linked")
    assert MASKED in disp.locator("#timeline .tl-call_linked").inner_text()
    shot(disp, "incident-number-masked-dispatcher")
    assert not disp.js_errors

    sup = browse("sup", live_server, path)
    item = sup.locator(f"#linked-calls [data-call='{ringing['id']}']")
    item.wait_for()
    assert MASKED in item.inner_text() and NUMBER not in item.inner_text()
    item.locator(".reveal-button").click()
    item.locator(".reveal-reason").fill("konfirmasi alamat dengan pelapor")
    item.locator(".reveal-confirm").click()
    sup.wait_for_function(f"document.querySelector(\"#linked-calls [data-call='{ringing['id']}'] .num\")"
                          f".textContent.includes('{NUMBER}')")
    assert not item.locator(".reveal-button").is_visible()
    shot(sup, "incident-number-revealed-supervisor")
    assert not sup.js_errors
    with unit_of_work(engine, write=False) as db:
        reveal = db.scalar(select(AuditEntry).where(AuditEntry.action == "caller.number.reveal"))
    assert reveal is not None and reveal.entity_id == str(ringing["id"]) and reveal.actor == "sup (supervisor)"
    assert reveal.data_dict == {"reason": "konfirmasi alamat dengan pelapor"}


def test_callers_page_masks_measures_for_everyone(browse, live_server, api):  # noqa: F811
    m = api("sup").post(f"/api/v1/callers/{NUMBER}/measures", json={"kind": "flag", "reason": "uji e2e"})
    assert m.status_code == 201
    for who, may_reveal in (("disp", False), ("sup", True)):
        page = browse(who, live_server, "/callers")
        row = page.locator(f"#measures [data-measure='{m.json()['id']}']")
        row.wait_for()
        assert MASKED in row.inner_text() and "66660042" not in row.inner_text()
        assert row.locator(".reveal-button").is_visible() is may_reveal
        if may_reveal:
            row.locator(".reveal-button").click()
            row.locator(".reveal-reason").fill("laporan ke Polres")
            row.locator(".reveal-confirm").click()
            page.wait_for_function(f"document.querySelector(\"#measures [data-measure='{m.json()['id']}'] .num\")"
                                   ".textContent.includes('+6281366660042')")
        assert not page.js_errors
