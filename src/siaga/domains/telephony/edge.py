"""The SIP edge: Kamailio's configuration rendered from the settings, and the process started, stopped and
checked by `siaga telephony`. Kamailio keeps no policy: it asks the service (see bridge.py)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from siaga.domains.telephony import daemon
from siaga.settings import VAR_DIR, Settings

TEMPLATE = "kamailio.cfg.j2"
GROUP_AOR = "operators"  # every operator phone also registers here: the degraded mode rings them all
MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules",
               "/usr/lib/kamailio/modules", "/usr/local/lib64/kamailio/modules")
INSTALL_HINT = ("Kamailio is not installed: as root, `apt-get install kamailio kamailio-extra-modules "
                "kamailio-json-modules` (Debian 12), or run `make test`, which installs it")


class EdgeError(Exception):
    pass


@dataclass(frozen=True)
class EdgePaths:
    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "kamailio.cfg"

    @property
    def pidfile(self) -> Path:
        return self.directory / "kamailio.pid"

    @property
    def runtime(self) -> Path:
        return self.directory / "run"

    @property
    def log(self) -> Path:
        return self.directory / "kamailio.log"


def default_paths() -> EdgePaths:
    return EdgePaths(VAR_DIR.resolve() / "telephony")


def kamailio_binary() -> str:
    found = shutil.which("kamailio") or ("/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None)
    if not found:
        raise EdgeError(INSTALL_HINT)
    return found


def module_path() -> str:
    for d in MODULE_DIRS:
        if (Path(d) / "evapi.so").exists():
            return d
    for d in MODULE_DIRS:
        if Path(d).exists():
            raise EdgeError(f"Kamailio's evapi module is missing from {d}: apt-get install kamailio-extra-modules "
                            "kamailio-json-modules")
    raise EdgeError(INSTALL_HINT)


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def emergency_condition(numbers: str) -> str:
    """The request-URI test for an emergency call: one of the configured numbers, or urn:service:sos…"""
    tests = [f'$rU == "{n}"' for n in _csv(numbers)]
    tests += ['$ru =~ "^urn:service:sos"', '$rU == "sos"']
    return " || ".join(tests)


# The largest SIP message the edge takes (Kamailio's `maxbuffer`; a UDP datagram cannot be larger, and
# Kamailio reads no larger TCP message). The INVITE's body travels to the service base64-encoded through
# Kamailio's pv buffers, so those must hold 4/3 of it and the other fields: with the default 8 KB a
# multipart NG112 body over ~6 KB lost its PIDF-LO on the way (issue #16).
MAX_SIP_MESSAGE = 65536
PV_BUFFER_SIZE = 1 << (4 * MAX_SIP_MESSAGE // 3 + 8192).bit_length()  # 131072


# How rtpengine rewrites each SDP: its own address for the media (both legs then send RTP to it), no ICE
# (trunks and desk phones speak plain RTP).
MEDIA_FLAGS = "replace-origin replace-session-connection ICE=remove"
# Towards a browser line: WebRTC's transport (ICE, DTLS-SRTP with rtpengine as the passive side, RTCP multiplexed
# on the RTP port, no SDES keys in the SDP); the browser's answer goes back to the trunk with MEDIA_FLAGS, as
# plain RTP/AVP.
MEDIA_FLAGS_BROWSER = ("replace-origin replace-session-connection ICE=force DTLS=passive UDP/TLS/RTP/SAVPF SDES-off "
                       "rtcp-mux-offer generate-mid")


def trunk_gateway(settings: Settings) -> str:
    """host[:port] of SIAGA_TELEPHONY_TRUNK_GATEWAY (validated: sip:host[:port]), where calls to agencies go."""
    return settings.telephony_trunk_gateway.removeprefix("sip:")


def render_config(settings: Settings, paths: EdgePaths, *, log_stderr: bool = False, children: int = 4,
                  mpath: str | None = None) -> str:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    return env.get_template(TEMPLATE).render(
        rendered_at=datetime.now(UTC).isoformat(timespec="seconds"),
        domain=settings.telephony_domain, listen=_csv(settings.telephony_listen),
        trunk_networks=",".join(_csv(settings.telephony_trunks)),
        phone_networks=",".join(_csv(settings.telephony_phone_networks)),
        emergency_condition=emergency_condition(settings.telephony_numbers),
        evapi_addr=settings.telephony_evapi, ring_timeout_ms=settings.telephony_ring_timeout_s * 1000,
        max_queue_ms=settings.telephony_max_queue_s * 1000, max_queue_s=settings.telephony_max_queue_s,
        group_aor=GROUP_AOR, runtime_dir=paths.runtime, module_path=mpath or module_path(),
        debug_level=1, log_stderr=log_stderr, children=children, max_sip_message=MAX_SIP_MESSAGE,
        pv_buffer_size=PV_BUFFER_SIZE, media=settings.telephony_media, rtpengine_ng=settings.telephony_rtpengine_ng,
        media_flags=MEDIA_FLAGS, trunk_gateway=trunk_gateway(settings), **browser_lines(settings, paths))


def browser_lines(settings: Settings, paths: EdgePaths) -> dict[str, object]:
    """The template's values for browser lines (SIP over WebSocket): off unless a ws or wss listener is set."""
    cert, key = tls_pair(settings, paths)
    return {"ws": bool(settings.telephony_ws_listen or settings.telephony_wss_listen),
            "ws_listen": settings.telephony_ws_listen, "wss_listen": settings.telephony_wss_listen,
            "tls_cert": str(cert), "tls_key": str(key), "media_flags_browser": MEDIA_FLAGS_BROWSER}


