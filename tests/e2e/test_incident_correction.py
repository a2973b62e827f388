"""Correcting an incident in the browser (issue #15): on the incident page and on the call-taker's screen.
Someone else's change meanwhile is a 409 said in words (who, what), the values typed are kept through a
reload; the corrected answers re-propose the plan, the agency an answer brought is offered with the reason,
agencies already sent stay, and one button sends the missing ones."""

from __future__ import annotations

from tests.conftest import ids
from tests.e2e.test_consoles import LIVE_MS, browse, choose_category, offer_call, shot  # noqa: F401 (browse is a fixture)


def q(question_id: str) -> str:
    return f"[id='c-q-{question_id}']"  # question ids have dots


def test_correct_on_the_incident_page_with_a_conflict_in_words(browse, live_server, api):  # noqa: F811
    agencies = ids(api, "/api/v1/agencies")
    incident = api("ct").post("/api/v1/incidents", json={
        "category_code": "kecelakaan_lalu_lintas", "priority": 3, "address_text": "Jl. Antara",
        "description": "Motor jatuh", "answers": {"kll.jumlah_korban": "tidak_ada"}}).json()
    sent = api("disp").post(f"/api/v1/incidents/{incident['id']}/dispatch",
                            json={"agency_ids": [agencies["DISHUB"], agencies["SATPOLPP"]]})
    assert sent.status_code == 200, sent.text

    disp = browse("disp", live_server, f"/incident/{incident['id']}")
    disp.wait_for_selector(".assignment[data-agency='Dishub']")
    disp.click("#correct-open")
    disp.wait_for_selector(q("kll.jumlah_korban"))
    assert disp.locator(q("kll.jumlah_korban")).input_value() == "tidak_ada"
    disp.select_option(q("kll.jumlah_korban"), "satu")  # the caller now says one person is hurt
    disp.fill("#c-description", "Motor jatuh, pengendara luka di kaki")

    # meanwhile the supervisor raises the priority
    now = api("sup").get(f"/api/v1/incidents/{incident['id']}").json()
    assert api("sup").patch(f"/api/v1/incidents/{incident['id']}",
                            json={"version": now["version"], "priority": 2}).status_code == 200
    disp.wait_for_selector("#inc-h .chip.p2", timeout=LIVE_MS)  # live on the page
    disp.click("#correct-save")
    conflict = disp.locator("#correct-conflict")
    conflict.wait_for()
    assert "Test sup mengubah kejadian ini sementara Anda mengedit: prioritas." in conflict.inner_text()
    assert "Isian Anda tidak hilang" in conflict.inner_text()
    assert disp.locator("#c-description").input_value() == "Motor jatuh, pengendara luka di kaki"
    shot(disp, "incident-correction-conflict")

    disp.click("#correct-reload")  # the latest version; what was typed stays
    conflict.wait_for(state="hidden")
    assert disp.locator("#c-priority").input_value() == "2"
    assert disp.locator(q("kll.jumlah_korban")).input_value() == "satu"
    assert disp.locator("#c-description").input_value() == "Motor jatuh, pengendara luka di kaki"
    disp.click("#correct-save")
    disp.wait_for_selector("#correct-saved:has-text('Koreksi tersimpan')")

    # the plan follows: Dinkes and Polres offered with the answer that brought them, the sent ones stay
    dinkes = disp.locator("#plan label:has(strong:text-is('Dinkes / PSC 119'))")
    dinkes.wait_for()
    assert "karena jawaban: Berapa orang korban? 1 orang" in dinkes.inner_text()
    disp.wait_for_selector("#plan-missing:visible")
    assert disp.locator("#plan label:has(strong:text-is('Dishub'))").locator("input").is_disabled()
    disp.wait_for_function("document.querySelectorAll('#plan input:checked').length === 2")  # Dinkes, Polres
    disp.get_by_role("button", name="Kirim ke instansi terpilih").click()
    disp.wait_for_selector("#assignments .assignment >> nth=3")
    disp.wait_for_selector("#timeline :text('Uraian dikoreksi — Motor jatuh, pengendara luka di kaki')")
    disp.wait_for_selector("#timeline :text('Prioritas dikoreksi: P3 → P2')")
    shot(disp, "incident-corrected")
    assert disp.js_errors == []  # type: ignore[attr-defined]


