"""`make bench`: run every benchmark in this folder; each prints JSON lines
{"benchmark", "metric", "value", "unit", "baseline", "ratio", "target", "ok"}, the baseline measured in the
same run. Needs PostgreSQL (SIAGA_BENCH_DATABASE_URL, default the local server)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    failed = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name.startswith("_") or script.name == "run_all.py":
            continue
        code = subprocess.call([sys.executable, str(script)], cwd=HERE)
        if code:
            print(f'{{"benchmark": "{script.stem}", "error": "exit code {code}"}}', flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
