"""A deadline due during a failover fires exactly once (issue #18): the drill makes an incident and an agency's
assignment through the API (a dispatcher's token), moves the assignment's `acknowledge` deadline to fall due a
moment after the fault, and afterwards counts: the deadline fired, one `deadline.fire` audit entry for it, one
level-1 deadline after it, one `incident.escalated` event."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass


@dataclass
class Planted:
    incident_id: int
    assignment_id: int
    deadline_id: int


def _post(port: int, token: str, path: str, body: dict[str, object]) -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, json.dumps(body).encode(),
                 {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status >= 300:
        raise RuntimeError(f"POST {path}: {resp.status} {data[:300]!r}")
    return json.loads(data)


def plant(url: str, port: int, token: str) -> Planted:
    """An incident with a DAMKAR assignment; its pending deadline's id."""
    import psycopg

    incident = _post(port, token, "/api/v1/incidents",
                     {"category_code": "kebakaran", "priority": 1, "description": "failover drill"})
    with psycopg.connect(url, connect_timeout=10) as conn:
        agency = conn.execute("SELECT id FROM agency WHERE code = 'DAMKAR'").fetchone()[0]
    after = _post(port, token, f"/api/v1/incidents/{incident['id']}/assignments", {"agency_id": agency})
    assignment = next(a for a in after["assignments"] if a["agency_id"] == agency)  # type: ignore[union-attr]
    with psycopg.connect(url, connect_timeout=10) as conn:
        deadline = conn.execute("SELECT id FROM deadline WHERE assignment_id = %s AND state = 'pending'",
                                (assignment["id"],)).fetchone()[0]
    return Planted(int(incident["id"]), int(assignment["id"]), int(deadline))  # type: ignore[arg-type]


def due_in(url: str, planted: Planted, seconds: float) -> None:
    """Make the deadline fall due `seconds` from now (by the database's clock: the one the ticker compares)."""
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.execute("UPDATE deadline SET due_at = now() + make_interval(secs => %s) "
                     "WHERE id = %s", (seconds, planted.deadline_id))


def counted(url: str, planted: Planted) -> dict[str, object]:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        state = conn.execute("SELECT state FROM deadline WHERE id = %s", (planted.deadline_id,)).fetchone()[0]
        fires = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'deadline.fire' AND entity_id = %s",
                             (str(planted.assignment_id),)).fetchone()[0]
        next_level = conn.execute("SELECT count(*) FROM deadline WHERE assignment_id = %s AND level = 1",
                                  (planted.assignment_id,)).fetchone()[0]
        escalated = conn.execute("SELECT count(*) FROM event WHERE kind = 'incident.escalated' AND entity_id = %s",
                                 (planted.incident_id,)).fetchone()[0]
    return {"deadline_state": state, "deadline_fired": int(fires), "deadline_next_level": int(next_level),
            "incident_escalated_events": int(escalated)}