def test_the_call_taker_sees_the_reason_and_corrects_the_incident_just_created(browse, live_server, api,  # noqa: F811
                                                                                clock):
    offer_call(api, "e2e-correct", "081377770000", clock.now().isoformat())
    ct = browse("ct", live_server, "/calltaker")
    ct.wait_for_selector("#call-queue li:has-text('081377770000')", timeout=LIVE_MS)
    ct.keyboard.press("a")
    ct.wait_for_selector("#active-call")
    choose_category(ct, "kecelakaan_lalu_lintas")
    injured = ct.locator(".questions .question", has_text="Berapa orang korban?").locator("select")
    injured.select_option("satu")  # "one person is hurt", no subcategory picked
    ct.fill("#f-address", "Jl. Antara")
    ct.fill("#f-description", "Motor jatuh")
    ct.click("#create-incident")
    ct.wait_for_selector("#call-incident:has-text('Kejadian dibuat')")
    dinkes = ct.locator("#ct-plan li[data-agency='DINKES']")
    dinkes.wait_for()
    assert "karena jawaban: Berapa orang korban? 1 orang" in dinkes.inner_text()
    shot(ct, "calltaker-plan-reason")
    incident_id = api("ct").get("/api/v1/incidents").json()[0]["id"]

    ct.click("#ct-correct")
    ct.wait_for_selector("#ct-correct-save:visible")
    assert ct.locator("#f-address").input_value() == "Jl. Antara"
    ct.fill("#f-address", "Jl. Antara km 3")
    ct.locator("label.prio.p1 input").check()
    # meanwhile the dispatcher corrects the description
    seen = api("disp").get(f"/api/v1/incidents/{incident_id}").json()
    assert api("disp").patch(f"/api/v1/incidents/{incident_id}", json={
        "version": seen["version"], "description": "Motor jatuh, dua kendaraan"}).status_code == 200
    ct.click("#ct-correct-save")
    conflict = ct.locator("#ct-conflict")
    conflict.wait_for()
    assert "Test disp mengubah kejadian ini sementara Anda mengedit: uraian." in conflict.inner_text()
    assert ct.locator("#f-address").input_value() == "Jl. Antara km 3"  # nothing typed is lost
    ct.click("#ct-correct-reload")
    conflict.wait_for(state="hidden")
    assert ct.locator("#f-description").input_value() == "Motor jatuh, dua kendaraan"  # theirs, untouched here
    assert ct.locator("#f-address").input_value() == "Jl. Antara km 3"  # mine
    ct.click("#ct-correct-save")
    ct.wait_for_selector("#call-incident:has-text('Koreksi tersimpan')")
    ct.wait_for_selector("#incident-form", state="hidden")
    got = api("disp").get(f"/api/v1/incidents/{incident_id}").json()
    assert got["priority"] == 1 and got["address_text"] == "Jl. Antara km 3"
    assert got["description"] == "Motor jatuh, dua kendaraan"
    texts = [e["text"] for e in api("disp").get(f"/api/v1/incidents/{incident_id}/timeline").json()]
    assert "Prioritas dikoreksi: P2 → P1" in texts
    assert any(t.startswith("Lokasi dikoreksi: Jl. Antara → Jl. Antara km 3") for t in texts)
    shot(ct, "calltaker-corrected")
    assert ct.js_errors == []  # type: ignore[attr-defined]


def test_the_admin_adds_a_rule_on_an_answer_in_the_browser(browse, live_server, api):  # noqa: F811
    page = browse("admin", live_server, "/plan")
    page.wait_for_selector("#rules tbody tr")
    row = page.locator("#rules tr", has_text="Kecelakaan, 1 korban")
    assert "Berapa orang korban? = 1 orang" in row.inner_text()  # answers in words, not codes
    page.fill("#r-name", "Kebakaran menjalar → + Satpol PP")
    page.select_option("#r-kind", "extra")
    page.select_option("#r-category", "kebakaran")
    page.select_option("[id='r-q-kebakaran.menjalar']", "yes")
    page.locator("#rule-form label:has-text('Satpol PP') input").check()
    page.click("#rule-form button[type=submit]")
    added = page.locator("#rules tr", has_text="Kebakaran menjalar → + Satpol PP")
    added.wait_for()
    assert "Apakah api menjalar ke rumah atau bangunan di sebelahnya? = Ya" in added.inner_text()
    incident = api("ct").post("/api/v1/incidents", json={
        "category_code": "kebakaran", "answers": {"kebakaran.menjalar": True}}).json()
    agencies = api("disp").get(f"/api/v1/incidents/{incident['id']}/proposal").json()["agencies"]
    satpol = next(a for a in agencies if a["code"] == "SATPOLPP")
    assert satpol["reasons"] == ["karena jawaban: Apakah api menjalar ke rumah atau bangunan di sebelahnya? Ya "
                                 "(aturan 'Kebakaran menjalar → + Satpol PP')"]
    assert page.js_errors == []  # type: ignore[attr-defined]
