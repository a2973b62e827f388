"""The whole schema: imports every table so that metadata (migrations, tests) sees it. It sits above the domains
(it knows them all); nothing in a domain imports it."""

from siaga.core.audit import AuditEntry
from siaga.core.idempotency import IdempotencyRecord
from siaga.db.base import Base
from siaga.domains.agencies.models import Agency, Station
from siaga.domains.callers.models import CallbackAttempt, NuisanceRule, RiskModel
from siaga.domains.calls.models import Call, CallerMeasure, CallEventRecord, CallLocation, RingAttempt
from siaga.domains.incidents.models import (
    Assignment,
    Category,
    Deadline,
    GuidedQuestion,
    Incident,
    IncidentCounter,
    SearchSector,
    TimelineEntry,
    UnitAssignment,
)
from siaga.domains.quality.models import QaChecklistItem, QaReview
from siaga.domains.recordings.models import Recording
from siaga.domains.regions.models import BoundaryImport, Landmark, LandmarkImport, Region
from siaga.domains.response.models import DeadlinePolicy, ResponseRule
from siaga.domains.roads.models import RoadEdge, RoadNetwork, RoadNode
from siaga.domains.telephony.models import AgencyCall, OperatorLine, TelephonyEdge
from siaga.domains.units.models import Unit
from siaga.domains.users.models import ApiToken, LoginAttempt, RecoveryCode, User, UserSession, UserTotp
from siaga.events.models import Event, LedgerHead

__all__ = ["Base", "AuditEntry", "IdempotencyRecord", "Agency", "Station", "Call", "CallEventRecord",
           "CallLocation", "Assignment", "Category", "Incident", "IncidentCounter", "TimelineEntry",
           "UnitAssignment", "GuidedQuestion", "Landmark", "Region", "Unit", "ApiToken", "LoginAttempt", "User",
           "UserSession", "UserTotp", "RecoveryCode",
           "Event", "LedgerHead", "Deadline", "DeadlinePolicy", "ResponseRule", "RoadEdge", "RoadNetwork", "RoadNode",
           "CallbackAttempt", "CallerMeasure", "NuisanceRule", "RiskModel", "OperatorLine", "RingAttempt",
           "TelephonyEdge", "AgencyCall", "QaChecklistItem", "QaReview", "Recording", "SearchSector", "BoundaryImport",
           "LandmarkImport"]
