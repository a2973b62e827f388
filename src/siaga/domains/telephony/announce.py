"""The announcement a waiting caller hears: "Anda terhubung dengan layanan darurat 112 …", repeated until a
phone answers, as early media (183 Session Progress) played by rtpengine.

Who does what:
- the bridge decides that a call must wait (the queue's plan rang no phone for it) and prepares its early
  media in rtpengine over the ng control socket (`prepare`): an `offer` of the caller's SDP, then an
  `answer` from a silent stand-in (rtpengine's own address, discard port 9) under a to-tag of our own, which
  gives the SDP the caller must send to and hears from. (Kamailio 5.6's rtpengine module could do this
  only through its global read_sdp_pv/write_sdp_pv, which would divert every other offer and answer of the
  edge into a variable too.)
- the edge answers the caller 183 with that SDP and has rtpengine play the prompt (`play_media`,
  repeat-times), and stops it when a phone's 200 OK comes (`stop_media`) — from a branch with another
  to-tag, which rtpengine anchors and records as any answer.
- the media stays in the media plane: once started, the prompt plays on with Siaga gone.

A missing or unreadable prompt, or an rtpengine that does not answer, never holds up a call: it keeps
waiting with its ringing tone, as before, and the failure is logged and kept for `siaga telephony status`.

The default prompt is spoken by espeak-ng (voice `id`, GPL-3.0-or-later; the audio it produces is not
covered by its licence) into an 8 kHz mono WAV, with the pause before each repetition at its end.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siaga.domains.location.sip import parse_content_type, split_multipart
from siaga.settings import Settings

PROMPT_FILE = "antrian.wav"  # the waiting prompt
RATE = 8000
PAUSE_S = 4.0  # silence after the words, before the prompt plays again
STAND_IN_TAG = "siaga-announce"  # the to-tag of the silent stand-in that answers the caller's offer
NG_TIMEOUT_S = 0.5
ESPEAK_HINT = "espeak-ng is not installed: as root, `apt-get install espeak-ng` (make test installs it)"
# How the digits and keys are spoken (the emergency number digit by digit, as callers say it).
SPOKEN_KEYS = {"*": "bintang", "#": "pagar", **{str(i): w for i, w in enumerate(
    ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"))}}


class AnnounceError(Exception):
    pass


# --- the prompt ---------------------------------------------------------------------------------------------

def prompt_path(settings: Settings) -> Path:
    return Path(settings.telephony_prompts_dir).resolve() / PROMPT_FILE


def prompt_text(regency: str, key: str) -> str:
    """What the default prompt says, with the site's regency and the silent-caller key."""
    served = f" {regency.strip()}" if regency.strip() else ""
    return (f"Anda terhubung dengan layanan darurat satu satu dua{served}. Mohon tetap di saluran, petugas kami "
            f"akan segera menjawab. Jika Anda tidak dapat berbicara, tekan {SPOKEN_KEYS.get(key, key)}.")


@dataclass(frozen=True)
class PromptState:
    ok: bool
    path: Path
    seconds: float = 0.0
    problem: str = ""


def check_prompt(settings: Settings) -> PromptState:
    """Is the waiting prompt there and playable (a PCM WAV with sound in it)? Its length, or what is wrong."""
    path = prompt_path(settings)
    try:
        with wave.open(str(path), "rb") as w:
            frames, rate = w.getnframes(), w.getframerate()
            if w.getcomptype() != "NONE" or rate <= 0:
                raise wave.Error("not PCM")
    except FileNotFoundError:
        return PromptState(False, path, problem=f"prompt file missing: {path} (`siaga telephony prompts` makes it)")
    except (OSError, wave.Error, EOFError) as exc:
        return PromptState(False, path, problem=f"prompt file unreadable ({exc}): {path}")
    seconds = frames / rate
    if seconds < 0.5:
        return PromptState(False, path, seconds, f"prompt file too short ({seconds:.1f} s): {path}")
    return PromptState(True, path, seconds)


def repeat_times(settings: Settings, seconds: float) -> int:
    """Enough repetitions to cover the longest wait the edge allows."""
    return max(1, min(9999, int(settings.telephony_max_queue_s / max(seconds, 0.5)) + 1))


