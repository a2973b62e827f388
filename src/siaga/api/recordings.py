"""Call recordings: the list per call and per incident, playback (HTTP Range, so the player can seek),
download (supervisors) and the legal hold. Each playback and download is audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from siaga.core.context import Ctx
from siaga.core.errors import Problem
from siaga.core.http import ctx_for
from siaga.core.ids import PathId
from siaga.db.engine import unit_of_work
from siaga.domains.calls import service as calls_service
from siaga.domains.recordings import actions, audio, schemas, service

router = APIRouter(tags=["recordings"])
AUDIO = {200: {"content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
               "description": "The recording (WAV, left the caller, right the operator)"},
         206: {"description": "The part asked for with Range"}}


@router.get("/calls/{call_id}/recordings", response_model=list[schemas.RecordingOut])
def call_recordings(call_id: PathId, ctx: Ctx = Depends(ctx_for("recordings.play"))) -> list[schemas.RecordingOut]:
    """The call's recordings; `state` says whether each can be played (ready) or not (missing, unreadable,
    deleted)."""
    calls_service.get_call(ctx.db, call_id)
    return [service.out(ctx.settings, r) for r in service.for_call(ctx.db, call_id)]


@router.get("/incidents/{incident_id}/recordings", response_model=list[schemas.RecordingOut])
def incident_recordings(incident_id: PathId,
                        ctx: Ctx = Depends(ctx_for("recordings.play"))) -> list[schemas.RecordingOut]:
    """The recordings of every call of the incident."""
    return [service.out(ctx.settings, r) for r in service.for_incident(ctx.db, incident_id)]


@router.get("/recordings/{recording_id}", response_model=schemas.RecordingOut)
def get_recording(recording_id: PathId, ctx: Ctx = Depends(ctx_for("recordings.play"))) -> schemas.RecordingOut:
    return service.out(ctx.settings, service.get(ctx.db, recording_id))


def _audit(request: Request, ctx: Ctx, rec_id: int, *, download: bool) -> None:
    """In a writer's transaction of its own, committed before the file is sent: a player sends its requests
    in pairs, and a read transaction that turns writer could fail (SQLite) where this one waits its turn."""
    with unit_of_work(request.app.state.engine) as db:
        own = Ctx(db=db, actor=ctx.actor, clock=ctx.clock, settings=ctx.settings)
        actions.played(own, service.get(db, rec_id), download=download, byte_range=request.headers.get("range"))


def _file(ctx: Ctx, recording_id: int):  # type: ignore[no-untyped-def]
    rec = service.get(ctx.db, recording_id)
    state = service.state_now(ctx.settings, rec)
    path = service.path_of(ctx.settings, rec)
    if state != "ready" or path is None:
        raise Problem(410 if state == "deleted" else 404, "recording_unavailable", state=state)
    return rec, path


@router.get("/recordings/{recording_id}/audio", response_class=FileResponse, responses=AUDIO)
def play_recording(recording_id: PathId, request: Request,
                   ctx: Ctx = Depends(ctx_for("recordings.play"))) -> FileResponse:
    """The audio to play (Range requests for seeking). Each playback is audited (a listener's requests for one
    recording within ten minutes are one playback)."""
    rec, path = _file(ctx, recording_id)
    _audit(request, ctx, rec.id, download=False)
    return FileResponse(path, media_type=rec.media_type, headers={"Cache-Control": "no-store"})


@router.get("/recordings/{recording_id}/peaks", response_model=schemas.PeaksOut)
def recording_peaks(recording_id: PathId, points: int = Query(default=400, ge=10, le=2000),
                    ctx: Ctx = Depends(ctx_for("recordings.play"))) -> schemas.PeaksOut:
    """The waveform: each channel's peak level (0..1) in `points` slices (the player draws it and seeks on it)."""
    rec, path = _file(ctx, recording_id)
    caller, operator = audio.peaks(path, points)
    return schemas.PeaksOut(duration_s=rec.duration_s, caller=caller, operator=operator)


@router.get("/recordings/{recording_id}/download", response_class=FileResponse, responses=AUDIO)
def download_recording(recording_id: PathId, request: Request,
                       ctx: Ctx = Depends(ctx_for("recordings.download"))) -> FileResponse:
    """The file to keep (supervisors), audited; its SHA-256 is in the X-Content-SHA256 header and the record."""
    rec, path = _file(ctx, recording_id)
    _audit(request, ctx, rec.id, download=True)
    return FileResponse(path, media_type=rec.media_type, filename=f"rekaman-112-{rec.id}.wav",
                        headers={"Cache-Control": "no-store", "X-Content-SHA256": rec.sha256})


@router.put("/recordings/{recording_id}/hold", response_model=schemas.RecordingOut)
def hold_recording(recording_id: PathId, data: schemas.HoldIn,
                   ctx: Ctx = Depends(ctx_for("recordings.hold"))) -> schemas.RecordingOut:
    """Legal hold on (with a reason) or off: a held recording is exempt from the retention."""
    return service.out(ctx.settings, actions.set_hold(ctx, recording_id, data))
