"""`make test`: the whole suite on SQLite and on PostgreSQL, the two passes side by side (each with its xdist
workers; the suite waits on browsers, SIP peers and servers about half the time, so two passes at once fill
the 2 cores that one pass leaves idle). Each output line says its pass. PostgreSQL comes from
SIAGA_TEST_DATABASE_URL, else the local server on 127.0.0.1:5432, else a throwaway cluster started from
the installed PostgreSQL binaries; if there are none, say exactly what to install. Never skip silently."""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_reachable(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
        return True
    except Exception:
        return False


def start_throwaway_cluster() -> tuple[str, subprocess.Popen | None, str]:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        sys.exit("PostgreSQL is needed for the second test pass and none is reachable at "
                 f"{DEFAULT_PG}.\nInstall it (Debian: `apt-get install postgresql`) or set "
                 "SIAGA_TEST_DATABASE_URL=postgresql://user@host:port/db")
    bindir = Path(bins[-1]).parent
    data = tempfile.mkdtemp(prefix="siaga-pg-")
    port = "55432"
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(data, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(run_as + [str(bindir / "initdb"), "-D", data, "-U", "postgres", "--auth=trust"],
                   check=True, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen(run_as + [str(bindir / "postgres"), "-D", data, "-p", port, "-k", data,
                                      "-h", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    for _ in range(60):
        if pg_reachable(url):
            return url, proc, data
        time.sleep(0.5)
    proc.terminate()
    sys.exit("could not start a throwaway PostgreSQL cluster from " + str(bindir))


def slowest(junit: Path, backend: str) -> list[tuple[float, str]]:
    """(seconds, test) per test case: setup, call and teardown together."""
    root = ET.parse(junit).getroot()
    return [(float(case.get("time", 0)), f"{backend:10} {case.get('classname', '')}::{case.get('name', '')}")
            for case in root.iter("testcase")]


def workers() -> str:
    """xdist workers per pass: the SIP, browser and server tests mostly wait, so more workers than
    cores pay off; SIAGA_TEST_WORKERS overrides (0 runs in one process)."""
    return os.environ.get("SIAGA_TEST_WORKERS", str(max(2, (os.cpu_count() or 1) + 1)))


def counts(junit: Path) -> tuple[int, int, int]:
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed, skipped


def _relay(child: subprocess.Popen, tag: str) -> None:
    """A pass's output, line by line, marked with its pass, as it comes."""
    assert child.stdout is not None
    for line in child.stdout:
        sys.stdout.write(f"[{tag}] {line}")
        sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("SIAGA_CONFORMANCE_DIR", str((ROOT.parent / "shared" / "conformance").resolve()))
    backends = [args.only] if args.only else ["sqlite", "postgresql"]
    proc = None
    results = {}
    timings: list[tuple[float, str]] = []
    pass_seconds: dict[str, float] = {}
    started = time.monotonic()
    n = workers()
    label = {"sqlite": "sqlite", "postgresql": "pg"}
    running: dict[str, tuple[subprocess.Popen, Path, float, threading.Thread]] = {}
    try:
        for backend in backends:
            env = dict(env)
            env["SIAGA_TEST_BACKEND"] = backend
            if backend == "postgresql":
                url = env.get("SIAGA_TEST_DATABASE_URL", DEFAULT_PG)
                if not pg_reachable(url):
                    if "SIAGA_TEST_DATABASE_URL" in env:
                        sys.exit(f"SIAGA_TEST_DATABASE_URL={url} is not reachable")
                    print(f"No PostgreSQL at {url}: starting a throwaway cluster", flush=True)
                    url, proc, _data = start_throwaway_cluster()
                env["SIAGA_TEST_DATABASE_URL"] = url
            junit = Path(tempfile.mkstemp(suffix=f"-{backend}.xml")[1])
            print(f"===== Siaga 112 test suite on {backend} (lines marked [{label[backend]}]) =====", flush=True)
            parallel = ["-n", n] if n != "0" else []
            child = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *parallel,
                                      f"--junitxml={junit}", *args.pytest_args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
            relay = threading.Thread(target=_relay, args=(child, label[backend]), daemon=True)
            relay.start()
            running[backend] = (child, junit, time.monotonic(), relay)
        for backend, (child, junit, began, relay) in running.items():
            code = child.wait()
            relay.join()
            pass_seconds[backend] = time.monotonic() - began
            if code == 5 and backend == "postgresql":  # every selected test was database-independent
                results[backend] = (0, 0, 0)
                continue
            if code not in (0, 1) or not junit.stat().st_size:
                print(f"pytest on {backend} stopped with exit code {code}")
                return code or 1
            results[backend] = counts(junit)
            timings += slowest(junit, backend)
            if code == 1 and results[backend][1] == 0:
                results[backend] = (results[backend][0], 1, results[backend][2])
    finally:
        for child, *_ in running.values():
            if child.poll() is None:
                child.terminate()
        if proc is not None:
            proc.terminate()
    if timings:
        print("\n20 slowest tests (setup + call + teardown):")
        for seconds, name in sorted(timings, reverse=True)[:20]:
            print(f"  {seconds:7.2f} s  {name}")
    for backend, seconds in pass_seconds.items():
        print(f"{backend} pass: {seconds:.0f} s")
    total = time.monotonic() - started
    print(f"total test time: {total:.0f} s ({total / 60:.1f} min), the passes side by side, "
          f"with {n} xdist workers each")
    passed = sum(r[0] for r in results.values())
    failed = sum(r[1] for r in results.values())
    skipped = sum(r[2] for r in results.values())
    for backend, (p, f, s) in results.items():
        print(f"{backend}: {p} passed, {f} failed, {s} skipped")
    if passed == 0:
        print("no test ran")
        return 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
