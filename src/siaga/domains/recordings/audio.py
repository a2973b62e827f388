"""rtpengine's recording of one call (a pcap of the RTP it relayed, and a metadata file written when the call
is over) turned into a stereo WAV: left the caller, right the operator's phone. Pure and bounded: a file
that is not what it should be raises `Unreadable` with the reason, never anything else.

The pcap is rtpengine's `raw` format (no link-layer header: each packet an IPv4 datagram, UDP, RTP) and
holds the packets as rtpengine received them, both directions. The metadata's answer SDP is the one
rtpengine gave the caller, so packets sent to its port are the caller's; the rest are the operator's.
G.711 (PCMU, PCMA) is decoded; a call in another codec is kept, unreadable here, with its reason."""

from __future__ import annotations

import io
import re
import struct
import urllib.parse
import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RATE = 8000
MAX_PCAP_BYTES = 512 * 1024 * 1024  # ~6 h of G.711 both ways with headers
MAX_GAP_S = 4 * 3600  # an RTP timestamp jump beyond this is garbage, not silence
LINKTYPE_RAW = (101, 228, 12)  # LINKTYPE_RAW, LINKTYPE_IPV4, and the old DLT_RAW some writers use
LINKTYPE_ETHERNET = 1


class Unreadable(Exception):
    pass


@dataclass(frozen=True)
class Metadata:
    """What rtpengine's metadata file says of one recording."""

    name: str  # the metadata file's name: one per recording, our key for it
    sip_call_id: str
    pcap: Path
    caller_port: int | None  # the port rtpengine gave the caller (the answer SDP's m=audio)
    started_at: datetime | None
    ended_at: datetime | None
    # Finished by Siaga, not by rtpengine (recordings.actions.recover_orphans): rtpengine stopped first.
    recovered: bool = False


# The line Siaga adds to an orphaned metadata file it finishes itself.
RECOVERED_MARK = "Siaga recovered at:"


def _ms(text: str, label: str) -> datetime | None:
    m = re.search(rf"^{label}:\s*([0-9.]+)\s*$", text, re.M)
    if not m:
        return None
    try:
        ms = float(m.group(1))
        # rtpengine stopped mid-call writes "0" for a time it never knew.
        return datetime.fromtimestamp(ms / 1000, UTC) if ms > 0 else None
    except (ValueError, OverflowError, OSError):
        return None


