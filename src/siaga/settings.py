"""Configuration from the environment (SIAGA_*), read once per process."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")
SHIPPED_SITE = Path(__file__).parent / "data" / "bengkalis"  # the site `make run` serves by default
# What goes into Kamailio's configuration is checked here, so a setting can never inject config text.
_NETWORKS = r"^[0-9A-Fa-f.:]+(/[0-9]{1,3})?(,[0-9A-Fa-f.:]+(/[0-9]{1,3})?)*$"
# The people's roles (core.authz.HUMAN_ROLES, which a test holds equal): settings sit below core and cannot import it.
HUMAN_ROLES = ("call_taker", "dispatcher", "supervisor", "agency_operator", "admin")
_LISTEN = r"^(udp|tcp|tls|ws|wss):[0-9A-Za-z.\-\[\]:]+(,(udp|tcp|tls|ws|wss):[0-9A-Za-z.\-\[\]:]+)*$"


def multihost_url(url: str) -> str:
    """A PostgreSQL URL in libpq's multi-host form (`postgresql://u:p@h1:5432,h2:5432/db?…`, what a DBA and
    libpq's documentation write) rewritten into the form SQLAlchemy parses (`postgresql://u:p@/db?host=h1:5432&
    host=h2:5432&…`); the psycopg dialect turns that back into libpq's host/port lists. Anything else is
    returned unchanged."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgres"):
        return url
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, at, hostlist = netloc.rpartition("@")
    if "," not in hostlist:
        return url
    path, _, query = tail.partition("?")
    hosts = "&".join(f"host={h.strip()}" for h in hostlist.split(",") if h.strip())
    return f"{scheme}://{userinfo}{at}{path or '/'}?{hosts}" + (f"&{query}" if query else "")


def known_zone(name: str) -> str:
    """The IANA zone `name`, unchanged, when this system knows it; ValueError with a readable message else.
    A typo in the zone would shift every day boundary and shown time (core.clock.SiteZone builds on it)."""
    try:
        if not name or name != name.strip() or name not in available_timezones():
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {name!r} is not a time zone this system knows: give an IANA name such as "
                         "Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)") from None
    return name

class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIAGA_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'siaga.db'}",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    secret_key: str = Field(default="", description="Keys browser sessions; generated into var/secret_key when "
                            "empty. Set it (the same) on every host when several hosts share a database.")
    site_dir: Path | None = Field(default=None, description="the site's data folder (made by `siaga site init`); "
                                  "its site.json gives region_code, incident_prefix and timezone unless they "
                                  "are set too. Empty: Kabupaten Bengkalis, as shipped")
    region_code: str = "14.03"
    incident_prefix: str = "BKS"
    timezone: str = Field(default="Asia/Jakarta", description="IANA time zone of the site: days, hours, shifts, "
                          "incident-number years and response-plan hours are reckoned in it and times are shown in it "
                          "(Asia/Jakarta = WIB, Asia/Makassar = WITA, Asia/Jayapura = WIT)")
    default_language: str = "id"
    host: str = "127.0.0.1"
    port: int = 8112
    http_max_header_bytes: int = Field(default=64 * 1024, ge=8 * 1024, description="largest request head "
                                       "(request line and headers) `siaga serve` takes; larger is refused 431")
    http_max_headers: int = Field(default=100, ge=20, description="most header lines in a request (more: 431)")
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, description="time a client has to send a "
                                               "request's head once it connects or starts it (else 408, closed)")
    http_body_timeout_seconds: float = Field(default=60.0, gt=0, description="time a client has to send a "
                                             "request's body after its head (else the connection is closed)")
    session_hours: int = 12
    cookie_secure: bool = False
    login_max_failures: int = Field(default=5, ge=1, description="failed sign-ins for one username from one address "
                                    "before that pair is refused for the window; one username from every address "
                                    "together, and unknown usernames from one address, get four times as many")
    login_window_seconds: int = Field(default=900, ge=1, description="how long a failed sign-in counts")
    totp_required_roles: str = Field(default="admin,supervisor", description="comma-separated roles that must sign "
                                     "in with an authenticator app (TOTP) as well as a password: until they enrol, "
                                     "their session can only enrol. Empty: two-factor sign-in is optional for all. "
                                     "API tokens (machine clients) are not affected")
    trusted_proxies: str = Field(default="", description="comma-separated addresses or networks (CIDR) of reverse "
                                 "proxies in front of Siaga; only a request arriving from one of them has its client "
                                 "address taken from X-Forwarded-For. Empty: the connection's own address is used")
    event_poll_seconds: float = 1.0
    event_backlog_limit: int = 5000
    sse_keepalive_seconds: float = 15.0
    deadline_tick_seconds: float = Field(default=1.0, ge=0, description="how often each app process fires due "
                                         "deadlines; 0 turns the ticker off (tests that drive it by hand)")
    map_tile_url: str = Field(default="", description="Optional tile server for the consoles' map, e.g. "
                              "http://tiles.local/{z}/{x}/{y}.png; without it the map shows the basemap that ships "
                              "with Siaga (works offline)")
    map_tile_attribution: str = Field(default="", max_length=300)
    data_dir: Path = Field(default=VAR_DIR / "data", description="where Siaga keeps the files it builds: the "
                           "street basemap archive of `siaga map import` (basemap.pmtiles). Every host that serves "
                           "consoles needs its own copy, or a shared folder")
    aml_hmac_key: str = Field(default="", description="Shared key for AML (ETSI TS 103 625) HTTPS posts: when set, "
                              "a post must carry a valid HMAC; when empty, posts are accepted unsigned")
    telephony_bridge: bool = Field(default=False, description="this `siaga serve` process runs the bridge to the "
                                   "SIP edge (exactly one process per edge should)")
    telephony_evapi: str = Field(default="127.0.0.1:8448", pattern=r"^[0-9A-Za-z.-]{1,100}:[0-9]{1,5}$",
                                 description="host:port of the edge's evapi socket")
    telephony_domain: str = Field(default="siaga112.local", pattern=r"^[A-Za-z0-9.-]{1,100}$",
                                  description="SIP domain (and digest realm) the operators' phones register to")
    telephony_listen: str = Field(default="udp:127.0.0.1:5060", pattern=_LISTEN,
                                  description="comma-separated Kamailio listen sockets, e.g. "
                                  "udp:10.1.2.3:5060,tcp:10.1.2.3:5060")
    telephony_trunks: str = Field(default="127.0.0.1/32", pattern=_NETWORKS,
                                  description="comma-separated addresses/networks the telco trunk sends from; "
                                  "INVITEs from elsewhere get 403")
    telephony_phone_networks: str = Field(default="127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
                                          pattern=_NETWORKS,
                                          description="networks operators' phones may register from")
    telephony_numbers: str = Field(default="112", pattern=r"^[0-9]{2,6}(,[0-9]{2,6})*$",
                                   description="dialled numbers accepted as emergency calls (urn:service:sos "
                                   "always is)")
    telephony_ring_timeout_s: int = Field(default=15, ge=5, le=120, description="how long an operator's phone "
                                          "rings before the call goes to the next operator")
    telephony_max_queue_s: int = Field(default=900, ge=60, le=3600, description="how long the edge keeps a "
                                       "waiting call before giving up on it")
    telephony_fallback_uri: str = Field(default="", max_length=200, pattern=r"^(sips?:[^\s\"'\\]+)?$",
                                        description="where a call goes when no operator is on duty (e.g. "
                                        "sip:110@polres.example); empty: the caller "
                                        "hears 480 and the number goes on the callback list")
    telephony_media: bool = Field(default=True, description="anchor every call's media in rtpengine (started and "
                                  "stopped with the edge by `siaga telephony start|stop`); false: phones and trunk "
                                  "exchange RTP directly and nothing is recorded")
    telephony_rtpengine_ng: str = Field(default="127.0.0.1:2223", pattern=r"^[0-9.]{7,15}:[0-9]{1,5}$",
                                        description="ip:port of rtpengine's control (ng) socket, UDP, local only")
    telephony_dtmf_log: str = Field(default="127.0.0.1:2224", pattern=r"^[0-9.]{7,15}:[0-9]{1,5}$",
                                    description="ip:port (UDP, local) where rtpengine reports each key a caller "
                                    "presses (RFC 4733) and the telephony bridge listens")
    silent_caller_key: str = Field(default="5", pattern=r"^[0-9*#]$",
                                   description="the key a caller who cannot speak is asked to press; a call where "
                                   "it was pressed cannot be recorded as ghost")
    telephony_media_interface: str = Field(default="127.0.0.1", max_length=100,
                                           description="the address rtpengine relays RTP on (IPv4), optionally "
                                           "with the address announced in SDP: 10.1.2.3 or 10.1.2.3!203.0.113.5")
    telephony_rtp_ports: str = Field(default="30000-40000", pattern=r"^[0-9]{4,5}-[0-9]{4,5}$",
                                     description="the UDP port range rtpengine relays RTP on, e.g. 30000-40000")
    # The announcement a waiting caller hears (domains/telephony/announce.py).
    telephony_announce: bool = Field(default=True, description="a caller who must wait (no operator free at once, "
                                     "or after a ring went unanswered) hears the waiting prompt, repeated, until a "
                                     "phone answers (early media from rtpengine; needs SIAGA_TELEPHONY_MEDIA)")
    telephony_prompts_dir: Path = Field(default=VAR_DIR / "prompts", description="the folder of the prompt files "
                                        "(antrian.wav: the waiting prompt); `siaga telephony prompts` generates the "
                                        "defaults there with espeak-ng")
    telephony_announce_delay_s: float = Field(default=0.0, ge=0, le=60, description="how long a call that cannot "
                                              "ring at once waits (with its ringing tone) before the prompt starts, "
                                              "seconds")
    # --- the browser line (SIP over WebSocket, WebRTC audio through rtpengine) ---
    telephony_ws_listen: str = Field(default="", pattern=r"^([0-9.]{7,15}:[0-9]{1,5})?$",
                                     description="ip:port where the edge takes SIP over plain WebSocket (ws://) "
                                     "from browser lines; for a test or a console on the same host only, empty: off")
    telephony_wss_listen: str = Field(default="", pattern=r"^([0-9.]{7,15}:[0-9]{1,5})?$",
                                      description="ip:port where the edge takes SIP over secure WebSocket (wss://) "
                                      "from browser lines (the consoles' usual way), empty: off")
    telephony_wss_host: str = Field(default="", pattern=r"^([A-Za-z0-9.-]{1,100})?$",
                                    description="the host name the consoles use for wss (the name in the edge's "
                                    "certificate, e.g. edge.siaga112.example); empty: the wss address")
    telephony_tls_cert: str = Field(default="", max_length=300, pattern=r"^(/[A-Za-z0-9_.@+-]+)*$",
                                    description="the edge's TLS certificate (PEM, absolute path) for wss; empty: "
                                    "`siaga telephony start` makes a self-signed one in var/telephony")
    telephony_tls_key: str = Field(default="", max_length=300, pattern=r"^(/[A-Za-z0-9_.@+-]+)*$",
                                   description="the private key (PEM, absolute path) of SIAGA_TELEPHONY_TLS_CERT")
    recording_dir: Path = Field(default=VAR_DIR / "recordings", description="where calls are recorded: rtpengine "
                                "writes into its spool/ subfolder, the ticker turns each finished call into a WAV "
                                "file here and links it to its call")
    pickup_default_seconds: float = Field(default=5.0, ge=0, le=120, description="the pickup delay (ringing at an "
                                          "operator's phone → answered) `siaga staffing` assumes while the "
                                          "history has no measured one, seconds")
    recording_retention_days: int = Field(default=365, ge=7, le=36500, description="how long call recordings are "
                                          "kept before the ticker deletes them (a recording on legal hold is kept)")
    nuisance_retention_days: int = Field(default=365, ge=30, description="How long the numbers and notes of prank and "
                                         "ghost calls with no incident are kept before they are anonymised")
    qa_sample_percent: float = Field(default=5.0, ge=0, le=100, description="the share of answered calls drawn "
                                     "at random for quality review, percent (prank, ghost and long answers always "
                                     "are); the draw is fixed per call id")
    qa_long_answer_seconds: float = Field(default=20.0, ge=0, le=3600, description="a call answered after more than "
                                          "this many seconds is always in the quality-review sample")
    qa_queue_days: int = Field(default=30, ge=1, le=366, description="how far back the quality-review queue looks "
                               "for sampled calls not yet reviewed")
    audit_key_file: str = Field(default="", description="file holding the audit anchoring key (HMAC-SHA256, made by "
                                "`siaga audit keygen`); the database never holds it. Empty: the ledger is not anchored")
    audit_witness: str = Field(default="", description="append-only file outside the database where signed checkpoints "
                               "of the audit chain head are written, one JSON line each")
    backup_dir: str = Field(default="", max_length=500, description="SQLite: the folder where the ticker keeps "
                            "consistent copies of the database (`siaga backup`); empty: no scheduled backups")
    backup_interval_hours: float = Field(default=24.0, ge=0, le=24 * 7, description="how often the ticker takes a "
                                         "backup into SIAGA_BACKUP_DIR (0: only `siaga backup` by hand)")
    backup_keep: int = Field(default=7, ge=1, le=1000, description="how many backups the folder keeps, newest first")
    metrics_networks: str = Field(default="127.0.0.0/8,::1/128", description="comma-separated addresses or "
                                  "networks (CIDR) allowed to read /metrics (Prometheus); others get 403")

    # --- joining an agency to a caller (issue 17, conf) ---
    telephony_trunk_gateway: str = Field(default="", max_length=120,
                                         pattern=r"^(sip:[A-Za-z0-9.-]{1,100}(:[0-9]{1,5})?)?$",
                                         description="where the edge sends a call an operator's line places to an "
                                         "agency's number (the telco's SBC or the regency's PBX), e.g. "
                                         "sip:10.9.8.1:5060. Only the agencies' numbers are dialled there; empty: "
                                         "lines can call each other but no agency number")

    @field_validator("database_url")
    @classmethod
    def _multihost(cls, value: str) -> str:
        """libpq's multi-host form (two PostgreSQL servers, `target_session_attrs=read-write`) is accepted as
        written: every reader of the setting (engine, migrations, doctor) gets the form SQLAlchemy parses."""
        return multihost_url(value)

    @field_validator("trusted_proxies", "metrics_networks")
    @classmethod
    def _proxy_networks(cls, value: str, info: ValidationInfo) -> str:
        """A typo here would silently trust (or ignore) a proxy or a scraper: refuse it when the settings are
        read."""
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"SIAGA_{(info.field_name or '').upper()}: {part.strip()!r} is not an address "
                                     "or network (e.g. 10.0.0.5 or 10.0.0.0/24)") from None
        return value

    @field_validator("telephony_media_interface")
    @classmethod
    def _media_interface(cls, value: str) -> str:
        """rtpengine's interface goes into its command line: an address (and the one announced), nothing else."""
        for part in value.split("!"):
            try:
                ipaddress.IPv4Address(part)
            except ValueError:
                raise ValueError(f"SIAGA_TELEPHONY_MEDIA_INTERFACE: {part!r} is not an IPv4 address (e.g. 10.1.2.3, "
                                 "or 10.1.2.3!203.0.113.5 to announce another)") from None
        if value.count("!") > 1:
            raise ValueError("SIAGA_TELEPHONY_MEDIA_INTERFACE: at most one '!' (local!announced)")
        return value

    @field_validator("telephony_prompts_dir")
    @classmethod
    def _prompts_dir(cls, value: Path) -> Path:
        """The prompt's path reaches rtpengine through the edge's flags (space-separated): plain characters only."""
        import re

        if not re.fullmatch(r"[A-Za-z0-9_./-]{1,300}", str(value.resolve())):
            raise ValueError(f"SIAGA_TELEPHONY_PROMPTS_DIR: {str(value)[:100]!r} may hold only letters, digits and "
                             "_ . / - (no spaces)")
        return value

    @field_validator("telephony_rtp_ports")
    @classmethod
    def _rtp_ports(cls, value: str) -> str:
        low, high = (int(p) for p in value.split("-"))
        if not 1024 <= low < high <= 65535 or high - low < 3:
            raise ValueError(f"SIAGA_TELEPHONY_RTP_PORTS: {value!r} must be LOW-HIGH with 1024 <= LOW < HIGH <= 65535 "
                             "and room for two calls at least")
        return value

    @field_validator("telephony_ws_listen", "telephony_wss_listen")
    @classmethod
    def _ws_listen(cls, value: str, info: ValidationInfo) -> str:
        """Goes into Kamailio's listen= line: an IPv4 address and a port, nothing else."""
        if value:
            host, _, port = value.rpartition(":")
            try:
                ipaddress.IPv4Address(host)
            except ValueError:
                raise ValueError(f"SIAGA_{(info.field_name or '').upper()}: {host!r} is not an IPv4 address "
                                 "(e.g. 10.1.2.3:8443)") from None
            if not 1 <= int(port) <= 65535:
                raise ValueError(f"SIAGA_{(info.field_name or '').upper()}: port {port} out of range")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        """A certificate without its key (or the other way round) would only fail when Kamailio starts."""
        if bool(self.telephony_tls_cert) != bool(self.telephony_tls_key):
            raise ValueError("SIAGA_TELEPHONY_TLS_CERT and SIAGA_TELEPHONY_TLS_KEY go together: give both or neither")
        return self

    def rtp_port_range(self) -> tuple[int, int]:
        low, high = (int(p) for p in self.telephony_rtp_ports.split("-"))
        return low, high

    @field_validator("totp_required_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        """A misspelt role would silently leave its people without a second factor: refuse it."""
        for role in value.split(","):
            if role.strip() and role.strip() not in HUMAN_ROLES:
                raise ValueError(f"SIAGA_TOTP_REQUIRED_ROLES: {role.strip()!r} is not a role that signs in "
                                 f"(one of {', '.join(HUMAN_ROLES)})")
        return value

    def totp_roles(self) -> frozenset[str]:
        """The roles that must sign in with a second factor."""
        return frozenset(r.strip() for r in self.totp_required_roles.split(",") if r.strip())

    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    def metrics_network_list(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.metrics_networks)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """A typo in the zone would shift every day boundary and shown time: refuse it when the settings are read."""
        return known_zone(value)

    @model_validator(mode="after")
    def _site_defaults(self) -> Settings:
        """A site folder's site.json decides what was not set explicitly (environment or arguments)."""
        if self.site_dir is None:
            return self
        path = self.site_dir / "site.json"
        if not path.is_file():
            raise ValueError(f"SIAGA_SITE_DIR={self.site_dir}: no site.json there (make one with `siaga site "
                             "init KODE`)")
        site = json.loads(path.read_text(encoding="utf-8"))
        for field, key in (("region_code", "kode"), ("incident_prefix", "incident_prefix"),
                           ("timezone", "timezone")):
            if field not in self.model_fields_set and site.get(key):
                setattr(self, field, str(site[key]))
        known_zone(self.timezone)  # a site.json's zone is checked like the setting's
        return self

    @property
    def site_folder(self) -> Path:
        """Where the site's reference data lives: SIAGA_SITE_DIR, or the shipped Bengkalis folder."""
        return self.site_dir or SHIPPED_SITE

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in var/secret_key (mode 0600). Several
        workers starting at once agree on one key: it is written to a private file and linked into
        place, which only the first can do."""
        if self.secret_key:
            return self.secret_key
        path = VAR_DIR / "secret_key"
        if not path.exists():
            VAR_DIR.mkdir(exist_ok=True)
            tmp = VAR_DIR / f".secret_key.{os.getpid()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()


def _networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip())
