"""The site's time zone (SIAGA_TIMEZONE): validated when the settings are read, labelled as Indonesians read a
clock (WIB, WITA, WIT; other zones by their UTC offset), and used for days, hours and shown times."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from siaga.core.clock import SiteZone, site_zone
from siaga.core.i18n import words
from siaga.domains.callers import risk
from siaga.domains.reports import fmt
from siaga.settings import Settings


@pytest.mark.parametrize(("name", "label", "shown"), [
    ("Asia/Jakarta", "WIB", "28-11-2026 00:30:00 WIB"),
    ("Asia/Pontianak", "WIB", "28-11-2026 00:30:00 WIB"),
    ("Asia/Makassar", "WITA", "28-11-2026 01:30:00 WITA"),
    ("Asia/Jayapura", "WIT", "28-11-2026 02:30:00 WIT"),
    ("Asia/Kolkata", "UTC+05:30", "27-11-2026 23:00:00 UTC+05:30"),
    ("UTC", "UTC+00:00", "27-11-2026 17:30:00 UTC+00:00"),
])
def test_each_zone_has_its_label_and_shows_times_in_it(name, label, shown):
    zone = site_zone(Settings(timezone=name))
    assert (zone.name, zone.label) == (name, label)
    assert zone.format(datetime(2026, 11, 27, 17, 30, tzinfo=UTC)) == shown


def test_a_zone_with_daylight_saving_shows_the_offset_of_the_moment():
    zone = SiteZone.named("Europe/Amsterdam")
    assert zone.label == "Europe/Amsterdam"  # no single offset names it
    assert zone.format(datetime(2026, 1, 10, 12, tzinfo=UTC)).endswith("13:00:00 UTC+01:00")
    assert zone.format(datetime(2026, 7, 10, 12, tzinfo=UTC)).endswith("14:00:00 UTC+02:00")


def test_the_default_site_is_wib():
    zone = site_zone(Settings())
    assert (zone.name, zone.label, zone.description) == ("Asia/Jakarta", "WIB", "Asia/Jakarta (WIB, UTC+7)")
    assert SiteZone.named("Asia/Makassar").description == "Asia/Makassar (WITA, UTC+8)"
    assert SiteZone.named("Asia/Makassar").long_label == "WITA (UTC+08:00)"


@pytest.mark.parametrize("bad", ["Asia/Jakrta", "WIB", "", "Asia/Jakarta ", "../etc/passwd", "+07:00"])
def test_a_zone_zoneinfo_does_not_know_is_refused_readably(bad):
    with pytest.raises(ValidationError) as caught:
        Settings(timezone=bad)
    message = str(caught.value)
    assert "timezone" in message and repr(bad) in message and "Asia/Makassar (WITA)" in message


def test_the_environment_variable_is_checked_too(monkeypatch):
    monkeypatch.setenv("SIAGA_TIMEZONE", "Asia/Makasar")
    with pytest.raises(ValidationError, match="'Asia/Makasar' is not a time zone"):
        Settings()
    monkeypatch.setenv("SIAGA_TIMEZONE", "Asia/Makassar")
    assert site_zone(Settings()).label == "WITA"


def test_local_days_start_at_the_zones_midnight():
    assert SiteZone.named("Asia/Jakarta").day_start(date(2027, 1, 1)).isoformat() == "2026-12-31T17:00:00+00:00"
    assert SiteZone.named("Asia/Makassar").day_start(date(2027, 1, 1)).isoformat() == "2026-12-31T16:00:00+00:00"
    assert SiteZone.named("Asia/Jayapura").today(datetime(2026, 12, 31, 15, 30, tzinfo=UTC)) == date(2027, 1, 1)
    assert SiteZone.named("Asia/Jakarta").today(datetime(2026, 12, 31, 15, 30, tzinfo=UTC)) == date(2026, 12, 31)


def test_words_name_the_sites_zone():
    wita = words("id", SiteZone.named("Asia/Makassar"))
    assert wita["created"] == "Dibuat (WITA)" and wita["hour_local"] == "Jam (WITA)"
    assert wita["st_times_zone"] == "Semua waktu dalam WITA (UTC+08:00)."
    assert words("en", SiteZone.named("Asia/Jakarta"))["st_by_hour"] == "Calls by hour of day (WIB)"
    assert not any("WIB" in text for text in wita.values())
    assert "{n}" in wita["simulated_left_out"]  # the browser's own placeholders are left alone


def test_report_times_carry_the_sites_label():
    moment = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    assert fmt.local_time(moment, "en", SiteZone.named("Asia/Makassar")) == "27 November 2026 09:00 WITA"
    assert fmt.local_time(moment, "id", SiteZone.named("Asia/Jayapura")) == "27 November 2026 10:00 WIT"


def test_the_risk_hints_night_is_the_sites_night():
    at = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # 21:30 WIB, 22:30 WITA
    wib, wita = SiteZone.named("Asia/Jakarta"), SiteZone.named("Asia/Makassar")
    assert risk.raw_features(at, False, [], wib)["night"] == 0.0
    assert risk.raw_features(at, False, [], wita)["night"] == 1.0
    assert risk.phrase("night", {"night": 1.0}, at, wita, "en") == "at night (22:30 WITA)"


def test_an_app_with_an_unknown_zone_does_not_start():
    from siaga.app import create_app

    unchecked = Settings(database_url="sqlite://").model_copy(update={"timezone": "Asia/Bengkalis"})
    with pytest.raises(ValueError, match="'Asia/Bengkalis' is not a time zone"):
        create_app(unchecked)
