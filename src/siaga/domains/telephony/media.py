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
from dataclasses import dataclass
from pathlib import Path

from siaga.domains.telephony import daemon
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
    return daemon.running_pid(paths.pidfile)


def start(settings: Settings, paths: MediaPaths) -> int:
    """Start rtpengine as a daemon; returns its pid. Already running: its pid."""
    pid = running_pid(paths)
    if pid:
        return pid
    prepare(settings, paths)
    paths.pidfile.unlink(missing_ok=True)
    return daemon.start(command(settings, paths), paths.pidfile, paths.log, "rtpengine", MediaError)


def stop(paths: MediaPaths, timeout_s: float = 10.0) -> bool:
    return daemon.stop(paths.pidfile, timeout_s)


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
