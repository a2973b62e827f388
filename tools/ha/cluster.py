"""A two-node Siaga database cluster on one machine, on loopback: one etcd member and two Patroni nodes,
each managing a PostgreSQL 15 (a primary and a streaming, synchronous replica). For tests, the fault drills
(tools/ha/drill.py), demos and a regency's rehearsal; docs/deployment.md says how the same configuration runs
on two real servers (plus a third, small etcd member as witness).

    python tools/ha/cluster.py up     [--dir var/ha] [--base-port 15400]
    python tools/ha/cluster.py status [--dir var/ha]
    python tools/ha/cluster.py down   [--dir var/ha] [--wipe]
    python tools/ha/cluster.py backup [--type full|diff|incr]      (pgBackRest, of the current primary)
    python tools/ha/cluster.py info                                (pgBackRest's backups and WAL archive)
    python tools/ha/cluster.py restore --target '2026-12-05 10:00:00+07' [--to restored] [--port P]

`up` waits (bounded) until a leader and a streaming synchronous replica exist, creates the `siaga` role and
database, writes the URL Siaga connects with to DIR/url and prints it. `down` stops every process it started
(Patroni stops its PostgreSQL) and removes nothing unless --wipe.

Only the standard library: Patroni (Debian `patroni`), etcd (`etcd-server`) and PostgreSQL's binaries are
run as programs. PostgreSQL refuses to run as root, so when run as root every process runs as the `postgres`
OS user and the cluster's folder belongs to it."""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCOPE = "siaga"
NODES = ("node1", "node2")
UP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Layout:
    """Where everything lives and listens."""
    dir: Path
    base_port: int

    @property
    def etcd_client(self) -> int:
        return self.base_port

    @property
    def etcd_peer(self) -> int:
        return self.base_port + 1

    def pg_port(self, node: str) -> int:
        return self.base_port + 10 + NODES.index(node)

    def rest_port(self, node: str) -> int:
        return self.base_port + 20 + NODES.index(node)

    def node_dir(self, node: str) -> Path:
        return self.dir / node

    def data_dir(self, node: str) -> Path:
        return self.node_dir(node) / "data"

    def config(self, node: str) -> Path:
        return self.dir / f"patroni-{node}.yml"

    def log(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def pidfile(self, name: str) -> Path:
        return self.dir / f"{name}.pid"

    @property
    def secrets(self) -> Path:
        return self.dir / "secrets.json"

    @property
    def url_file(self) -> Path:
        return self.dir / "url"

    @property
    def backrest_dir(self) -> Path:
        """pgBackRest's repository (backups and archived WAL), log and lock folders."""
        return self.dir / "pgbackrest"

    def backrest_conf(self, node: str) -> Path:
        return self.node_dir(node) / "pgbackrest.conf"


# ---------------------------------------------------------------------------------------------- helpers

def find_pg_bin() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True):
        return Path(candidate).parent
    sys.exit("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin): "
             "bash tools/system_deps.sh --lib postgresql-15 patroni etcd-server pgbackrest")


def require_programs() -> None:
    missing = [p for p in ("etcd", "patroni", "patronictl") if shutil.which(p) is None]
    if missing:
        sys.exit(f"missing: {', '.join(missing)}. Install them: "
                 "bash tools/system_deps.sh --lib patroni etcd-server pgbackrest")


def run_as() -> tuple[str | None, dict[str, object]]:
    """Popen keywords that drop to the postgres OS user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None, {}
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        sys.exit("running as root needs a `postgres` OS user (Debian's postgresql-common creates it)")
    return "postgres", {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam("postgres")
    for root, dirs, files in os.walk(path):
        for name in [root, *[os.path.join(root, d) for d in dirs], *[os.path.join(root, f) for f in files]]:
            os.lchown(name, pw.pw_uid, pw.pw_gid)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own child not yet reaped) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def postmaster_pid(data_dir: Path) -> int | None:
    """The postmaster's pid from its data folder (first line of postmaster.pid), if it is running."""
    pid = read_pid(data_dir / "postmaster.pid")
    return pid if pid and alive(pid) else None


