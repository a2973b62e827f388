"""The media plane: rtpengine (userspace only, no kernel module) anchoring every call's RTP for the edge,
started, stopped and checked with Kamailio by `siaga telephony`. Kamailio drives it over its ng socket
(the `rtpengine` module); it needs nothing from the service, so with Siaga down the audio still flows and
is still recorded.

Recording: rtpengine's own `pcap` method — each answered call's packets (both directions) into
`<SIAGA_RECORDING_DIR>/spool/pcaps/`, and, once the call is over, a metadata file into `spool/metadata/`
(the sign that the recording is finished). The recording daemon (rtpengine-recording) is not used: it
reads the packets from the kernel module's /proc interface (`recording-method=proc`), which a userspace-only
rtpengine does not have. domains/recordings turns each finished pcap into a WAV and links it to its call."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from siaga.settings import Settings

INSTALL_HINT = ("rtpengine is not installed: as root, `apt-get install rtpengine-daemon` (Debian 12), or run "
                "`make test`, which installs it")


class MediaError(Exception):
    pass


@dataclass(frozen=True)
class MediaPaths:
    directory: Path  # the edge's folder (var/telephony)

    @property
    def pidfile(self) -> Path:
        return self.directory / "rtpengine.pid"

    @property
    def log(self) -> Path:
        return self.directory / "rtpengine.log"


def spool_dir(settings: Settings) -> Path:
    return Path(settings.recording_dir).resolve() / "spool"


def rtpengine_binary() -> str:
    found = shutil.which("rtpengine") or next((p for p in ("/usr/bin/rtpengine", "/usr/sbin/rtpengine")
                                               if Path(p).exists()), None)
    if not found:
        raise MediaError(INSTALL_HINT)
    return found


def command(settings: Settings, paths: MediaPaths, *, foreground: bool = False) -> list[str]:
    """rtpengine's command line: everything from the (validated) settings, nothing from /etc/rtpengine."""
    low, high = settings.rtp_port_range()
    spool = spool_dir(settings)
    cmd = [rtpengine_binary(), "--config-file=none", "--table=-1", f"--interface={settings.telephony_media_interface}",
           f"--listen-ng={settings.telephony_rtpengine_ng}", f"--port-min={low}", f"--port-max={high}",
           f"--recording-dir={spool}", "--recording-method=pcap", "--recording-format=raw",
           # Each key a caller presses (RFC 4733 event), as a JSON line to the bridge (bridge.DtmfListener).
           f"--dtmf-log-dest={settings.telephony_dtmf_log}",
           # A call's state (and its recording) is closed as soon as it is deleted: the metadata file that says
           # "finished" appears at once, not 30 s later.
           "--delete-delay=0", "--timeout=60", "--silent-timeout=3600", "--log-stderr", "--log-level=5",
           f"--pidfile={paths.pidfile}", "--num-threads=2"]
    if foreground:
        cmd.append("--foreground")
    return cmd


def prepare(settings: Settings, paths: MediaPaths) -> None:
    paths.directory.mkdir(parents=True, exist_ok=True)
    spool = spool_dir(settings)
    for sub in ("", "pcaps", "metadata"):
        (spool / sub).mkdir(parents=True, exist_ok=True)


def running_pid(paths: MediaPaths) -> int | None:
    try:
        pid = int(paths.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def start(settings: Settings, paths: MediaPaths) -> int:
    """Start rtpengine as a daemon; returns its pid. Already running: its pid."""
    pid = running_pid(paths)
    if pid:
        return pid
    prepare(settings, paths)
    paths.pidfile.unlink(missing_ok=True)
    with paths.log.open("ab") as log:
        proc = subprocess.run(command(settings, paths), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                              timeout=30)
    if proc.returncode != 0:
        raise MediaError(f"rtpengine did not start (exit {proc.returncode}); see {paths.log}")
    for _ in range(50):
        pid = running_pid(paths)
        if pid:
            return pid
        time.sleep(0.1)
    raise MediaError(f"rtpengine started but wrote no pid file; see {paths.log}")


def stop(paths: MediaPaths, timeout_s: float = 10.0) -> bool:
    pid = running_pid(paths)
    if not pid:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if running_pid(paths) is None:
            paths.pidfile.unlink(missing_ok=True)
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    paths.pidfile.unlink(missing_ok=True)
    return True


def ping(settings: Settings, timeout: float = 1.0) -> bool:
    """Does rtpengine answer on its ng socket (bencoded `ping` → `pong`)?"""
    import socket

    host, port = settings.telephony_rtpengine_ng.rsplit(":", 1)
    cookie = os.urandom(4).hex()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(f"{cookie} d7:command4:pinge".encode(), (host, int(port)))
            data = s.recv(4096)
        except OSError:
            return False
    return data.startswith(cookie.encode()) and b"pong" in data
