"""SIP intake: sipp (the telco trunk) → Kamailio (the project's rendered edge) → the bridge in `siaga serve`
→ PostgreSQL, at a fixed offered rate of new emergency calls (default 100/s). Every call carries a
PIDF-LO, waits in the queue (an operator is on duty, on break) and is hung up by the caller after a
second, so the queue holds ~rate calls at once.

Reported:
- calls/s achieved through the whole chain with zero lost call records (every INVITE that got its 180
  has exactly one call record), against the baseline: the same sipp load against Kamailio alone,
  answering itself (180, then 487 on CANCEL) with no service behind it, measured in the same run;
- lost call records (target 0);
- p99 from the INVITE reaching Kamailio ($TV(Sn), stored as the call's offered_at) to the call's
  `call.created` event reaching a call-taker console's event stream;
- Kamailio's and the service's memory (PSS) before and after.

Usage: python benchmarks/sip_intake.py [--rate 100] [--calls 3000]"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from _common import TOKENS, bench_database, emit, free_port, percentile, server

from siaga.core.authz import Principal
from siaga.core.clock import Clock
from siaga.core.context import Ctx
from siaga.db.engine import make_engine, unit_of_work
from siaga.domains.telephony import actions, schemas
from siaga.domains.telephony.edge import EdgePaths, kamailio_binary, render_config
from siaga.settings import Settings

SIPP_DIR = Path(actions.__file__).parent / "sipp"
SELF_ANSWER = """#!KAMAILIO
children=4
listen=udp:127.0.0.1:{port}
mpath="{mpath}"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
modparam("tm", "max_inv_lifetime", 900000)
request_route {{
    force_rport();
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
    if (is_method("ACK")) {{ t_check_trans(); exit; }}
    if (is_method("INVITE")) {{ t_newtran(); t_reply("180", "Ringing"); t_suspend(); exit; }}
    sl_send_reply("200", "OK");
}}
"""


def rss_kb(pids: list[int]) -> int:
    """Proportional set size summed over the processes: Kamailio's children share its memory, and summing
    their RSS would count the shared pages once per process."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def tree(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    pids = [pid]
    for child in out:
        pids += tree(int(child))
    return pids


