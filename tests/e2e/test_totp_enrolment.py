"""A supervisor's first sign-in as shipped (two-step verification required of supervisors): held on the enrolment
page, scans the QR code (here: reads the key shown as text), confirms a code, sees the recovery codes once, then
signs in with password and code. Codes are computed with pyotp at the fixed clock's time, as a phone would."""

from __future__ import annotations

import os

import pyotp
import pytest

from siaga.settings import Settings
from tests.conftest import PASSWORD


@pytest.fixture
def settings(db_url: str, session_settings: Settings) -> Settings:
    return session_settings.model_copy(update={"totp_required_roles": "admin,supervisor"})


def test_a_supervisor_enrols_in_the_console_then_signs_in_with_a_code(page, live_server, clock):
    page.goto(live_server + "/")
    page.get_by_label("Nama pengguna").fill("sup")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(live_server + "/totp")  # held here: nothing else until enrolled
    assert "wajib" in page.locator("#totp-required").inner_text()
    assert page.locator("header nav a").count() == 0
    page.get_by_role("button", name="Daftarkan aplikasi autentikator").click()
    assert page.locator("#totp-qr svg").is_visible()
    if os.environ.get("SIAGA_SCREENSHOTS"):
        page.screenshot(path=os.environ["SIAGA_SCREENSHOTS"] + "/totp-enrol.png", full_page=True)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")  # shown in groups of four, for typing
    page.get_by_label("Kode 6 digit yang ditampilkan aplikasi").fill("000000" if pyotp.TOTP(secret).at(
        clock.now()) != "000000" else "111111")
    page.get_by_role("button", name="Aktifkan").click()
    assert "salah" in page.locator("#totp-error").inner_text()
    assert page.locator("#totp-qr svg").is_visible()  # the same QR code again, to try once more
    page.get_by_label("Kode 6 digit yang ditampilkan aplikasi").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Aktifkan").click()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    if os.environ.get("SIAGA_SCREENSHOTS"):
        page.screenshot(path=os.environ["SIAGA_SCREENSHOTS"] + "/totp-recovery.png", full_page=True)
    page.get_by_role("button", name="Saya sudah menyimpan kode ini").click()
    page.wait_for_url(live_server + "/board")
    page.get_by_role("button", name="Keluar").click()

    clock.advance(seconds=30)  # the code that enrolled is spent; the phone shows the next one
    page.get_by_label("Nama pengguna").fill("sup")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    assert "aplikasi autentikator" in page.locator("#totp-prompt").inner_text()
    page.get_by_label("Kode 6 digit dari aplikasi autentikator, atau kode pemulihan").fill(
        pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Verifikasi").click()
    page.wait_for_url(live_server + "/board")
    page.get_by_role("link", name="Verifikasi 2 langkah").click()
    assert "aktif" in page.locator("#totp-status").inner_text()