def tls_pair(settings: Settings, paths: EdgePaths) -> tuple[Path, Path]:
    """The certificate and key for wss: the configured ones, else a self-signed pair in the edge's folder."""
    if settings.telephony_tls_cert:
        return Path(settings.telephony_tls_cert), Path(settings.telephony_tls_key)
    return paths.directory / "tls-selfsigned.crt", paths.directory / "tls-selfsigned.key"


def ensure_tls(settings: Settings, paths: EdgePaths) -> None:
    """For wss without a configured certificate: make a self-signed one (10 years, for the edge's domain and
    its wss address) once; a browser must be told to trust it (docs/telephony.md, "The browser line")."""
    if not settings.telephony_wss_listen or settings.telephony_tls_cert:
        return
    cert, key = tls_pair(settings, paths)
    if cert.exists() and key.exists():
        return
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    host = settings.telephony_wss_listen.rpartition(":")[0]
    private = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys(
        [settings.telephony_domain, settings.telephony_wss_host]) if n]
    if host != "0.0.0.0":  # noqa: S104 - a listener address
        names.append(x509.IPAddress(ipaddress.IPv4Address(host)))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, settings.telephony_domain)])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now.replace(year=now.year + 10))
                   .add_extension(x509.SubjectAlternativeName(names), critical=False)
                   .sign(private, hashes.SHA256()))
    paths.directory.mkdir(parents=True, exist_ok=True)
    key.touch(mode=0o600)
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def write_config(settings: Settings, paths: EdgePaths, **kw: object) -> Path:
    paths.directory.mkdir(parents=True, exist_ok=True)
    paths.runtime.mkdir(parents=True, exist_ok=True)
    ensure_tls(settings, paths)
    if settings.telephony_ws_listen or settings.telephony_wss_listen:
        needed = ["websocket.so", "nathelper.so", "xhttp.so"] + (["tls.so"] if settings.telephony_wss_listen else [])
        missing = [m for m in needed if not (Path(str(kw.get("mpath") or module_path())) / m).exists()]
        if missing:
            raise EdgeError(f"browser lines need Kamailio's {', '.join(missing)}: as root, `apt-get install "
                            "kamailio-websocket-modules kamailio-tls-modules` (Debian 12)")
    text = render_config(settings, paths, **kw)  # type: ignore[arg-type]
    tmp = paths.config.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    check = subprocess.run([kamailio_binary(), "-c", "-f", str(tmp)], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise EdgeError("Kamailio refused the rendered configuration:\n" + (check.stderr or check.stdout)[-3000:])
    tmp.replace(paths.config)
    return paths.config


def running_pid(paths: EdgePaths) -> int | None:
    return daemon.running_pid(paths.pidfile)


def start(settings: Settings, paths: EdgePaths, *, shm_mb: int = 64, pkg_mb: int = 8) -> int:
    """Render, check and start Kamailio as a daemon; returns its pid. Already running: its pid."""
    pid = running_pid(paths)
    if pid:
        return pid
    write_config(settings, paths)
    paths.pidfile.unlink(missing_ok=True)
    return daemon.start([kamailio_binary(), "-f", str(paths.config), "-P", str(paths.pidfile),
                         "-Y", str(paths.runtime), "-m", str(shm_mb), "-M", str(pkg_mb)],
                        paths.pidfile, paths.log, "Kamailio", EdgeError)


def stop(paths: EdgePaths, timeout_s: float = 10.0) -> bool:
    return daemon.stop(paths.pidfile, timeout_s)
