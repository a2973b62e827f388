"""The generated secret key: one per installation, even when several workers start at once."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path


def test_workers_starting_together_agree_on_one_generated_secret_key(tmp_path: Path):
    code = "from siaga.settings import Settings; print(Settings(secret_key='').resolved_secret_key())"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                              env={"PATH": "/usr/bin:/bin"}) for _ in range(6)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and len(keys.pop()) >= 40
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret_key"]