def render_prompt(text: str, target: Path, *, pause_s: float = PAUSE_S, voice: str = "id") -> float:
    """Speak `text` with espeak-ng into `target`: 8 kHz mono 16-bit WAV, `pause_s` of silence at its end.
    Returns the file's length in seconds. Written beside and renamed, so a playing prompt is never half
    a file."""
    import numpy as np
    from scipy.signal import resample_poly

    binary = shutil.which("espeak-ng")
    if not binary:
        raise AnnounceError(ESPEAK_HINT)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        done = subprocess.run([binary, "-v", voice, "-s", "150", "-w", str(raw), "--", text],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not raw.is_file():
            raise AnnounceError(f"espeak-ng failed: {(done.stderr or done.stdout).strip()[:300]}")
        with wave.open(str(raw), "rb") as w:
            rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
            data = w.readframes(w.getnframes())
    if width != 2:
        raise AnnounceError(f"espeak-ng wrote {8 * width}-bit audio; 16-bit expected")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float64)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != RATE:
        g = np.gcd(rate, RATE)
        samples = resample_poly(samples, RATE // g, rate // g)
    pcm = np.clip(np.round(samples), -32768, 32767).astype("<i2")
    pcm = np.concatenate([pcm, np.zeros(int(pause_s * RATE), dtype="<i2")])
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    partial.replace(target)
    return len(pcm) / RATE


NOTICE = """Siaga 112 prompts
=================

{file}: the waiting prompt, played (repeated) to a caller while no operator can take the call.
Its words: {text}

Generated {when} by `siaga telephony prompts` with eSpeak NG (voice "id", Indonesian), resampled to
8 kHz mono. eSpeak NG is free software under the GNU General Public License, version 3 or later; the audio
it produces is not covered by that licence (it is the output of the program, not a copy of it).

To use your own recording: replace {file} with an 8 kHz (or any rate) mono 16-bit PCM WAV that ends with
the pause you want before it plays again (the default has {pause:.0f} s of silence), then nothing else:
the next waiting caller hears it. `siaga telephony prompts --force` writes the default again.
"""


def write_defaults(settings: Settings, regency: str, *, force: bool = False) -> tuple[Path, bool]:
    """Generate the default prompt (and a note of what it says and its licence) unless it is there already.
    Returns its path and whether it was written."""
    path = prompt_path(settings)
    if path.exists() and not force:
        return path, False
    from datetime import UTC, datetime

    text = prompt_text(regency, settings.silent_caller_key)
    render_prompt(text, path)
    (path.parent / "README.txt").write_text(NOTICE.format(file=PROMPT_FILE, text=text, pause=PAUSE_S,
                                                          when=datetime.now(UTC).isoformat(timespec="seconds")),
                                            encoding="utf-8")
    return path, True


# --- the caller's SDP ---------------------------------------------------------------------------------------

def caller_sdp(content_type: str, body: bytes) -> bytes:
    """The SDP of an INVITE's body: the body itself, or its application/sdp part (an NG112 INVITE carries
    a PIDF-LO beside it). b'' when there is none."""
    media, params = parse_content_type(content_type)
    if media == "application/sdp":
        return body
    if media.startswith("multipart/"):
        try:
            parts = split_multipart(body, params.get("boundary", ""))
        except ValueError:
            return b""
        return next((p.body for p in parts if p.content_type == "application/sdp"), b"")
    return b""


def stand_in_sdp(offered: str) -> str:
    """The silent stand-in's answer to rtpengine's offer: the same codecs (telephone-event too, so the
    caller's key presses are still seen), media to rtpengine's own address on the discard port, no ICE and
    no RTCP attributes."""
    lines = []
    for line in offered.replace("\r\n", "\n").split("\n"):
        if not line:
            continue
        if line.startswith("m="):
            line = re.sub(r"^(m=\S+) \d+", r"\1 9", line)
        if line.startswith(("a=rtcp:", "a=ice-", "a=candidate", "a=end-of-candidates")):
            continue
        if line in ("a=sendonly", "a=recvonly", "a=inactive", "a=sendrecv"):
            continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


# --- rtpengine's control protocol (ng: bencoded dictionaries over UDP, each behind a cookie) ----------------

def bencode(obj: Any) -> bytes:
    if isinstance(obj, bool):
        return bencode(int(obj))
    if isinstance(obj, int):
        return b"i%de" % obj
    if isinstance(obj, str):
        obj = obj.encode()
    if isinstance(obj, bytes):
        return b"%d:%s" % (len(obj), obj)
    if isinstance(obj, list):
        return b"l" + b"".join(bencode(x) for x in obj) + b"e"
    if isinstance(obj, dict):
        return b"d" + b"".join(bencode(str(k)) + bencode(v) for k, v in sorted(obj.items())) + b"e"
    raise TypeError(f"cannot bencode {type(obj).__name__}")


def bdecode(data: bytes) -> Any:
    def item(i: int, depth: int) -> tuple[Any, int]:
        if depth > 20:
            raise ValueError("too deep")
        c = data[i:i + 1]
        if c == b"i":
            end = data.index(b"e", i)
            return int(data[i + 1:end]), end + 1
        if c in (b"l", b"d"):
            i += 1
            items: list[Any] = []
            while data[i:i + 1] != b"e":
                if i >= len(data):
                    raise ValueError("unterminated")
                value, i = item(i, depth + 1)
                items.append(value)
            if c == b"l":
                return items, i + 1
            keys = [k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k) for k in items[0::2]]
            return dict(zip(keys, items[1::2], strict=False)), i + 1
        colon = data.index(b":", i)
        size = int(data[i:colon])
        if size < 0 or colon + 1 + size > len(data):
            raise ValueError("string beyond the end")
        return data[colon + 1:colon + 1 + size], colon + 1 + size
    try:
        value, _ = item(0, 0)
    except (ValueError, IndexError) as exc:
        raise AnnounceError(f"unreadable answer from rtpengine: {exc}") from None
    return value


