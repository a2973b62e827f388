"""What every action receives: the unit of work, who acts, and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siaga.core.authz import Principal
from siaga.core.clock import Clock
from siaga.events.kinds import EventKind
from siaga.events.outbox import Audience, audit, emit
from siaga.settings import Settings


@dataclass
class Ctx:
    db: Session
    actor: Principal
    clock: Clock
    settings: Settings

    def __post_init__(self) -> None:
        self.db.info["clock"] = self.clock

    def now(self) -> datetime:
        return self.clock.now()

    def audit(self, action: str, entity: str, entity_id: Any, data: dict[str, Any] | None = None) -> None:
        audit(self.db, actor_id=self.actor.user_id or None, actor=self.actor.label, action=action,
              entity=entity, entity_id=entity_id, data=data)

    def emit(self, kind: EventKind, entity: str, entity_id: int | None, payload: dict[str, Any],
             audience: Audience | None = None) -> None:
        emit(self.db, kind, entity, entity_id, payload, audience or Audience())
