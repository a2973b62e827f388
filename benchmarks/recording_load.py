"""Recorded calls under load: N concurrent calls (default 30) through the real edge — sipp as the trunk and as
one operator phone, both playing sip-tester's g711a.pcap (7 s of speech) — with every call's media anchored
in rtpengine and recorded, against the same calls through the same edge with recording off, in the same run.

The edge runs without the service (degraded mode: the one phone, registered with a digest pushed over
evapi as the service would, answers every call), so the figures are the media plane's own.

Reported:
- recordings lost (target 0): calls answered minus recordings rtpengine finished that decode to a WAV of
  the call's length with speech in both channels;
- rtpengine CPU time per call, recorded and not (and their ratio), and the service's cost of turning one
  recording into its WAV (the ticker's `recordings` job);
- RTP loss and interarrival jitter (RFC 3550) of the packets rtpengine received, from its recordings (the
  sample pcap's own timing is uneven: its jitter is part of the figure).

Usage: python benchmarks/recording_load.py [--calls 30] [--seconds 8]"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from _common import emit  # noqa: E402
from tests.sip.harness import Edge, free_tcp_port, free_udp_port, rtp_ports, wait_for  # noqa: E402

from siaga.domains.recordings import audio  # noqa: E402
from siaga.domains.telephony.bridge import encode_netstring  # noqa: E402
from siaga.settings import Settings  # noqa: E402

EXT, PASSWORD = "1001", "bench-secret-1001"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def push_line(settings: Settings) -> None:
    """What the bridge does on connect: the phone's digest into the edge's table. Then it goes away."""
    host, port = settings.telephony_evapi.rsplit(":", 1)
    ha1 = hashlib.md5(f"{EXT}:{settings.telephony_domain}:{PASSWORD}".encode()).hexdigest()  # noqa: S324 - SIP digest
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(encode_netstring({"cmd": "line", "ext": EXT, "ha1": ha1}))
        time.sleep(0.3)


def stream_stats(pcap: Path) -> tuple[int, int, list[float]]:
    """(packets received, packets expected, jitter per stream in ms) from rtpengine's raw-IP pcap."""
    import struct

    data = pcap.read_bytes()
    streams: dict[tuple[int, int], list[tuple[float, int, int]]] = {}
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ihl = (pkt[0] & 15) * 4
        dport = struct.unpack(">H", pkt[ihl + 2:ihl + 4])[0]
        rtp = pkt[ihl + 8:]
        seq, ts, ssrc = struct.unpack(">HII", rtp[2:12])
        streams.setdefault((dport, ssrc), []).append((sec + usec / 1e6, seq, ts))
    got = expected = 0
    jitters = []
    for pkts in streams.values():
        seqs = [p[1] for p in pkts]
        got += len(pkts)
        expected += (max(seqs) - min(seqs)) % 65536 + 1
        j = 0.0
        for (a0, _, t0), (a1, _, t1) in zip(pkts, pkts[1:], strict=False):
            d = (a1 - a0) - ((t1 - t0) & 0xFFFFFFFF) / 8000
            j += (abs(d) - j) / 16
        jitters.append(j * 1000)
    return got, expected, jitters


def run(calls: int, seconds: int, record: bool, workdir: Path) -> dict[str, float]:
    sip_port = free_udp_port()
    settings = Settings(database_url="sqlite://", secret_key="bench", telephony_evapi=f"127.0.0.1:{free_tcp_port()}",
                        telephony_listen=f"udp:127.0.0.1:{sip_port}", telephony_media=True,
                        recording_dir=workdir / "rec", telephony_rtp_ports=rtp_ports(8 * calls + 100),
                        telephony_rtpengine_ng=f"127.0.0.1:{free_udp_port()}")
    edge = Edge(settings, workdir / "edge", sip_port)
    edge.directory.mkdir(parents=True)
    if not record:
        edge.config_filter = lambda text: text.replace(" record-call=on", "")
    edge.start_media()
    edge.start()
    try:
        push_line(settings)
        edge.phone(EXT, PASSWORD, "phone_answer_audio.xml", calls=calls)
        wait_for(lambda: "evapi: service disconnected" in edge.log_text(), 10, "the edge to be on its own")
        assert edge.media is not None
        before = cpu_seconds(edge.media.pid)
        done = edge.sipp("trunk_call_audio.xml", "-d", str(seconds * 1000), "-l", str(calls), "-r", str(calls),
                         rows=["+6281234567890;1.4667 102.1;35"], calls=calls, timeout=seconds + 60)
        ok_calls = calls if done.returncode == 0 else int(
            next((line.split()[-1] for line in done.stdout.decode(errors="replace").splitlines()
                  if line.strip().startswith("Successful call")), "0") or 0)
        meta = edge.settings.recording_dir / "spool" / "metadata"
        if record:
            wait_for(lambda: len(list(meta.glob("*.txt"))) >= ok_calls, 20, "every recording to finish")
        cpu = cpu_seconds(edge.media.pid) - before
        out = {"calls_ok": float(ok_calls), "cpu_per_call_ms": 1000 * cpu / max(ok_calls, 1)}
        if record:
            good = 0
            got = expected = 0
            jitters: list[float] = []
            decode_s = 0.0
            for m in meta.glob("*.txt"):
                md = audio.read_metadata(m)
                t0 = time.perf_counter()
                try:
                    decoded = audio.decode(md)
                except audio.Unreadable:
                    continue
                decode_s += time.perf_counter() - t0
                caller, operator = audio.channel_rms(decoded.wav)
                if decoded.duration_s >= seconds - 1.5 and min(caller, operator) > 500:
                    good += 1
                g, e, j = stream_stats(md.pcap)
                got, expected = got + g, expected + e
                jitters += j
            out.update(decode_ms_per_call=1000 * decode_s / max(ok_calls, 1), recordings_good=float(good),
                       lost=float(ok_calls - good),
                       loss_pct=100 * (1 - got / expected) if expected else 100.0,
                       jitter_ms_mean=float(np.mean(jitters)) if jitters else 0.0,
                       jitter_ms_max=float(np.max(jitters)) if jitters else 0.0)
        return out
    finally:
        edge.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--seconds", type=int, default=8)
    args = ap.parse_args()
    if not shutil.which("sipp") or not shutil.which("rtpengine"):
        sys.exit("needs sipp and rtpengine (make test installs them)")
    with tempfile.TemporaryDirectory(prefix="siaga-rec-bench-") as tmp:
        plain = run(args.calls, args.seconds, False, Path(tmp) / "plain")
        rec = run(args.calls, args.seconds, True, Path(tmp) / "rec")
    name = "recording_load"
    emit(name, "recordings_lost", rec["lost"], "recordings", None, target=0, higher_is_better=False,
         calls=args.calls, calls_ok=rec["calls_ok"], recordings_good=rec["recordings_good"])
    emit(name, "rtpengine_cpu_per_call_recorded", rec["cpu_per_call_ms"], "ms", plain["cpu_per_call_ms"],
         higher_is_better=False, calls=args.calls, seconds=args.seconds, calls_ok_unrecorded=plain["calls_ok"])
    emit(name, "attach_decode_per_call", rec["decode_ms_per_call"], "ms", None, higher_is_better=False,
         seconds=args.seconds)
    emit(name, "rtp_loss_at_rtpengine", rec["loss_pct"], "percent", None, higher_is_better=False)
    emit(name, "rtp_jitter_at_rtpengine_mean", rec["jitter_ms_mean"], "ms", None, higher_is_better=False,
         max_ms=round(rec["jitter_ms_max"], 3))


if __name__ == "__main__":
    main()