def read_metadata(path: Path) -> Metadata:
    """rtpengine-meta-<url-encoded Call-ID>-<16 hex>.txt: the pcap's path on the first line, then the SDP
    blocks and the times."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:1_000_000]
    except OSError as exc:
        raise Unreadable(f"metadata not readable: {exc}") from None
    # .txt once rtpengine finished it (spool/metadata), .tmp while it records (spool/tmp)
    stem = path.name.removesuffix(".txt").removesuffix(".tmp").removeprefix("rtpengine-meta-")
    quoted = stem.rsplit("-", 1)[0] if re.search(r"-[0-9a-f]{16}$", stem) else stem
    first = text.split("\n", 1)[0].strip()
    port = None
    for block in text.split("SDP mode: ")[1:]:
        if block.startswith("answer"):
            m = re.search(r"^m=audio ([0-9]{1,5}) ", block, re.M)
            if m:
                port = int(m.group(1))
    return Metadata(name=path.name, sip_call_id=urllib.parse.unquote(quoted), pcap=Path(first),
                    caller_port=port, started_at=_ms(text, "Timestamp started ms"),
                    ended_at=_ms(text, r"Timestamp terminated ms\(first monologue\)"),
                    recovered=RECOVERED_MARK in text)


def _decode_table(alaw: bool) -> np.ndarray:
    codes = np.arange(256, dtype=np.int32)
    if alaw:
        v = codes ^ 0x55
        seg = (v & 0x70) >> 4
        mant = v & 0x0F
        mag = np.where(seg == 0, (mant << 4) + 8, ((mant << 4) + 0x108) << np.maximum(seg - 1, 0))
        out = np.where(v & 0x80, mag, -mag)
    else:
        v = ~codes & 0xFF
        seg = (v & 0x70) >> 4
        mant = v & 0x0F
        mag = (((mant << 3) + 0x84) << seg) - 0x84
        out = np.where(v & 0x80, -mag, mag)
    return out.astype(np.int16)


TABLES = {0: _decode_table(alaw=False), 8: _decode_table(alaw=True)}


@dataclass
class _Stream:
    first_arrival: float
    first_ts: int
    pieces: list[tuple[int, bytes]]  # (sample offset from the stream's first packet, payload)


@dataclass(frozen=True)
class Decoded:
    wav: bytes
    duration_s: float
    first_packet_at: datetime | None


def decode(meta: Metadata) -> Decoded:
    try:
        size = meta.pcap.stat().st_size
        if size > MAX_PCAP_BYTES:
            raise Unreadable(f"pcap too large ({size} bytes)")
        data = meta.pcap.read_bytes()
    except OSError as exc:
        raise Unreadable(f"pcap not readable: {exc}") from None
    if len(data) < 24:
        raise Unreadable("pcap too short")
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        endian, frac = "<", 1e-6
    elif magic == b"\xa1\xb2\xc3\xd4":
        endian, frac = ">", 1e-6
    elif magic == b"\x4d\x3c\xb2\xa1":
        endian, frac = "<", 1e-9
    elif magic == b"\xa1\xb2\x3c\x4d":
        endian, frac = ">", 1e-9
    else:
        raise Unreadable("not a pcap file")
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0xFFFF
    if linktype == LINKTYPE_ETHERNET:
        skip = 14
    elif linktype in LINKTYPE_RAW:
        skip = 0
    else:
        raise Unreadable(f"pcap link type {linktype} not understood")
    streams: dict[tuple[bool, int], _Stream] = {}
    payload_types: set[int] = set()
    offset = 24
    while offset + 16 <= len(data):
        sec, sub, incl, _orig = struct.unpack(endian + "IIII", data[offset:offset + 16])
        packet = data[offset + 16 + skip:offset + 16 + incl]
        offset += 16 + incl
        if len(packet) < 20 or packet[0] >> 4 != 4:
            continue
        ihl = (packet[0] & 0x0F) * 4
        if packet[9] != 17 or len(packet) < ihl + 8 + 12:
            continue
        dport = struct.unpack(">H", packet[ihl + 2:ihl + 4])[0]
        rtp = packet[ihl + 8:]
        if rtp[0] >> 6 != 2:
            continue
        pt = rtp[1] & 0x7F
        if 72 <= pt <= 79:  # RTCP
            continue
        cc = rtp[0] & 0x0F
        head = 12 + 4 * cc
        if rtp[0] & 0x10 and len(rtp) >= head + 4:  # header extension
            head += 4 + 4 * struct.unpack(">H", rtp[head + 2:head + 4])[0]
        payload = rtp[head:]
        if rtp[0] & 0x20 and payload:  # padding
            payload = payload[:-payload[-1]] if payload[-1] <= len(payload) else b""
        if pt not in TABLES:
            if pt < 96 or not payload:
                payload_types.add(pt)
            continue  # telephone-event and the like: not audio
        ts, ssrc = struct.unpack(">II", rtp[4:12])
        caller = meta.caller_port is not None and dport == meta.caller_port
        arrival = sec + sub * frac
        key = (caller, ssrc)
        s = streams.get(key)
        if s is None:
            s = streams[key] = _Stream(arrival, ts, [])
        delta = (ts - s.first_ts) & 0xFFFFFFFF
        if delta > 0x7FFFFFFF:  # before the first packet (reordered): skip
            continue
        if delta > MAX_GAP_S * RATE:
            continue
        s.pieces.append((delta, bytes(TABLES[pt][np.frombuffer(payload, dtype=np.uint8)].tobytes())))
    if not streams:
        if payload_types:
            raise Unreadable(f"no G.711 audio (payload types {sorted(payload_types)})")
        raise Unreadable("no audio packets")
    t0 = min(s.first_arrival for s in streams.values())
    end = 0
    for s in streams.values():
        start = int(round((s.first_arrival - t0) * RATE))
        for delta, pcm in s.pieces:
            end = max(end, start + delta + len(pcm) // 2)
    channels = np.zeros((end, 2), dtype=np.int32)
    for (caller, _ssrc), s in streams.items():
        start = int(round((s.first_arrival - t0) * RATE))
        col = 0 if caller else 1
        for delta, pcm in s.pieces:
            samples = np.frombuffer(pcm, dtype=np.int16)
            at = start + delta
            channels[at:at + len(samples), col] += samples
    pcm16 = np.clip(channels, -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm16.tobytes())
    return Decoded(buf.getvalue(), end / RATE, datetime.fromtimestamp(t0, UTC))


def channel_rms(wav_bytes: bytes) -> tuple[float, float]:
    """The caller's and the operator's RMS level (for tests and the player's hint)."""
    with wave.open(io.BytesIO(wav_bytes)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())
    f = frames.astype(np.float64)
    return float(np.sqrt((f[:, 0] ** 2).mean())), float(np.sqrt((f[:, -1] ** 2).mean()))


def peaks(path: Path, points: int) -> tuple[list[float], list[float]]:
    """The waveform the player draws: each channel's peak level (0..1) in `points` equal slices, read from the
    WAV without loading it whole."""
    with wave.open(str(path)) as w:
        channels, frames, width = w.getnchannels(), w.getnframes(), w.getsampwidth()
    if width != 2 or frames == 0:
        return [0.0] * points, [0.0] * points
    data = np.memmap(path, dtype="<i2", mode="r", offset=44, shape=(frames * channels,)).reshape(-1, channels)
    edges = np.linspace(0, frames, points + 1).astype(np.int64)
    caller, operator = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        chunk = np.abs(data[a:max(b, a + 1)].astype(np.int32))
        caller.append(round(float(chunk[:, 0].max()) / 32768, 3))
        operator.append(round(float(chunk[:, -1].max()) / 32768, 3))
    return caller, operator
