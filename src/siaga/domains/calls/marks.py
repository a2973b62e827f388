"""How simulated rows are recognised, in one place: reports, KPIs, statistics, the monitoring export and
staffing leave them out unless asked to include them.

- A **call** is simulated when its `simulated` column says so. `siaga simulate --write` writes its calls
  with it (and `external_ref` `sim-<run tag>-<n>`, which names the run); `siaga simulate --live` sends
  `"simulated": true` on each call's events through the call-events API (and `call_ref`
  `sim-<run id>-<n>`). The reference's prefix is only a name: a real phone system whose call ids happen to
  begin with `sim-` is counted like any other. Migration 0009 marked the calls written before the column
  existed by that prefix, once.
- An **incident** is simulated when calls are linked to it and every one of them is simulated: the
  simulator's own incidents, and the ones people create while training on a live replay. An incident
  with no call (entered by hand) or with at least one real call is real."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, not_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from siaga.domains.calls.models import Call

SIM_PREFIX = "sim-"  # how the simulator names its calls' references (a name, not the mark)


def simulated_call(call: Any = Call) -> ColumnElement[bool]:
    """The call (the Call entity or an alias of it) was made by the simulator."""
    return call.simulated.is_(True)


def real_call(call: Any = Call) -> ColumnElement[bool]:
    return call.simulated.is_(False)


def simulated_incident(incident_id: Any) -> ColumnElement[bool]:
    """The incident (its id column) has calls, all of them simulated. Two probes of the call.incident_id
    index per incident."""
    sim, other = aliased(Call), aliased(Call)
    return and_(exists(select(sim.id).where(sim.incident_id == incident_id, simulated_call(sim))),
                not_(exists(select(other.id).where(other.incident_id == incident_id, real_call(other)))))


def real_incident(incident_id: Any) -> ColumnElement[bool]:
    return not_(simulated_incident(incident_id))
