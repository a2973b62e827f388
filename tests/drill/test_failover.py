"""kill -9 the PostgreSQL primary of the two-node cluster while a PBX sends call events at 10/s: every
acknowledged event is stored, none is applied twice, nothing answers 500, and writes resume within 30 s
(tools/ha/drill.py measures; this test holds it to the targets). Runs under `make drill` only."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.drill

TOOLS = Path(__file__).resolve().parent.parent.parent / "tools" / "ha"


def test_killing_the_primary_loses_and_duplicates_nothing():
    sys.path.insert(0, str(TOOLS))
    import drill

    out = io.StringIO()
    # Under the repository's var/, not pytest's tmp_path: that is private to root, and PostgreSQL runs as postgres.
    with contextlib.redirect_stdout(out):
        code = drill.main(["--drills", "kill_primary", "--dir", "var/ha-drill-test", "--base-port", "15600",
                           "--http-port", "18132"])
    print(out.getvalue())
    (result,) = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert result["drill"] == "kill_primary"
    assert result["acknowledged"] > 50
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["errors_500"] == 0 and result["unacknowledged"] == 0
    assert result["first_write_s"] is not None and result["first_write_s"] <= drill.TARGET_FIRST_WRITE_S
    assert result["deadline_state"] == "fired" and result["deadline_fired"] == 1  # due during the failover
    assert result["deadline_next_level"] == 1 and result["incident_escalated_events"] == 1
    assert code == 0
