"""A demo trunk (`siaga simulate calls`): emergency calls from Bengkalis numbers and places, as real SIP
calls through the edge when it runs (sipp as the telco), otherwise as call events into the queue — the
same intake a PBX uses. For demos and training; a newcomer sees calls ring in the console."""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from siaga.core.context import Ctx
from siaga.domains.calls import actions as call_actions
from siaga.domains.calls import schemas as call_schemas
from siaga.domains.simulate.reference import places_from_csv
from siaga.settings import Settings

# The trunk scenarios the SIP tests use (sipp as the telco), shipped with the telephony domain.
SCENARIOS = Path(__file__).parent.parent / "telephony" / "sipp"
PREFIXES = ("0811", "0812", "0813", "0821", "0822", "0852", "0853", "0857", "0878", "0896")


class DemoError(Exception):
    pass


@dataclass(frozen=True)
class DemoCall:
    number: str
    lat: float
    lon: float
    accuracy_m: int


def demo_calls(count: int, seed: int | None = None) -> list[DemoCall]:
    rnd = random.Random(seed)
    places = places_from_csv()
    calls = []
    for _ in range(count):
        place = rnd.choice(places)
        calls.append(DemoCall(number=rnd.choice(PREFIXES) + "".join(str(rnd.randrange(10)) for _ in range(8)),
                              lat=round(place.lat + rnd.uniform(-0.01, 0.01), 5),
                              lon=round(place.lon + rnd.uniform(-0.01, 0.01), 5),
                              accuracy_m=rnd.choice((15, 35, 120, 500, 1500))))
    return calls


VOICE_PCAPS = ("/usr/share/sip-tester/dtmf_2833_5.pcap", "/usr/share/sip-tester/g711a.pcap")


def sip_target(settings: Settings) -> str:
    """host:port of the edge's first UDP listener (sipp has no TLS and we send over UDP)."""
    for sock in settings.telephony_listen.split(","):
        proto, _, addr = sock.strip().partition(":")
        if proto == "udp" and addr:
            return addr if addr.count(":") == 1 else addr + ":5060"
    raise DemoError("the edge has no UDP listener (SIAGA_TELEPHONY_LISTEN): sipp needs one")


def place_sip_calls(settings: Settings, calls: list[DemoCall], rate: float, talk_ms: int,
                    timeout_s: float = 600, *, voice: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Place the calls through the edge with sipp as the trunk. Each waits for an operator to answer,
    talks `talk_ms`, and hangs up; calls nobody answers within the timeout count as failed. `voice`: once
    answered the caller presses 5 and speaks (sip-tester's sample recordings, RTP)."""
    if shutil.which("sipp") is None:
        raise DemoError("sipp is not installed: as root, apt-get install sip-tester")
    if voice and not all(Path(p).is_file() for p in VOICE_PCAPS):
        raise DemoError("sip-tester's sample recordings are missing (/usr/share/sip-tester): as root, "
                        "apt-get install --reinstall sip-tester")
    with tempfile.TemporaryDirectory(prefix="siaga-demo-") as tmp:
        csv = Path(tmp) / "callers.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"{c.number};{c.lat} {c.lon};{c.accuracy_m}\n" for c in calls))
        scenario = "trunk_call_dtmf.xml" if voice else "trunk_call.xml"
        cmd = ["sipp", "-sf", str(SCENARIOS / scenario), "-inf", str(csv), "-m", str(len(calls)),
               "-r", str(rate), "-d", str(talk_ms), "-nostdin", "-timeout", f"{int(timeout_s)}s", "-timeout_error",
               "-i", "127.0.0.1", sip_target(settings)]
        return subprocess.run(cmd, capture_output=True, timeout=timeout_s + 30, cwd=tmp)


def ring_call_events(ctx: Ctx, call: DemoCall) -> call_schemas.CallOut:
    """One demo call as call events (offered, ringing) with a network location, as a PBX would send them."""
    ref = "demo-" + uuid.uuid4().hex[:12]
    now = ctx.now()
    loc = call_schemas.LocationIn(source="network", lat=call.lat, lon=call.lon, accuracy_m=call.accuracy_m)
    call_actions.ingest_call_event(ctx, call_schemas.CallEventIn(
        event_id=f"{ref}-offered", call_ref=ref, type="offered", at=now, caller_number=call.number, location=loc))
    return call_actions.ingest_call_event(ctx, call_schemas.CallEventIn(
        event_id=f"{ref}-ringing", call_ref=ref, type="ringing", at=now)).call


def pause(rate: float) -> None:
    time.sleep(1.0 / rate if rate > 0 else 0)
