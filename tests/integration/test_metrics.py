"""What the on-call technician's Prometheus reads at /metrics, who may read it, and the alert rules and
dashboard in deploy/ that use it (checked with Debian's promtool, installed by `make test`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from siaga.db.engine import make_engine
from tests.conftest import BACKEND
from tests.integration.test_call_events import event, send

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Named by the rules or the dashboard, exported only where they mean something:
CONDITIONAL = {
    "siaga_edge_connected": "only by a process that runs the bridge to the SIP edge",
    "siaga_database_replication_lag_seconds": "only where a streaming replica exists",
    "siaga_database_replicas": "only on PostgreSQL",
    "siaga_backup_last_timestamp_seconds": "only with SIAGA_BACKUP_DIR set",
    "siaga_recordings_waiting_oldest_seconds": "only where calls' media is anchored (SIAGA_TELEPHONY_MEDIA)",
}


def scrape(app, address: str = "127.0.0.1", **headers: str) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, raise_server_exceptions=False, client=(address, 50000), headers=headers)


def samples(text: str) -> dict[str, float]:
    """{'name{label="v",…}': value} of a scrape, labels sorted."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def test_metrics_count_waiting_answered_and_abandoned_calls(app, api, clock):
    def at(seconds_ago: int) -> str:
        return (clock.now().replace(microsecond=0) - timedelta(seconds=seconds_ago)).isoformat()

    send(api, event("a1", "offered", at(100), ref="answered-fast"))
    send(api, event("a2", "answered", at(96), ref="answered-fast", operator_username="ct"))
    send(api, event("b1", "offered", at(90), ref="answered-late"))
    send(api, event("b2", "answered", at(65), ref="answered-late", operator_username="ct"))
    send(api, event("c1", "offered", at(50), ref="abandoned"))
    send(api, event("c2", "ended", at(40), ref="abandoned"))
    send(api, event("d1", "offered", at(30), ref="still-waiting"))
    r = scrape(app).get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    m = samples(r.text)
    assert m["siaga_database_up"] == 1
    assert m["siaga_calls_waiting"] == 1 and m["siaga_call_oldest_wait_seconds"] == pytest.approx(30, abs=1)
    assert m["siaga_calls_offered_total"] == 4 and m["siaga_calls_abandoned_total"] == 1
    assert m["siaga_call_answer_seconds_count"] == 2
    assert m["siaga_call_answer_seconds_sum"] == pytest.approx(4 + 25, abs=0.01)
    assert m['siaga_call_answer_seconds_bucket{le="5.0"}'] == 1
    assert m['siaga_call_answer_seconds_bucket{le="20.0"}'] == 1
    assert m['siaga_call_answer_seconds_bucket{le="30.0"}'] == 2
    assert m['siaga_call_answer_seconds_bucket{le="+Inf"}'] == 2
    assert m['siaga_operators_on_duty{counted_by="consoles"}'] == 0
    assert m["siaga_event_stream_clients"] == 0
    assert ("siaga_database_replicas" in m) == (BACKEND == "postgresql")


def test_metrics_follow_incidents_and_their_deadlines(app, api):
    from tests.integration.test_deadlines import new_incident
    from tests.integration.test_deadlines import send as send_to

    before = samples(scrape(app).get("/metrics").text)
    incident = new_incident(api)
    send_to(api, incident, "DAMKAR")
    m = samples(scrape(app).get("/metrics").text)
    assert m["siaga_incidents_open"] == before["siaga_incidents_open"] + 1
    assert m["siaga_deadlines_pending"] > before["siaga_deadlines_pending"]
    assert m["siaga_deadlines_overdue"] == 0