def start_kamailio(cfg: Path, runtime: Path) -> subprocess.Popen[bytes]:
    runtime.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([kamailio_binary(), "-f", str(cfg), "-DD", "-E", "-Y", str(runtime), "-m", "256",
                             "-M", "16"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    if proc.poll() is not None:
        raise RuntimeError(f"Kamailio did not start with {cfg}")
    return proc


def run_sipp(port: int, rate: int, calls: int, workdir: Path) -> dict[str, float]:
    rows = workdir / "callers.csv"
    rows.write_text("SEQUENTIAL\n" + "".join(f"+62812{i:07d};1.4{i % 10} 102.1{i % 7};{20 + i % 50}\n"
                                            for i in range(calls)))
    stat = workdir / f"stat-{port}.csv"
    start = time.monotonic()
    done = subprocess.run(["sipp", "-sf", str(SIPP_DIR / "trunk_queue_cancel.xml"), "-inf", str(rows),
                           "-i", "127.0.0.1", "-p", str(free_udp()), "-m", str(calls), "-r", str(rate),
                           "-d", "1000", "-l", str(rate * 5), "-nostdin", "-timeout", "300s", "-timeout_error",
                           "-trace_stat", "-stf", str(stat), "-fd", "1", f"127.0.0.1:{port}"],
                          capture_output=True, timeout=400, cwd=workdir)
    elapsed = time.monotonic() - start
    last = stat.read_text().strip().splitlines()
    head, values = last[0].split(";"), last[-1].split(";")
    col = dict(zip(head, values, strict=False))
    ok, failed = int(col["SuccessfulCall(C)"]), int(col["FailedCall(C)"])
    return {"ok": ok, "failed": failed, "created": int(col["OutgoingCall(C)"]), "elapsed": elapsed,
            "rate": (ok + failed) / max(elapsed - 1.0, 0.001), "rc": done.returncode}


def free_udp() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def baseline(rate: int, calls: int, workdir: Path) -> dict[str, float]:
    from siaga.domains.telephony.edge import module_path

    port = free_udp()
    cfg = workdir / "self.cfg"
    cfg.write_text(SELF_ANSWER.format(port=port, mpath=module_path()))
    proc = start_kamailio(cfg, workdir / "run-self")
    try:
        return run_sipp(port, rate, calls, workdir)
    finally:
        stop_kamailio(proc)


def stop_kamailio(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """SIGTERM, and SIGKILL if thousands of suspended transactions keep it busy past 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


async def watch_events(base: str, arrived: dict[str, float], stop: threading.Event) -> None:
    host, port = base.split("//")[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port), limit=2**22)
    writer.write((f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                  f"Authorization: Bearer {TOKENS['bench_ct']}\r\n\r\n").encode())
    await writer.drain()
    while not stop.is_set():
        try:
            line = await asyncio.wait_for(reader.readline(), 1.0)
        except TimeoutError:
            continue
        if not line:
            break
        if line.startswith(b"data:") and b'"call.created"' in line:
            data = json.loads(line[5:])
            arrived.setdefault(data["payload"]["external_ref"], time.time())
    writer.close()


def settle(engine, run: dict[str, float], arrived: dict[str, float],  # type: ignore[no-untyped-def]
           seen: set[str]) -> tuple[int, int, list[float]]:
    """Wait (at most 120 s) until every call of this phase is recorded and announced; return the
    records, the distinct call ids and the INVITE → event latencies (ms) of this phase."""
    from sqlalchemy import select

    from siaga.domains.calls.models import Call

    deadline = time.monotonic() + 120
    while True:
        with unit_of_work(engine, write=False) as db:
            rows = dict(db.execute(select(Call.external_ref, Call.offered_at)).all())
        new = {ref: at for ref, at in rows.items() if ref not in seen}
        if (len(new) >= run["created"] and all(ref in arrived for ref in new)) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    latencies = [(arrived[ref] - at.timestamp()) * 1000 for ref, at in new.items()
                 if ref in arrived and isinstance(at, datetime)]
    return len(new), len(new), latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--steady-rate", type=int, default=10, help="a second phase at a steady rate, 20 s")
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        raise SystemExit("sipp missing: apt-get install sip-tester (make bench installs it)")
    with tempfile.TemporaryDirectory(prefix="siaga-sipbench-") as tmp:
        workdir = Path(tmp)
        base_run = baseline(args.rate, args.calls, workdir)
        with bench_database("siaga_bench_sip") as url:
            sip_port, evapi = free_udp(), f"127.0.0.1:{free_port()}"
            os.environ.update({"SIAGA_TELEPHONY_BRIDGE": "true", "SIAGA_TELEPHONY_EVAPI": evapi,
                               "SIAGA_TELEPHONY_LISTEN": f"udp:127.0.0.1:{sip_port}",
                               "SIAGA_TELEPHONY_MAX_QUEUE_S": "900"})
            settings = Settings(database_url=url)
            paths = EdgePaths(workdir / "edge")
            paths.directory.mkdir()
            paths.config.write_text(render_config(settings, paths, children=8))
            kam = start_kamailio(paths.config, paths.runtime)
            engine = make_engine(url)
            try:
                with unit_of_work(engine) as db:  # one operator on duty, on break: the calls wait
                    from sqlalchemy import select

                    from siaga.domains.users.models import User
                    user = db.scalar(select(User).where(User.username == "bench_ct"))
                    me = Principal(user_id=user.id, username=user.username, full_name="", role="call_taker",
                                   agency_id=None)
                    ctx = Ctx(db=db, actor=me, clock=Clock(), settings=settings)
                    actions.set_line(ctx, user.id, schemas.LineIn(extension="1001", password="bench-secret"))
                    actions.set_presence(ctx, schemas.PresenceIn(state="break"))
                with server(url) as base:
                    time.sleep(2)  # the bridge connects and pushes the line
                    phone_port = free_udp()
                    (workdir / "phone.csv").write_text(
                        f"SEQUENTIAL\n1001;127.0.0.1:{phone_port};{settings.telephony_domain};3600\n")
                    subprocess.run(["sipp", "-sf", str(SIPP_DIR / "register.xml"), "-inf", str(workdir / "phone.csv"),
                                    "-au", "1001", "-ap", "bench-secret", "-i", "127.0.0.1", "-p", str(free_udp()),
                                    "-m", "1", "-nostdin", "-timeout", "10s", f"127.0.0.1:{sip_port}"],
                                   capture_output=True, timeout=30, check=True)
                    # The service under test by its own command line (`-m siaga serve --workers N --port P`),
                    # with its workers: measured for real, never a process that happens to match.
                    port = base.rsplit(":", 1)[1]
                    found = subprocess.run(["pgrep", "-f", "--", f"-m siaga serve .*--port {port}$"],
                                           capture_output=True, text=True).stdout.split()
                    if not found:
                        raise RuntimeError(f"the service on port {port} is not running")
                    serve_pids = tree(int(found[0]))
                    kam_before, svc_before = rss_kb(tree(kam.pid)), rss_kb(serve_pids)
                    arrived: dict[str, float] = {}
                    stop = threading.Event()
                    watcher = threading.Thread(target=lambda: asyncio.run(watch_events(base, arrived, stop)),
                                               daemon=True)
                    watcher.start()
                    time.sleep(1)
                    phases = []
                    for rate, calls in ((args.rate, args.calls), (args.steady_rate, args.steady_rate * 20)):
                        with unit_of_work(engine, write=False) as db:
                            from sqlalchemy import select

                            from siaga.domains.calls.models import Call
                            seen = set(db.scalars(select(Call.external_ref)))
                        run = run_sipp(sip_port, rate, calls, workdir)
                        phases.append((rate, calls, run, settle(engine, run, arrived, seen)))
                    stop.set()
                    kam_after, svc_after = rss_kb(tree(kam.pid)), rss_kb(serve_pids)
                    if not (kam_before and svc_before and kam_after and svc_after):
                        raise RuntimeError("could not read the memory of Kamailio or of the service (PSS 0 kB)")
            finally:
                stop_kamailio(kam)
                engine.dispose()
        for rate, calls, run, (records, distinct, latencies) in phases:
            lost = max(0, int(run["created"]) - distinct)  # every call sipp created waited for its 180
            chain_ok = run["failed"] == 0 and lost == 0 and records == distinct
            tag = f"_{rate}cps"
            emit("sip_intake", "calls_per_s_zero_loss" + tag, run["rate"] if chain_ok else 0.0, "calls/s",
                 base_run["rate"] if rate == args.rate else None, target=0.98 * rate, offered_rate=rate,
                 calls=calls, failed=run["failed"], baseline_failed=base_run["failed"] if rate == args.rate else None)
            emit("sip_intake", "lost_call_records" + tag, float(lost), "calls", None, target=0,
                 higher_is_better=False, records=records, invites=run["created"])
            emit("sip_intake", "invite_to_queue_event_p99_ms" + tag, percentile(latencies, 99), "ms", None,
                 target=1000 if rate == args.steady_rate else None, higher_is_better=False,
                 p50_ms=round(percentile(latencies, 50), 1), samples=len(latencies))
        emit("sip_intake", "kamailio_pss_kb_after", float(kam_after), "kB", float(kam_before), higher_is_better=False)
        emit("sip_intake", "service_pss_kb_after", float(svc_after), "kB", float(svc_before), higher_is_better=False)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