def http_json(url: str, timeout: float = 2.0) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"null")
        except ValueError:
            return e.code, None
    except (OSError, ValueError):
        return 0, None


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(layout: Layout, name: str, argv: list[str]) -> int:
    pid = read_pid(layout.pidfile(name))
    if pid and alive(pid):
        return pid
    _user, kw = run_as()
    env = dict(os.environ, HOME=str(layout.dir), LC_ALL="C.UTF-8", LANG="C.UTF-8")
    env.pop("PGDATA", None)
    with open(layout.log(name), "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=layout.dir, env=env, start_new_session=True, **kw)  # type: ignore[arg-type]
    layout.pidfile(name).write_text(f"{proc.pid}\n")
    return proc.pid


def fail(layout: Layout, message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    for name in ("etcd", *NODES):
        print(f"--- {layout.log(name)} (last lines) ---\n{tail(layout.log(name))}", file=sys.stderr)
    sys.exit(1)


def wait_for(what: str, check, layout: Layout, timeout: float) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    fail(layout, f"{what}: not within {timeout:.0f} s")
    return None


# ------------------------------------------------------------------------------------------- the config

def load_secrets(layout: Layout) -> dict[str, str]:
    if layout.secrets.exists():
        return json.loads(layout.secrets.read_text())
    values = {k: secrets.token_urlsafe(18) for k in ("superuser", "replication", "rewind", "siaga")}
    layout.secrets.write_text(json.dumps(values, indent=1))
    os.chmod(layout.secrets, 0o600)
    return values


def patroni_config(*, node: str, host: str, pg_port: int, rest_port: int, data_dir: Path, socket_dir: Path,
                   pgpass: Path, pg_bin: Path, etcd_hosts: str, pw: dict[str, str], networks: list[str],
                   shared_buffers: str = "32MB", backrest_conf: Path | None = None) -> str:
    """The Patroni configuration of one node, as YAML text (written by hand to keep the comments a technician
    reads). `networks`: where the other node and the Siaga hosts connect from (pg_hba)."""
    config = f" --config={backrest_conf}" if backrest_conf else ""
    hba = "".join(f"    - host replication replicator {net} scram-sha-256\n    - host all all {net} scram-sha-256\n"
                  for net in dict.fromkeys(["127.0.0.1/32", *networks]))
    return f"""\
# Patroni configuration of {node}, written by tools/ha/cluster.py (docs/deployment.md).
scope: {SCOPE}
namespace: /service/
name: {node}

restapi:
  listen: {host}:{rest_port}
  connect_address: {host}:{rest_port}

etcd3:
  hosts: {etcd_hosts}

bootstrap:
  dcs:                        # the cluster-wide settings, kept in etcd (patronictl edit-config changes them)
    ttl: 20                   # the leader key's lease: a leader that stops renewing it loses it after 20 s
    loop_wait: 2              # each node's check interval
    retry_timeout: 5          # etcd or PostgreSQL unanswered this long: demote rather than risk two primaries
    maximum_lag_on_failover: 1048576
    primary_start_timeout: 0  # the primary's PostgreSQL crashed: promote the synchronous replica at once (it has
                              # every acknowledged commit) rather than wait for crash recovery on the same node
    synchronous_mode: true    # a commit is acknowledged once the replica has it (synchronous_commit=on);
    synchronous_mode_strict: false  # not strict: with the replica gone the primary goes on alone (deployment.md)
    postgresql:
      use_pg_rewind: true     # a failed primary rejoins as a replica without a new base backup
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 5
        max_replication_slots: 5
        wal_keep_size: 128MB
        max_connections: 120
        shared_buffers: {shared_buffers}  # a real server: a quarter of its memory
        password_encryption: scram-sha-256
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums

postgresql:
  listen: {host}:{pg_port}
  connect_address: {host}:{pg_port}
  data_dir: {data_dir}
  bin_dir: {pg_bin}
  pgpass: {pgpass}
  use_unix_socket: true
  parameters:
    unix_socket_directories: {socket_dir}
    archive_mode: "on"        # every WAL segment to pgBackRest's repository: point-in-time restore (section 8)
    archive_command: pgbackrest{config} --stanza={SCOPE} archive-push %p
    archive_timeout: 60       # a quiet centre still archives a segment a minute: a restore loses at most that
  recovery_conf:
    restore_command: pgbackrest{config} --stanza={SCOPE} archive-get %f "%p"
  pg_hba:
    - local all postgres peer
{hba}  authentication:
    superuser: {{username: postgres, password: "{pw['superuser']}"}}
    replication: {{username: replicator, password: "{pw['replication']}"}}
    rewind: {{username: rewind_user, password: "{pw['rewind']}"}}

tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
"""


def loopback_config(layout: Layout, node: str, pw: dict[str, str], pg_bin: Path) -> str:
    return patroni_config(node=node, host="127.0.0.1", pg_port=layout.pg_port(node), rest_port=layout.rest_port(node),
                          data_dir=layout.data_dir(node), socket_dir=layout.node_dir(node),
                          pgpass=layout.node_dir(node) / "pgpass", pg_bin=pg_bin,
                          etcd_hosts=f"127.0.0.1:{layout.etcd_client}", pw=pw, networks=[],
                          backrest_conf=layout.backrest_conf(node))


def backrest_config(layout: Layout, node: str) -> str:
    """pgBackRest's configuration as one node sees it: the repository under the cluster's folder (on real
    servers it is on a third host: docs/deployment.md section 8) and this node's PostgreSQL as pg1."""
    b = layout.backrest_dir
    return f"""\
# pgBackRest configuration of {node}, written by tools/ha/cluster.py (docs/deployment.md section 8).
[global]
repo1-path={b / "repo"}
repo1-retention-full=2
log-path={b / "log"}
lock-path={b / "lock"}
spool-path={b / "spool"}
log-level-console=warn
log-level-file=info
start-fast=y
compress-type=lz4
archive-timeout=60

[{SCOPE}]
pg1-path={layout.data_dir(node)}
pg1-port={layout.pg_port(node)}
pg1-socket-path={layout.node_dir(node)}
pg1-user=postgres
"""


def pgbackrest(layout: Layout, node: str, *args: str, timeout: float = 300) -> str:
    """Run pgBackRest with `node`'s configuration, as the postgres OS user when we are root."""
    _user, kw = run_as()
    result = subprocess.run(["pgbackrest", f"--config={layout.backrest_conf(node)}", f"--stanza={SCOPE}", *args],
                            capture_output=True, text=True, timeout=timeout, cwd="/", **kw)  # type: ignore[arg-type]
    if result.returncode != 0:
        raise RuntimeError(f"pgbackrest {' '.join(args)} failed ({result.returncode}):\n"
                           f"{result.stdout}{result.stderr}")
    return result.stdout


def siaga_url(layout: Layout, pw: dict[str, str]) -> str:
    """The libpq multi-host URL: libpq tries each host in turn and keeps the one that accepts writes."""
    hosts = ",".join(f"127.0.0.1:{layout.pg_port(n)}" for n in NODES)
    return f"postgresql://siaga:{pw['siaga']}@{hosts}/siaga?target_session_attrs=read-write"


# ------------------------------------------------------------------------------------------- the state

def member_states(layout: Layout) -> list[dict[str, object]]:
    """Patroni's view of the members (GET /cluster on any node that answers), else []."""
    for node in NODES:
        status, body = http_json(f"http://127.0.0.1:{layout.rest_port(node)}/cluster")
        if status == 200 and isinstance(body, dict):
            return list(body.get("members", []))
    return []


def leader(layout: Layout) -> str | None:
    for m in member_states(layout):
        if m.get("role") == "leader" and m.get("state") == "running":
            return str(m["name"])
    return None


def sync_replica_streaming(layout: Layout) -> str | None:
    """The name of a replica that streams and is the synchronous standby, as the primary sees it."""
    lead = leader(layout)
    if lead is None:
        return None
    status, body = http_json(f"http://127.0.0.1:{layout.rest_port(lead)}/patroni")
    if status != 200 or not isinstance(body, dict):
        return None
    for r in body.get("replication", []) or []:
        if r.get("state") == "streaming" and r.get("sync_state") == "sync":
            return str(r.get("application_name"))
    return None


def psql(layout: Layout, node: str, sql: str, database: str = "postgres") -> str:
    """Run SQL on a node's PostgreSQL through its Unix socket as the postgres OS user (peer)."""
    pg_bin = find_pg_bin()
    _user, kw = run_as()
    result = subprocess.run([str(pg_bin / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                             "-h", str(layout.node_dir(node)), "-p", str(layout.pg_port(node)),
                             "-U", "postgres", "-d", database, "-c", sql],
                            capture_output=True, text=True, timeout=30, cwd="/", **kw)  # type: ignore[arg-type]
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    return result.stdout.strip()


# -------------------------------------------------------------------------------------------- commands

def up(layout: Layout) -> str:
    require_programs()
    pg_bin = find_pg_bin()
    layout.dir.mkdir(parents=True, exist_ok=True)
    pw = load_secrets(layout)
    for node in NODES:
        layout.node_dir(node).mkdir(exist_ok=True)
        layout.config(node).write_text(loopback_config(layout, node, pw, pg_bin))
        os.chmod(layout.config(node), 0o600)
        layout.backrest_conf(node).write_text(backrest_config(layout, node))
    for sub in ("repo", "log", "lock", "spool"):
        (layout.backrest_dir / sub).mkdir(parents=True, exist_ok=True, mode=0o750)
    (layout.dir / "etcd").mkdir(exist_ok=True, mode=0o700)
    os.chmod(layout.dir, 0o700)
    chown_tree(layout.dir)
    for node in NODES:
        os.chmod(layout.node_dir(node), 0o700)

    peer = f"http://127.0.0.1:{layout.etcd_peer}"
    client = f"http://127.0.0.1:{layout.etcd_client}"
    start(layout, "etcd", [
        shutil.which("etcd") or "etcd", "--name", "witness", "--data-dir", str(layout.dir / "etcd"),
        "--listen-client-urls", client, "--advertise-client-urls", client,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", f"witness={peer}", "--initial-cluster-token", f"{SCOPE}-ha",
        "--initial-cluster-state", "new", "--log-level", "warn", "--logger", "zap",
        "--quota-backend-bytes", str(256 << 20)])
    wait_for("etcd answering", lambda: http_json(f"{client}/health")[0] == 200, layout, 30)

    patroni = shutil.which("patroni") or "patroni"
    # The first node bootstraps (initdb) and leads; the second then clones it (pg_basebackup) and follows.
    start(layout, NODES[0], [patroni, str(layout.config(NODES[0]))])
    first = wait_for("a leader", lambda: leader(layout), layout, UP_TIMEOUT_S)
    for node in NODES:
        start(layout, node, [patroni, str(layout.config(node))])
    wait_for("a streaming synchronous replica", lambda: sync_replica_streaming(layout), layout, UP_TIMEOUT_S)
    lead = leader(layout) or str(first)

    if psql(layout, lead, "SELECT 1 FROM pg_roles WHERE rolname = 'siaga'") != "1":
        psql(layout, lead, f"CREATE ROLE siaga LOGIN PASSWORD '{pw['siaga']}'")
    if psql(layout, lead, "SELECT 1 FROM pg_database WHERE datname = 'siaga'") != "1":
        psql(layout, lead, "CREATE DATABASE siaga OWNER siaga")
    # pgBackRest's stanza (idempotent), then `check`: a WAL segment really reaches the repository.
    pgbackrest(layout, lead, "stanza-create")
    pgbackrest(layout, lead, "check")
    url = siaga_url(layout, pw)
    layout.url_file.write_text(url + "\n")
    os.chmod(layout.url_file, 0o600)
    return url


def stop_process(layout: Layout, name: str, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process (Patroni then stops its PostgreSQL, fast), wait, and SIGKILL its whole group."""
    path = layout.pidfile(name)
    pid = read_pid(path)
    if pid and alive(pid):
        with_suppress_kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with_suppress_killpg(pid, signal.SIGKILL)  # anything left in its session (never another's)
    path.unlink(missing_ok=True)


def with_suppress_kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def with_suppress_killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def down(layout: Layout, wipe: bool = False) -> None:
    if not layout.dir.exists():
        return
    lead = leader(layout)
    # The replica first, then the leader: the leader never sees its replica take over while it stops.
    for node in sorted(NODES, key=lambda n: n == lead):
        stop_process(layout, node)
    for node in NODES:  # a postgres that outlived its Patroni (it was killed with -9): fast shutdown
        stop_postgres(layout.data_dir(node))
    for data in layout.dir.glob("restore*/data"):  # scratch servers of `restore`
        stop_postgres(data)
    stop_process(layout, "etcd")
    if wipe:
        shutil.rmtree(layout.dir)


def backup(layout: Layout, kind: str = "full") -> str:
    """A pgBackRest backup of the current primary (full, diff or incr); returns `pgbackrest info`."""
    lead = leader(layout)
    if lead is None:
        raise RuntimeError("no leader: nothing to back up")
    pgbackrest(layout, lead, f"--type={kind}", "backup")
    return pgbackrest(layout, lead, "info")


def restore(layout: Layout, target: str, folder: Path, port: int) -> str:
    """Point-in-time restore: the newest backup taken before `target` (a timestamp with its zone, e.g.
    '2026-12-05 10:00:00+07') and the archived WAL up to that moment, into `folder`/data (which must not hold
    a database yet), then a scratch PostgreSQL started on it on 127.0.0.1:`port`, promoted once it reaches the
    target. The cluster is not touched. Returns the URL Siaga's `siaga` role reaches the restored copy with.

    The scratch server archives nothing (its WAL must never reach the cluster's repository), waits for no
    synchronous replica, and uses its own pg_hba: the Patroni settings it was restored with point elsewhere."""
    data = folder / "data"
    if data.exists() and any(data.iterdir()):
        raise RuntimeError(f"{data} already holds a database: restore into an empty folder")
    data.mkdir(parents=True, exist_ok=True)
    chown_tree(folder)
    os.chmod(data, 0o700)
    node = leader(layout) or NODES[0]
    pgbackrest(layout, node, f"--pg1-path={data}", "--type=time", f"--target={target}",
               "--target-action=promote", "restore")
    pg_bin = find_pg_bin()
    _user, kw = run_as()
    log = open(folder / "postgres.log", "ab")  # noqa: SIM115 — kept open for the process
    subprocess.Popen([str(pg_bin / "postgres"), "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                      "-c", f"unix_socket_directories={folder}", "-c", "archive_mode=off",
                      "-c", "synchronous_standby_names=", "-c", f"hba_file={data / 'pg_hba.conf'}",
                      "-c", f"ident_file={data / 'pg_ident.conf'}", "-c", "cluster_name=siaga-restored"],
                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/",
                     start_new_session=True, **kw)  # type: ignore[arg-type]
    log.close()

    def promoted() -> bool:
        result = subprocess.run([str(pg_bin / "psql"), "-X", "-At", "-h", str(folder), "-p", str(port), "-U",
                                 "postgres", "-d", "postgres", "-c", "SELECT pg_is_in_recovery()"],
                                capture_output=True, text=True, timeout=10, cwd="/", **kw)  # type: ignore[arg-type]
        return result.returncode == 0 and result.stdout.strip() == "f"

    started = time.monotonic()
    while not promoted():
        gone = postmaster_pid(data) is None and time.monotonic() > started + 10
        if gone or time.monotonic() > started + UP_TIMEOUT_S:
            raise RuntimeError(f"the restored PostgreSQL did not come up and reach {target}:\n"
                               + tail(folder / "postgres.log"))
        time.sleep(0.25)
    pw = load_secrets(layout)
    return f"postgresql://siaga:{pw['siaga']}@127.0.0.1:{port}/siaga"


def stop_postgres(data: Path) -> None:
    """Fast shutdown of the PostgreSQL running on `data` (if any), bounded; then SIGKILL."""
    pid = postmaster_pid(data)
    if not pid:
        return
    with_suppress_kill(pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        with_suppress_kill(pid, signal.SIGKILL)


def status(layout: Layout) -> int:
    """A `patronictl list`-like table from Patroni's REST API; exit 1 when there is no leader."""
    members = member_states(layout)
    etcd_ok = http_json(f"http://127.0.0.1:{layout.etcd_client}/health")[0] == 200
    print(f"etcd 127.0.0.1:{layout.etcd_client}: {'up' if etcd_ok else 'DOWN'}")
    if not members:
        print("no Patroni node answers")
        return 1
    rows = [("Member", "Host", "Role", "State", "TL", "Lag in MB")]
    for m in members:
        lag = m.get("lag", "")
        lag_mb = f"{lag / 1048576:.0f}" if isinstance(lag, int) else str(lag)
        rows.append((str(m.get("name")), f"{m.get('host')}:{m.get('port')}", str(m.get("role")),
                     str(m.get("state")), str(m.get("timeline", "")), lag_mb))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    if layout.url_file.exists():
        url = layout.url_file.read_text().strip()
        print("siaga URL:", url.split(":", 2)[0] + "://siaga:***@" + url.split("@", 1)[1])
    return 0 if any(m.get("role") == "leader" for m in members) else 1


def server_config(args: argparse.Namespace) -> str:
    """`config`: one real server's Patroni file (docs/deployment.md), Debian's paths and the usual ports. Both
    servers need the same passwords: the secrets file is made on the first and copied to the second."""
    path = Path(args.secrets)
    if path.exists():
        pw = json.loads(path.read_text())
    else:
        pw = {k: secrets.token_urlsafe(18) for k in ("superuser", "replication", "rewind", "siaga")}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(pw, indent=1))
        os.chmod(path, 0o600)
        print(f"# new passwords in {path}: copy it to the other server before making its file", file=sys.stderr)
    version = find_pg_bin().parent.name if glob.glob("/usr/lib/postgresql/*/bin/postgres") else "15"
    return patroni_config(node=args.node, host=args.host, pg_port=5432, rest_port=8008,
                          data_dir=Path(f"/var/lib/postgresql/{version}/{SCOPE}"),
                          socket_dir=Path("/var/run/postgresql"), pgpass=Path("/var/lib/postgresql/.pgpass_patroni"),
                          pg_bin=Path(f"/usr/lib/postgresql/{version}/bin"), etcd_hosts=args.etcd, pw=pw,
                          networks=args.network, shared_buffers="1GB")


def layout_from(args: argparse.Namespace) -> Layout:
    folder = Path(args.dir)
    if not folder.is_absolute():
        folder = ROOT / folder
    saved = folder / "ports.json"
    base = args.base_port
    if base is None:
        base = json.loads(saved.read_text())["base_port"] if saved.exists() else 15400
    layout = Layout(folder.resolve(), base)
    return layout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "backup", "info", "restore", "config"])
    parser.add_argument("--dir", default="var/ha", help="the cluster's folder (default var/ha)")
    parser.add_argument("--base-port", type=int, default=None,
                        help="etcd on BASE and BASE+1, PostgreSQL on BASE+10/11, Patroni REST on BASE+20/21 "
                             "(default 15400, or what `up` used)")
    parser.add_argument("--wipe", action="store_true", help="down: also remove the cluster's folder")
    parser.add_argument("--type", default="full", choices=["full", "diff", "incr"], help="backup: its type")
    parser.add_argument("--target", help="restore: the moment to restore to, e.g. '2026-12-05 10:00:00+07'")
    parser.add_argument("--to", default="restored",
                        help="restore: a folder for the restored copy, under the cluster's (default restored)")
    parser.add_argument("--port", type=int, default=None, help="restore: its port (default BASE+40)")
    real = parser.add_argument_group("config: the Patroni file of one real server (printed)")
    real.add_argument("--node", help="this server's member name, e.g. siaga-a")
    real.add_argument("--host", help="this server's address, e.g. 10.20.0.11")
    real.add_argument("--etcd", help="the three etcd members, e.g. 10.20.0.11:2379,10.20.0.12:2379,10.20.0.13:2379")
    real.add_argument("--network", action="append", default=[],
                      help="a network the other server and the Siaga hosts connect from (CIDR; repeatable)")
    real.add_argument("--secrets", default="/etc/patroni/siaga-secrets.json",
                      help="the passwords file, made when missing (default /etc/patroni/siaga-secrets.json)")
    args = parser.parse_args(argv)
    if args.command == "config":
        if not (args.node and args.host and args.etcd):
            parser.error("config needs --node, --host and --etcd")
        print(server_config(args), end="")
        return 0
    layout = layout_from(args)
    if args.command == "up":
        layout.dir.mkdir(parents=True, exist_ok=True)
        (layout.dir / "ports.json").write_text(json.dumps({"base_port": layout.base_port}))
        started = time.monotonic()
        try:
            url = up(layout)
        except BaseException:
            print("bringing the cluster up failed; `tools/ha/cluster.py down` stops what started", file=sys.stderr)
            raise
        print(f"cluster up in {time.monotonic() - started:.1f} s: leader {leader(layout)}, "
              f"synchronous replica {sync_replica_streaming(layout)}", file=sys.stderr)
        print(url)
        return 0
    if args.command == "down":
        down(layout, wipe=args.wipe)
        return 0
    if args.command == "backup":
        print(backup(layout, args.type), end="")
        return 0
    if args.command == "info":
        print(pgbackrest(layout, leader(layout) or NODES[0], "info"), end="")
        return 0
    if args.command == "restore":
        if not args.target:
            parser.error("restore needs --target TIME")
        name = Path(args.to).name
        folder = layout.dir / (name if name.startswith("restore") else f"restore-{name}")
        url = restore(layout, args.target, folder, args.port or layout.base_port + 40)
        print(f"restored to {args.target} in {folder}; stop it with `tools/ha/cluster.py down`", file=sys.stderr)
        print(url)
        return 0
    return status(layout)


if __name__ == "__main__":
    sys.exit(main())