def test_only_the_configured_networks_may_read_the_metrics(app, settings):
    r = scrape(app, address="203.0.113.9").get("/metrics", headers={"Accept-Language": "en"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "metrics_forbidden" and "203.0.113.9" in r.json()["title"]
    # a client cannot claim a loopback address through the header
    assert scrape(app, address="203.0.113.9", **{"X-Forwarded-For": "127.0.0.1"}).get("/metrics").status_code == 403
    app.state.settings = settings.model_copy(update={"metrics_networks": "203.0.113.0/24"})
    assert scrape(app, address="203.0.113.9").get("/metrics").status_code == 200
    assert scrape(app).get("/metrics").status_code == 403


def test_metrics_still_answer_when_the_database_is_down_and_say_so(settings, clock, tmp_path):
    from siaga.app import create_app

    engine = make_engine(f"sqlite:///{tmp_path}")  # a directory: no database can be opened there
    try:
        r = scrape(create_app(settings, clock=clock, engine=engine)).get("/metrics")
    finally:
        engine.dispose()
    assert r.status_code == 200
    m = samples(r.text)
    assert m["siaga_database_up"] == 0 and "siaga_calls_waiting" not in m


def test_the_backup_age_is_exported_when_backups_are_kept(app, settings, tmp_path, clock):
    from siaga.db import backup

    if BACKEND != "sqlite":
        folder = tmp_path  # PostgreSQL uses pgBackRest; the metric still reads the folder it is given
        (folder / "siaga-20261201T000000Z.db").write_bytes(b"")
    else:
        folder = tmp_path / "backups"
        backup.take(settings.database_url, folder, 3, clock.now())
    app.state.settings = settings.model_copy(update={"backup_dir": str(folder)})
    m = samples(scrape(app).get("/metrics").text)
    assert m["siaga_backup_last_timestamp_seconds"] == backup.latest(folder).taken_at.timestamp()


def test_recordings_left_unattached_and_unreadable_are_exported(app, settings, engine, clock, tmp_path):
    """What tells the technician that recording fails: finished recordings the attacher has not taken from
    rtpengine's spool (and how long the oldest has waited), and recordings kept that cannot be decoded."""
    from siaga.db.engine import unit_of_work
    from siaga.domains.recordings.models import Recording

    meta = tmp_path / "spool" / "metadata"
    meta.mkdir(parents=True)
    waiting = meta / "rtpengine-meta-abc.txt"
    waiting.write_text("CALL-ID: abc\n")
    an_hour_ago = clock.now().timestamp() - 3600
    os.utime(waiting, (an_hour_ago, an_hour_ago))
    app.state.settings = settings.model_copy(update={"recording_dir": tmp_path, "telephony_media": True})
    m = samples(scrape(app).get("/metrics").text)
    assert m["siaga_recordings_waiting"] == 1 and m["siaga_recordings_waiting_oldest_seconds"] == 3600
    assert m["siaga_recordings_unreadable"] == 0
    with unit_of_work(engine) as db:
        db.add(Recording(source="rtpengine-meta-x.txt", call_ref="x", state="unreadable", reason="codec",
                         attached_at=clock.now()))
    waiting.unlink()
    m = samples(scrape(app).get("/metrics").text)
    assert m["siaga_recordings_unreadable"] == 1 and m["siaga_recordings_waiting"] == 0


def _names_used(text: str) -> set[str]:
    names = set(re.findall(r"\bsiaga_[a-z_]+", text))
    return {re.sub(r"_(bucket|count|sum)$", "", n) for n in names}


def test_every_metric_the_alert_rules_and_dashboard_use_is_exported(app, settings, tmp_path):
    app.state.settings = settings.model_copy(update={"backup_dir": str(tmp_path)})
    exported = {f.name for f in text_string_to_metric_families(scrape(app).get("/metrics").text)}
    exported |= {n + "_total" for n in exported}  # a counter family is named without its _total
    rules = (DEPLOY / "prometheus/siaga-alerts.yml").read_text()
    dashboard = json.loads((DEPLOY / "grafana/siaga-dashboard.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    missing = (_names_used(rules) | _names_used(exprs)) - exported - set(CONDITIONAL)
    assert not missing, f"named in deploy/ but not exported: {sorted(missing)}"


def test_the_alert_rules_load_in_promtool_and_fire_on_what_they_name():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make test` installs it (Debian: apt-get install prometheus)"
    folder = DEPLOY / "prometheus"
    check = subprocess.run([promtool, "check", "rules", "siaga-alerts.yml"], cwd=folder, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", "siaga-alerts.test.yml"], cwd=folder, capture_output=True,
                          text=True, timeout=120)
    assert test.returncode == 0, test.stdout + test.stderr
