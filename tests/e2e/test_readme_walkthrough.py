"""The README's "Run an incident from call to closure" as a newcomer follows it, step by step, with the same
commands, users, buttons and labels (issue #15): `siaga demo load` (the demo users with the one-time passwords
it prints, the demo incidents), `siaga serve`, `siaga demo call 081234567890`, then operator1, dispatcher1,
damkar1 (agency console and field unit) and supervisor1 in their own browsers. The demo a newcomer opens is
calm: no call left waiting for operator1, no demo clock that turns the board red within minutes.

The server is a real `siaga serve` process on the test database (the README's own command, the real clock
the CLI commands also use), stopped with SIGTERM at the end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import expect

from tests.conftest import free_port
from tests.e2e.test_consoles import shot

README = Path(__file__).resolve().parents[2] / "README.md"
LIVE_MS = 10_000


def siaga(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "siaga", *args], env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture
def demo(db_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """`make run` on the test database: `siaga demo load` (its printed one-time passwords), `siaga serve`."""
    env = {**os.environ, "SIAGA_DATABASE_URL": db_url, "SIAGA_SECRET_KEY": "walkthrough", "COLUMNS": "200",
           "SIAGA_DATA_DIR": str(tmp_path / "data"), "SIAGA_EVENT_POLL_SECONDS": "0.2"}
    loaded = siaga(env, "demo", "load").stdout
    passwords = dict(re.findall(r"│\s*(\w+)\s*│\s*\w+\s*│\s*(\S+)\s*│", loaded))
    assert {"operator1", "dispatcher1", "supervisor1", "damkar1"} <= set(passwords), loaded
    assert "Demo incidents: 4" in loaded, loaded
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "siaga", "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "siaga serve died"
        assert time.monotonic() < deadline, "siaga serve did not start"
        time.sleep(0.2)
    try:
        yield base, passwords, env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def login(browser, demo):  # type: ignore[no-untyped-def]
    """Log a demo user in with the password `siaga demo load` printed, in a browser context of its own."""
    base, passwords, _env = demo
    contexts = []

    def open_as(username: str, path: str, viewport: dict | None = None):  # type: ignore[no-untyped-def]
        context = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta",
                                      viewport=viewport or {"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.js_errors = errors  # type: ignore[attr-defined]
        page.goto(base + "/")
        page.fill("#username", username)
        page.fill("#password", passwords[username])
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_function("(window.Live && Live.state === 'live') || location.pathname === '/totp'")
        if page.url.endswith("/totp"):  # "admin and supervisor1 must enrol an authenticator app at first sign-in"
            page.get_by_role("button", name="Daftarkan aplikasi autentikator").click()
            secret = page.locator("#totp-secret").inner_text().replace(" ", "")  # what the phone scans
            page.get_by_label("Kode 6 digit yang ditampilkan aplikasi").fill(pyotp.TOTP(secret).now())
            page.get_by_role("button", name="Aktifkan").click()
            page.get_by_role("button", name="Saya sudah menyimpan kode ini").click()
            page.wait_for_function("window.Live && Live.state === 'live'")
        if path != "/" and not page.url.endswith(path):
            page.goto(base + path)
            page.wait_for_function("window.Live && Live.state === 'live'")
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_readme_says_what_this_test_follows():
    """The steps below quote the README; if it is reworded, this test is read again."""
    text = README.read_text(encoding="utf-8")
    walk = text[text.index("## Run an incident from call to closure"):text.index("## What is here")]
    for quoted in ("`operator1` (call-taker, `/calltaker`)", "*Catat panggilan manual*",
                   "`.venv/bin/siaga demo call 081234567890`", "press **A**", "type part of its name",
                   "*Mungkin kejadian yang sama*", "**Ctrl+Enter** creates the incident", "*Tutup panggilan*",
                   "`dispatcher1` (`/board`)", "*Kirim ke instansi terpilih*", "Damkar + Dinkes",
                   "`damkar1` (`/agency`, works on a phone)", "*Terima*", "*Tugaskan unit*", "*Kirim*",
                   "BERANGKAT → TIBA DI LOKASI → SELESAI", "*Buka navigasi*", "*Selesai (tutup penugasan)*",
                   "the outcome (*Catatan hasil*), *Tandai selesai ditangani*", "*Tutup kejadian*",
                   "`supervisor1`", "`/wallboard`"):
        assert quoted in walk, quoted


def test_call_to_closure_as_the_readme_walks_it(login, demo, api):
    base, _passwords, env = demo

    # The demo a newcomer opens: four incidents under way, every clock left running is a unit's arrival
    # (minutes away, not a minute to acknowledge), and no call of operator1 waiting for an outcome.
    now = datetime.now(UTC)
    demo_incidents = api("disp").get("/api/v1/incidents").json()
    assert len(demo_incidents) == 4
    for incident in demo_incidents:
        for a in incident["assignments"]:
            assert a["due_at"] is None or datetime.fromisoformat(a["due_at"]) > now + timedelta(minutes=10), a

    # Open the browsers first (one private window per user).
    wall = login("supervisor1", "/wallboard", viewport={"width": 1920, "height": 1080})
    board = login("dispatcher1", "/board")
    expect(board.locator("#board-incidents tbody tr")).to_have_count(4)
    expect(board.locator("#board-incidents tr.overdue")).to_have_count(0)
    agency = login("damkar1", "/agency", viewport={"width": 390, "height": 844})  # a phone
    ct = login("operator1", "/calltaker")
    expect(ct.locator("#no-call")).to_be_visible()  # nothing left over from the demo
    expect(ct.locator("#call-queue li")).to_have_count(0)

    # 1. operator1: "record a call with Catat panggilan manual — or … siaga demo call 081234567890; they
    #    arrive in the queue; press A to take one."
    expect(ct.locator("details.manual summary")).to_have_text("Catat panggilan manual")
    siaga(env, "demo", "call", "081234567890")
    expect(ct.locator("#call-queue li", has_text="081234567890")).to_be_visible(timeout=LIVE_MS)
    ct.keyboard.press("a")
    expect(ct.locator("#active-call .caller")).to_contain_text("081234567890")
    # "Find the category: type part of its name (kebakaran, rumah, medis) and press Enter."
    expect(ct.locator("#f-category")).to_be_focused()
    ct.keyboard.type("kebakaran")
    ct.keyboard.press("Enter")
    expect(ct.locator("#f-category")).to_have_value("Kebakaran")
    # "Type a desa, kecamatan or patokan (↑/↓, Enter)"
    ct.locator("#f-place").press_sequentially("Senggoro")
    expect(ct.locator("#place-list li").first).to_contain_text("Senggoro")
    ct.locator("#f-place").press("Enter")
    expect(ct.locator("#picked-place")).to_contain_text("Senggoro")
    # "answer the guided questions (the priority follows)"
    injured = ct.locator(".questions .question", has_text="Apakah ada korban luka atau luka bakar?")
    injured.get_by_label("Ya").check()
    expect(ct.locator("input[name=priority]:checked")).to_have_value("1")
    # "check the Mungkin kejadian yang sama list"
    expect(ct.locator("#duplicates h3")).to_have_text("Mungkin kejadian yang sama")
    # "Ctrl+Enter creates the incident"
    ct.keyboard.press("Control+Enter")
    created = ct.locator("#call-incident")
    expect(created).to_contain_text("Kejadian dibuat")
    number = re.search(r"BKS-\d{4}-\d{6}", created.inner_text()).group(0)
    shot(ct, "readme-1-calltaker")
    # "Choose the call's outcome and close the call (Tutup panggilan)."
    ct.select_option("#f-outcome", "emergency")
    ct.get_by_role("button", name="Tutup panggilan").click()
    expect(ct.locator("#no-call")).to_be_visible()

    # 2. dispatcher1 on /board: "the incident appears without reloading. Open it: the response plan proposes
    #    the agencies (a fire with casualties: Damkar + Dinkes); Kirim ke instansi terpilih notifies them all at
    #    once, and each agency's deadline counts down on the board."
    row = board.locator(f"#board-incidents tr[data-number='{number}']")
    expect(row).to_be_visible(timeout=LIVE_MS)
    board.get_by_role("link", name=number, exact=True).click()
    board.wait_for_function("window.Live && Live.state === 'live'")
    plan = board.locator("#plan")
    expect(plan.locator("label", has_text="Damkar")).to_be_visible()
    expect(plan.locator("label", has_text="Dinkes")).to_be_visible()
    expect(plan.locator("input:checked")).to_have_count(2)
    board.get_by_role("button", name="Kirim ke instansi terpilih").click()
    expect(board.locator("#assignments .assignment")).to_have_count(2)
    shot(board, "readme-2-incident")
    board.go_back()
    board.wait_for_function("window.Live && Live.state === 'live'")
    expect(board.locator(f"#board-incidents tr[data-number='{number}']")).to_contain_text("terima")

    # 3. damkar1 on /agency: "Terima (acknowledge), pick a unit under Tugaskan unit — ranked by travel time,
    #    with ETA — and Kirim."
    card = agency.locator(f".incident-card[data-number='{number}']")
    expect(card).to_be_visible(timeout=LIVE_MS)
    card.get_by_role("button", name="Terima").click()
    pick = card.get_by_label("Tugaskan unit")
    expect(pick.locator("option").nth(1)).to_contain_text(re.compile(r"— \d+ mnt · "))  # the fastest, with ETA
    pick.select_option(index=1)
    card.get_by_role("button", name="Kirim", exact=True).click()
    sent = card.locator(".assignment ul.list li span").first  # the unit now on its way
    expect(sent).to_have_text(re.compile(r"^DMK-"))
    callsign = sent.inner_text()
    shot(agency, "readme-3-agency")

    # 4. The field unit on /field (damkar1 can open it): "choose the unit, then BERANGKAT → TIBA DI LOKASI →
    #    SELESAI; Buka navigasi opens the phone's map to the location."
    field = agency.context.new_page()
    field.js_errors = []  # type: ignore[attr-defined]
    field.on("pageerror", lambda e: field.js_errors.append(str(e)))  # type: ignore[attr-defined]
    field.goto(base + "/field")
    field.wait_for_function("window.Live && Live.state === 'live'")
    field.locator("#unit-pick button", has_text=callsign).click()
    expect(field.locator("#field-assignment")).to_contain_text(number)
    expect(field.get_by_role("link", name="Buka navigasi")).to_have_attribute("href", re.compile(r"^geo:"))
    for button in ("BERANGKAT", "TIBA DI LOKASI", "SELESAI"):
        field.get_by_role("button", name=button, exact=True).click()
        expect(field.get_by_role("button", name=button, exact=True)).to_be_hidden()
    expect(field.locator("#unit-status")).to_have_attribute("data-status", "returning")
    shot(field, "readme-4-field")

    # 5. damkar1: "write the outcome note, Selesai (tutup penugasan)."
    card.get_by_label("Catatan hasil").fill("Api padam, satu korban dibawa ke RSUD")
    card.get_by_role("button", name="Selesai (tutup penugasan)").click()
    expect(card.locator(".assignment .chip").first).to_have_text("Selesai", timeout=LIVE_MS)

    # 6. dispatcher1 on the incident page: "write the outcome (Catatan hasil), Tandai selesai ditangani (any
    #    agency still out is stood down), then Tutup kejadian."
    board.get_by_role("link", name=number, exact=True).click()
    board.wait_for_function("window.Live && Live.state === 'live'")
    board.locator("#status-form").get_by_label("Catatan hasil").fill("Api padam, satu korban ke RSUD Bengkalis")
    board.get_by_role("button", name="Tandai selesai ditangani").click()
    expect(board.locator("#incident-status")).to_have_text("Selesai ditangani")
    board.get_by_role("button", name="Tutup kejadian").click()
    expect(board.locator("#incident-status")).to_have_text("Ditutup")
    expect(board.locator("#status-form .field-error")).to_have_text("")
    expect(board.locator("#timeline")).to_contain_text("Ditutup")
    shot(board, "readme-6-closed")
    closed = [i for i in api("disp").get("/api/v1/incidents?all=true").json() if i["number"] == number]
    assert [i["status"] for i in closed] == ["closed"]
    assert all(a["state"] in ("cleared", "stood_down") for a in closed[0]["assignments"])
    # supervisor1 kept /wallboard open meanwhile: it followed, and counts no call waiting.
    expect(wall.locator("#wb-waiting .value")).to_have_text("0")
    for page in (wall, board, agency, field, ct):
        assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]
