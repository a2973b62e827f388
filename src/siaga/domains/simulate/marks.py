"""How simulated rows are recognised, in one place: reports, KPIs, statistics, the monitoring export and
staffing leave them out unless asked to include them.

- A **call** is simulated when its `external_ref` starts with `sim-`: `siaga simulate --write` writes
  `sim-<run tag>-<n>` (actions.write_history) and `siaga simulate --live` sends `call_ref`
  `sim-<run id>-<n>` through the call-events API (live.replay). There is no column for it (the prefix is a
  convention of the simulator; nothing stops another phone system from sending such a `call_ref`).
- An **incident** is simulated when calls are linked to it and every one of them is simulated: the
  simulator's own incidents, and the ones people create while training on a live replay. An incident
  with no call (entered by hand) or with at least one real call is real.

The comparison is an exact prefix (`substr`, not `LIKE`, which ignores case on SQLite), so both databases
agree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from siaga.domains.calls.models import Call

SIM_PREFIX = "sim-"


def is_simulated_ref(ref: str | None) -> bool:
    return ref is not None and ref.startswith(SIM_PREFIX)


def simulated_call(call: Any = Call) -> ColumnElement[bool]:
    """The call (the Call entity or an alias of it) was made by the simulator."""
    return and_(call.external_ref.is_not(None),
                func.substr(call.external_ref, 1, len(SIM_PREFIX)) == SIM_PREFIX)


def real_call(call: Any = Call) -> ColumnElement[bool]:
    return or_(call.external_ref.is_(None), func.substr(call.external_ref, 1, len(SIM_PREFIX)) != SIM_PREFIX)


def simulated_incident(incident_id: Any) -> ColumnElement[bool]:
    """The incident (its id column) has calls, all of them simulated. Two probes of the call.incident_id
    index per incident."""
    sim, other = aliased(Call), aliased(Call)
    return and_(exists(select(sim.id).where(sim.incident_id == incident_id, simulated_call(sim))),
                not_(exists(select(other.id).where(other.incident_id == incident_id, real_call(other)))))


def real_incident(incident_id: Any) -> ColumnElement[bool]:
    return not_(simulated_incident(incident_id))