class _Reply(asyncio.DatagramProtocol):
    def __init__(self, cookie: bytes) -> None:
        self.cookie = cookie
        self.done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if data.startswith(self.cookie + b" ") and not self.done.done():
            self.done.set_result(data[len(self.cookie) + 1:])

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


async def ng(settings: Settings, command: dict[str, Any], timeout: float = NG_TIMEOUT_S) -> dict[str, Any]:
    """One ng command to rtpengine; its answer (a dict) when the result is ok, else AnnounceError."""
    host, _, port = settings.telephony_rtpengine_ng.rpartition(":")
    cookie = os.urandom(6).hex().encode()
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(lambda: _Reply(cookie), remote_addr=(host, int(port)))
    try:
        transport.sendto(cookie + b" " + bencode(command))
        try:
            data = await asyncio.wait_for(proto.done, timeout)
        except (TimeoutError, OSError) as exc:
            raise AnnounceError(f"rtpengine did not answer {command.get('command')!r} on "
                                f"{settings.telephony_rtpengine_ng} ({type(exc).__name__})") from None
    finally:
        transport.close()
    reply = bdecode(data)
    if not isinstance(reply, dict) or reply.get("result") != b"ok":
        reason = reply.get("error-reason", b"") if isinstance(reply, dict) else b""
        raise AnnounceError(f"rtpengine refused {command.get('command')!r}: "
                            f"{bytes(reason or b'no reason').decode('utf-8', 'replace')[:200]}")
    return reply


# The same rewriting as the edge's own offers and answers (edge.MEDIA_FLAGS).
NG_FLAGS: dict[str, Any] = {"replace": ["origin", "session-connection"], "ICE": "remove"}


async def prepare(settings: Settings, call_id: str, from_tag: str, sdp: bytes) -> str:
    """The caller's early media in rtpengine; returns the SDP for the 183 (where the caller hears the
    prompt from). The edge's own offer when a phone rings is then a re-offer of the same call."""
    if not sdp:
        raise AnnounceError("the INVITE carries no SDP")
    offer = await ng(settings, {"command": "offer", "call-id": call_id, "from-tag": from_tag,
                                "sdp": sdp, **NG_FLAGS})
    offered = bytes(offer.get("sdp") or b"").decode("utf-8", "replace")
    if "m=" not in offered:
        raise AnnounceError("rtpengine's offer has no media line")
    answer = await ng(settings, {"command": "answer", "call-id": call_id, "from-tag": from_tag,
                                 "to-tag": STAND_IN_TAG, "sdp": stand_in_sdp(offered), **NG_FLAGS})
    answered = bytes(answer.get("sdp") or b"").decode("utf-8", "replace")
    if "m=" not in answered:
        raise AnnounceError("rtpengine's answer has no media line")
    return answered
