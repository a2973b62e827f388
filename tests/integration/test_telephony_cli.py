"""`siaga telephony` and `siaga simulate calls` as an admin uses them, with a real Kamailio where it counts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select

from siaga.domains.calls.models import Call, CallLocation
from tests import cli
from tests.cli import Ran


def siaga(url: str, *args: str, **env: str) -> Ran:
    return cli.siaga(url, *args, **env)


def test_demo_calls_ring_into_the_queue_as_call_events_when_no_edge_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert siaga(url, "db", "upgrade").returncode == 0
    assert siaga(url, "demo", "load", "--no-incidents").returncode == 0
    r = siaga(url, "simulate", "calls", "-n", "3", "--rate", "50", "--seed", "7")
    assert r.returncode == 0, r.stderr
    assert "not running" in r.stdout
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(Call.status, Call.caller_number)).all()
        assert len(rows) == 3 and {s for s, _ in rows} == {"ringing"}
        assert all(n.startswith("08") for _, n in rows)
        assert conn.scalar(select(func.count()).select_from(CallLocation)) == 3
    engine.dispose()
    forced = siaga(url, "simulate", "calls", "--via", "sip")
    assert forced.returncode == 1 and "siaga telephony start" in forced.stderr
    # Issue 17: the demo's Damkar operator gets a browser line (never in the 112 queue); a dispatcher cannot.
    agency = siaga(url, "telephony", "line", "damkar1", "2001", "--browser")
    assert agency.returncode == 0, agency.stderr
    assert "/agency" in agency.stdout
    refused = siaga(url, "telephony", "line", "dispatcher1", "2002")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr


def test_config_is_rendered_checked_by_kamailio_and_bad_settings_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cfg.db'}"
    ok = siaga(url, "telephony", "config", "--dir", str(tmp_path / "edge"),
               SIAGA_TELEPHONY_TRUNKS="10.20.30.0/24,127.0.0.1/32", SIAGA_TELEPHONY_NUMBERS="112,110")
    assert ok.returncode == 0, ok.stderr
    text = (tmp_path / "edge" / "kamailio.cfg").read_text()
    assert '"10.20.30.0/24,127.0.0.1/32"' in text and '$rU == "110"' in text
    bad = siaga(url, "telephony", "config", "--dir", str(tmp_path / "edge2"), SIAGA_TELEPHONY_NUMBERS="112;drop")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    status = siaga(url, "telephony", "status", "--dir", str(tmp_path / "edge"))
    assert status.returncode == 1  # nothing running: the exit code says so for monitoring


def test_start_and_stop_manage_rtpengine_with_kamailio_and_media_settings_are_checked(tmp_path: Path) -> None:
    from tests.sip.harness import free_tcp_port, free_udp_port, rtp_ports

    url = f"sqlite:///{tmp_path / 'media.db'}"
    env = {"SIAGA_TELEPHONY_LISTEN": f"udp:127.0.0.1:{free_udp_port()}",
           "SIAGA_TELEPHONY_EVAPI": f"127.0.0.1:{free_tcp_port()}",
           "SIAGA_TELEPHONY_RTPENGINE_NG": f"127.0.0.1:{free_udp_port()}",
           "SIAGA_TELEPHONY_RTP_PORTS": rtp_ports(100), "SIAGA_RECORDING_DIR": str(tmp_path / "rec"),
           "SIAGA_TELEPHONY_PROMPTS_DIR": str(tmp_path / "prompts")}
    edge = str(tmp_path / "edge")
    for name, value in (("SIAGA_TELEPHONY_MEDIA_INTERFACE", "127.0.0.1 --foo"),
                        ("SIAGA_TELEPHONY_RTP_PORTS", "40000-30000"), ("SIAGA_TELEPHONY_RTPENGINE_NG", "x:1;y")):
        bad = siaga(url, "telephony", "start", "--dir", edge, **{**env, name: value})
        assert bad.returncode != 0 and name in bad.stderr + bad.stdout and "Traceback" not in bad.stderr, name
    assert siaga(url, "db", "upgrade").returncode == 0
    try:
        started = siaga(url, "telephony", "start", "--dir", edge, **env)
        assert started.returncode == 0, started.stderr + started.stdout
        assert "Media (rtpengine) running" in started.stdout and "SIP edge running" in started.stdout
        assert 'loadmodule "rtpengine.so"' in (tmp_path / "edge" / "kamailio.cfg").read_text()
        status = siaga(url, "telephony", "status", "--dir", edge, **env)
        assert "Media (rtpengine): running" in status.stdout, status.stdout
        assert (tmp_path / "rec" / "spool" / "metadata").is_dir()
        # The waiting prompt was missing: start generated it (espeak-ng), and status names it.
        assert "Waiting prompt generated" in started.stdout and (tmp_path / "prompts" / "antrian.wav").is_file()
        assert "Waiting prompt: " + str(tmp_path / "prompts" / "antrian.wav") in status.stdout, status.stdout
    finally:
        stopped = siaga(url, "telephony", "stop", "--dir", edge, **env)
    assert "Media (rtpengine) stopped" in stopped.stdout and "SIP edge stopped" in stopped.stdout
    after = siaga(url, "telephony", "status", "--dir", edge, **env)
    assert after.returncode == 1 and "Media (rtpengine): not running" in after.stdout
