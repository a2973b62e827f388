"""A small October 2026 of calls and incidents whose every time is known, so each KPI can be computed by
hand (tests/integration/test_kpi.py spells the arithmetic out). Times are written in WIB.

Calls offered in October (WIB), answer time in seconds, outcome, operator, incident:
  c1  Thu 01 Oct 08:00:00   4 s  emergency    ct   I1
  c2  Thu 01 Oct 08:10:00  12 s  emergency    ct   I1
  c3  Thu 01 Oct 09:00:00  16 s  prank        ct
  c4  Fri 02 Oct 10:00:00  25 s  ghost        sup
  c5  Fri 02 Oct 10:30:00  10 s  information  sup   (exactly 10 s: within 10 s)
  c6  Sat 03 Oct 14:00:00  20 s  emergency    ct   I2 (exactly 20 s)
  c7  Sat 03 Oct 15:00:00   —    abandoned
  c8  Sun 04 Oct 02:00:00   —    missed_out_of_hours
  c9  Sun 04 Oct 03:00:00   —    missed_out_of_hours
  c10 Mon 05 Oct 09:00:00  15 s  wrong_number sup   (exactly 15 s)
  c11 Mon 05 Oct 23:59:59   3 s  test         ct    (16:59:59 UTC: still Monday in WIB)
  c12 Sat 31 Oct 23:59:00   8 s  emergency    ct   I3
  c15 Tue 06 Oct 12:00:00   —    (ringing, no outcome yet)
Outside October: c13 Wed 30 Sep 23:59:59 and c14 Sun 01 Nov 00:00:00 WIB (the same UTC date as c12).

Incidents created in October (WIB), with assignments (notified, acknowledged, dispatched, on scene, cleared):
  I1 kebakaran, desa 14.03.01.1001 (kecamatan 14.03.01), created 01 Oct 08:01:00
     DAMKAR 08:01:30, 08:02:00, 08:02:20, 08:12:20, 09:12:20
     DINKES 08:01:30, 08:03:30, 08:05:30, 08:20:30, —
  I2 medis, kecamatan 14.03.16, created 03 Oct 14:00:30
     DINKES 14:00:40, 14:00:50, 14:01:00, 14:11:00, 14:41:00
  I3 kebakaran, no kode wilayah, created 31 Oct 23:59:30
     DAMKAR 23:59:40, —, —, —, —
  I5 medis, desa 14.03.16.xxxx, created 10 Oct 10:00:00, no call (entered by hand)
     DINKES 10:00:10, 10:00:20, 10:00:30, 10:10:30, 10:30:30
Outside October: I4 kebakaran created 01 Nov 00:00:10, DAMKAR acknowledged after 5 s.
Each dispatched_at above also has a unit assignment at the same time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.domains.agencies.models import Agency
from siaga.domains.calls.models import Call
from siaga.domains.incidents.models import Assignment, Incident, UnitAssignment
from siaga.domains.regions.models import Region
from siaga.domains.units.models import Unit
from siaga.domains.users.models import User

WIB = ZoneInfo("Asia/Jakarta")  # the fixture is Bengkalis data


def wib(month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=WIB)


# ref, offered (WIB), answer seconds or None, outcome, operator username, incident key, status
CALLS = [
    ("c1", wib(10, 1, 8, 0), 4, "emergency", "ct", "I1"),
    ("c2", wib(10, 1, 8, 10), 12, "emergency", "ct", "I1"),
    ("c3", wib(10, 1, 9, 0), 16, "prank", "ct", None),
    ("c4", wib(10, 2, 10, 0), 25, "ghost", "sup", None),
    ("c5", wib(10, 2, 10, 30), 10, "information", "sup", None),
    ("c6", wib(10, 3, 14, 0), 20, "emergency", "ct", "I2"),
    ("c7", wib(10, 3, 15, 0), None, "abandoned", None, None),
    ("c8", wib(10, 4, 2, 0), None, "missed_out_of_hours", None, None),
    ("c9", wib(10, 4, 3, 0), None, "missed_out_of_hours", None, None),
    ("c10", wib(10, 5, 9, 0), 15, "wrong_number", "sup", None),
    ("c11", wib(10, 5, 23, 59, 59), 3, "test", "ct", None),
    ("c12", wib(10, 31, 23, 59), 8, "emergency", "ct", "I3"),
    ("c13", wib(9, 30, 23, 59, 59), 1, "prank", "ct", None),
    ("c14", wib(11, 1, 0, 0), 1, "prank", "ct", None),
    ("c15", wib(10, 6, 12, 0), None, None, None, None),
]

# key, category, kode wilayah ("desa:14.03.16" = the first desa of that kecamatan), created (WIB),
# assignments: agency code → (notified, acknowledged, dispatched, on scene, cleared)
INCIDENTS = [
    ("I1", "kebakaran", "14.03.01.1001", wib(10, 1, 8, 1), {
        "DAMKAR": (wib(10, 1, 8, 1, 30), wib(10, 1, 8, 2), wib(10, 1, 8, 2, 20), wib(10, 1, 8, 12, 20),
                   wib(10, 1, 9, 12, 20)),
        "DINKES": (wib(10, 1, 8, 1, 30), wib(10, 1, 8, 3, 30), wib(10, 1, 8, 5, 30), wib(10, 1, 8, 20, 30), None)}),
    ("I2", "medis", "14.03.16", wib(10, 3, 14, 0, 30), {
        "DINKES": (wib(10, 3, 14, 0, 40), wib(10, 3, 14, 0, 50), wib(10, 3, 14, 1), wib(10, 3, 14, 11),
                   wib(10, 3, 14, 41))}),
    ("I3", "kebakaran", None, wib(10, 31, 23, 59, 30), {
        "DAMKAR": (wib(10, 31, 23, 59, 40), None, None, None, None)}),
    ("I4", "kebakaran", "14.03.01", wib(11, 1, 0, 0, 10), {
        "DAMKAR": (wib(11, 1, 0, 0, 10), wib(11, 1, 0, 0, 15), None, None, None)}),
    ("I5", "medis", "desa:14.03.16", wib(10, 10, 10, 0), {
        "DINKES": (wib(10, 10, 10, 0, 10), wib(10, 10, 10, 0, 20), wib(10, 10, 10, 0, 30), wib(10, 10, 10, 10, 30),
                   wib(10, 10, 10, 30, 30))}),
]


def load_october(db: Session) -> dict[str, int]:
    """Write the fixture; returns ids by key (c1.., I1.., and user / agency ids by name)."""
    users = {u.username: u.id for u in db.scalars(select(User))}
    agencies = {a.code: a.id for a in db.scalars(select(Agency))}
    units = {code: db.scalar(select(Unit.id).where(Unit.agency_id == agencies[code]).order_by(Unit.id))
             for code in ("DAMKAR", "DINKES")}
    ids: dict[str, int] = {**{f"user:{k}": v for k, v in users.items()},
                           **{f"agency:{k}": v for k, v in agencies.items()}}
    for n, (key, category, kode, created, assignments) in enumerate(INCIDENTS, start=1):
        if kode and kode.startswith("desa:"):
            kode = db.scalar(select(Region.kode).where(Region.parent_kode == kode[5:]).order_by(Region.kode))
        incident = Incident(number=f"BKS-2026-9{n:05d}", category_code=category, priority=2, status="dispatched",
                            kode_wilayah=kode, created_at=created, created_by=users["ct"], answers={})
        db.add(incident)
        db.flush()
        ids[key] = incident.id
        for agency, (notified, acked, dispatched, on_scene, cleared) in assignments.items():
            state = ("cleared" if cleared else "on_scene" if on_scene else "units_assigned" if dispatched
                     else "acknowledged" if acked else "notified")
            a = Assignment(incident_id=incident.id, agency_id=agencies[agency], state=state, notified_at=notified,
                           acknowledged_at=acked, dispatched_at=dispatched, on_scene_at=on_scene, cleared_at=cleared)
            db.add(a)
            db.flush()
            if dispatched:
                db.add(UnitAssignment(assignment_id=a.id, incident_id=incident.id, unit_id=units[agency],
                                      active=cleared is None, dispatched_at=dispatched, on_scene_at=on_scene,
                                      cleared_at=cleared))
    for ref, offered, answer_s, outcome, operator, incident_key in CALLS:
        answered = offered + timedelta(seconds=answer_s) if answer_s is not None else None
        live = outcome is None
        status = "ringing" if live else "ended" if answered else "abandoned"
        call = Call(external_ref=f"kpi-{ref}", caller_number=f"08123456{len(ref):02d}{ref[1:]:0>2}",
                    status=status, offered_at=offered, answered_at=answered,
                    ended_at=None if live else (answered or offered) + timedelta(seconds=30),
                    operator_id=users[operator] if operator else None, outcome=outcome,
                    incident_id=ids[incident_key] if incident_key else None, notes="")
        db.add(call)
        db.flush()
        ids[ref] = call.id
    return ids
