"""Reading recordings: by call, by incident, the file behind one (and whether it is still what was attached)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.errors import Problem
from siaga.domains.calls.models import Call
from siaga.domains.recordings.models import Recording
from siaga.domains.recordings.schemas import RecordingOut
from siaga.settings import Settings


def root(settings: Settings) -> Path:
    return Path(settings.recording_dir).resolve()


def get(db: Session, recording_id: int) -> Recording:
    rec = db.get(Recording, recording_id)
    if rec is None:
        raise Problem(404, "not_found")
    return rec


def path_of(settings: Settings, rec: Recording) -> Path | None:
    """The recording's file, when it is where it was put (never outside the recording folder)."""
    if not rec.file_name or rec.state != "ready":
        return None
    base = root(settings)
    path = (base / rec.file_name).resolve()
    if base not in path.parents or not path.is_file():
        return None
    return path


def state_now(settings: Settings, rec: Recording) -> str:
    """As stored, except a ready recording whose file is gone or of another size reads `missing`."""
    if rec.state != "ready":
        return rec.state
    path = path_of(settings, rec)
    if path is None or path.stat().st_size != rec.size_bytes:
        return "missing"
    return "ready"


def out(settings: Settings, rec: Recording) -> RecordingOut:
    o = RecordingOut.model_validate(rec)
    o.state = state_now(settings, rec)
    return o


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def for_call(db: Session, call_id: int) -> list[Recording]:
    return list(db.scalars(select(Recording).where(Recording.call_id == call_id).order_by(Recording.id)))


def for_incident(db: Session, incident_id: int) -> list[Recording]:
    return list(db.scalars(select(Recording).join(Call, Call.id == Recording.call_id)
                           .where(Call.incident_id == incident_id).order_by(Recording.id)))


def for_calls(db: Session, call_ids: list[int]) -> list[Recording]:
    if not call_ids:
        return []
    return list(db.scalars(select(Recording).where(Recording.call_id.in_(call_ids)).order_by(Recording.id)))
