"""`siaga …` run in the test's own process, as an admin types it: arguments, environment, working folder and
standard input, with the exit code, standard output and standard error it gives. A new interpreter per
command cost ~1 s of imports (three to four under the suite's load) before the command began; the suite ran
~130 of them on each database. The README walk-through still runs the real `siaga` program.

An exception the command does not handle is raised to the test (as the program would print a traceback),
so "no traceback" is shown by the test passing. Settings are read afresh for every command; a command whose
settings are refused is run again as the real program, whose entry point (`siaga.cli.main`) says which."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Ran:
    returncode: int
    stdout: Any  # str, or bytes when asked for with binary=True (as subprocess.run without text=True)
    stderr: Any


@contextmanager
def _folder(cwd: Path | str | None):
    if cwd is None:
        yield
        return
    before = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | str | None = None,
        stdin: bytes | str | None = None, binary: bool = False) -> Ran:
    from typer.testing import CliRunner

    from siaga.cli import app
    from siaga.settings import get_settings

    get_settings.cache_clear()
    try:
        with _folder(cwd):
            result = CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "200", **(env or {})})
    finally:
        get_settings.cache_clear()
    if _refused_settings(result.exception):
        return _program(args, env, cwd, stdin, binary)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if binary:
        return Ran(result.exit_code, result.stdout_bytes, result.stderr_bytes)
    return Ran(result.exit_code, result.stdout, result.stderr)


def _refused_settings(exc: BaseException | None) -> bool:
    from pydantic import ValidationError

    return isinstance(exc, ValidationError) and exc.title == "Settings"


def _program(args: tuple[str, ...], env: dict[str, str] | None, cwd: Path | str | None,
             stdin: bytes | str | None, binary: bool) -> Ran:
    full = {**os.environ, "COLUMNS": "200", **(env or {})}
    if isinstance(stdin, str):
        stdin = stdin.encode()
    done = subprocess.run([sys.executable, "-m", "siaga", *args], env=full, cwd=cwd, input=stdin,
                          capture_output=True, timeout=180)
    if binary:
        return Ran(done.returncode, done.stdout, done.stderr)
    return Ran(done.returncode, done.stdout.decode(), done.stderr.decode())


def siaga(url: str, *args: str, **env: str) -> Ran:
    """`SIAGA_DATABASE_URL=url siaga args…` with these other variables."""
    return run(*args, env={"SIAGA_DATABASE_URL": url, **env})
