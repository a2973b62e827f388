"""What changes recordings: attaching rtpengine's finished recordings (a ticker job), linking them to their
call, legal hold, playback and download audit, and the retention (a ticker job).

Attaching survives the service being away: rtpengine keeps writing into its spool (it needs nothing from
Siaga), and whatever is finished there is attached at the next tick, however late. Each recording is
attached once (keyed by rtpengine's metadata file name); the spool files go only after the row is
committed, so a crash in between attaches nothing twice and loses nothing."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from siaga.core.audit import AuditEntry
from siaga.core.authz import SYSTEM
from siaga.core.clock import Clock
from siaga.core.context import Ctx
from siaga.core.errors import Problem
from siaga.core.i18n import message
from siaga.db.engine import unit_of_work
from siaga.domains.calls.models import CALL_LIVE_STATUSES, Call
from siaga.domains.incidents.actions import add_timeline
from siaga.domains.recordings import audio, service
from siaga.domains.recordings.models import Recording
from siaga.domains.recordings.schemas import HoldIn
from siaga.domains.telephony.models import AgencyCall
from siaga.settings import Settings

log = logging.getLogger(__name__)
BATCH = 20  # recordings attached per tick: decoding one is ~10 ms per minute of call
# A recording rtpengine began but never finished (its metadata still in spool/tmp) that neither it nor its pcap
# has changed for this long, and whose call is over, is finished by Siaga (recover_orphans).
ORPHAN_AFTER = timedelta(minutes=2)
RECOVERED_REASON = "recovered: rtpengine stopped before finishing this recording; its last moments may be missing"
RETENTION_BATCH = 200
MAX_REF = 150


def call_ref_of(sip_call_id: str) -> str:
    """As the bridge keys a call (telephony.bridge.call_ref_of): the Call-ID, or its hash when very long."""
    if len(sip_call_id) <= MAX_REF:
        return sip_call_id
    return "sha256:" + hashlib.sha256(sip_call_id.encode("utf-8", "replace")).hexdigest()


def spool(settings: Settings) -> Path:
    return service.root(settings) / "spool"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _finished(settings: Settings) -> list[Path]:
    folder = spool(settings) / "metadata"
    try:
        return sorted(p for p in folder.iterdir() if p.name.startswith("rtpengine-meta-") and p.suffix == ".txt")
    except FileNotFoundError:
        return []


def _orphans(settings: Settings, now: datetime) -> list[tuple[Path, audio.Metadata]]:
    folder = spool(settings) / "tmp"
    try:
        candidates = sorted(p for p in folder.iterdir()
                            if p.name.startswith("rtpengine-meta-") and p.suffix == ".tmp")
    except FileNotFoundError:
        return []
    out = []
    for path in candidates:
        try:
            meta = audio.read_metadata(path)
            touched = max(path.stat().st_mtime, meta.pcap.stat().st_mtime if meta.pcap.is_file() else 0.0)
        except (OSError, audio.Unreadable):
            continue
        if now.timestamp() - touched >= ORPHAN_AFTER.total_seconds():
            out.append((path, meta))
    return out


def _call_live(db: Session, ref: str) -> bool:
    if db.scalar(select(Call.id).where(Call.external_ref == ref, Call.status.in_(CALL_LIVE_STATUSES))) is not None:
        return True
    return db.scalar(select(AgencyCall.id).where(AgencyCall.sip_call_id == ref,
                                                 AgencyCall.ended_at.is_(None))) is not None


def recover_orphans(engine: Engine, clock: Clock, settings: Settings) -> int:
    """rtpengine writes a recording's metadata to spool/tmp while the call lasts and moves it to spool/metadata
    when the call ends. Stopped or crashed before that (rtpengine 10.5 segfaults when stopped with a recorded
    call up: `siaga telephony stop`, a restart, a crash), it never does, and the recording — evidence — would
    wait in the spool for ever. One untouched for ORPHAN_AFTER whose call is over (or unknown) is finished
    here: written to spool/metadata with a line saying so, then attached as any other, marked recovered (its
    last moments may be missing: what rtpengine had not yet written). A call still live is left alone (on hold,
    no packets flow)."""
    recovered = 0
    for tmp, meta in _orphans(settings, clock.now()):
        with unit_of_work(engine, write=False) as db:
            if _call_live(db, call_ref_of(meta.sip_call_id)):
                continue
        try:
            text = tmp.read_text(encoding="utf-8", errors="replace")
            target = spool(settings) / "metadata" / (tmp.name.removesuffix(".tmp") + ".txt")
            _write_atomically(target, f"{text.rstrip()}\n\n{audio.RECOVERED_MARK} {clock.now().isoformat()}\n"
                              .encode())
            tmp.unlink(missing_ok=True)
        except OSError:
            log.exception("orphaned recording %s could not be recovered; retried next tick", tmp)
            continue
        log.warning("recording %s: rtpengine never finished it (stopped mid-call?); recovered from its spool",
                    tmp.name)
        recovered += 1
    return recovered


def waiting(settings: Settings, now: datetime) -> tuple[int, float]:
    """Recordings rtpengine has finished that are not attached yet, and the age of the oldest (seconds):
    attaching runs every few seconds, so a backlog that grows or ages means the attacher is failing."""
    finished = _finished(settings)
    oldest = 0.0
    for meta in finished:
        try:
            oldest = max(oldest, now.timestamp() - meta.stat().st_mtime)
        except FileNotFoundError:  # attached meanwhile
            continue
    return len(finished), max(0.0, oldest)


def _clear_spool(meta_path: Path, meta: audio.Metadata | None, settings: Settings) -> None:
    if meta is not None:
        pcap = meta.pcap.resolve()
        if spool(settings) in pcap.parents:
            pcap.unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)


def attach_one(ctx: Ctx, meta_path: Path) -> Recording | None:
    """Attach one finished recording (None when it already was). The WAV is written before the row, so a
    row never names a file that was not there."""
    settings = ctx.settings
    meta = audio.read_metadata(meta_path)
    if ctx.db.scalar(select(Recording.id).where(Recording.source == meta.name)) is not None:
        return None
    ref = call_ref_of(meta.sip_call_id)
    call_id = ctx.db.scalar(select(Call.id).where(Call.external_ref == ref))
    if call_id is None:  # an operator's call to an agency (issue 17): a recording of that emergency call too
        call_id = ctx.db.scalar(select(AgencyCall.call_id).where(AgencyCall.sip_call_id == ref,
                                                                 AgencyCall.kind == "conference").limit(1))
    now = ctx.now()
    rec = Recording(source=meta.name, call_ref=ref, call_id=call_id, attached_at=now, started_at=meta.started_at,
                    ended_at=meta.ended_at, reason="", hold_reason="", legal_hold=False)
    day = (meta.started_at or now).strftime("%Y/%m/%d")
    stem = meta.name.removeprefix("rtpengine-meta-").removesuffix(".txt")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:180]
    try:
        decoded = audio.decode(meta)
    except audio.Unreadable as exc:
        rec.state, rec.reason = "unreadable", str(exc)[:500]
        # Keep what rtpengine wrote, beside the recordings, for whoever can read it.
        if meta.pcap.is_file() and spool(settings) in meta.pcap.resolve().parents:
            kept = service.root(settings) / "unreadable" / f"{safe}.pcap"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(meta.pcap, kept)
            rec.file_name = str(kept.relative_to(service.root(settings)))
            rec.media_type = "application/vnd.tcpdump.pcap"
            rec.size_bytes = kept.stat().st_size
            rec.sha256 = service.sha256_of(kept)
    else:
        if meta.recovered:
            rec.reason = RECOVERED_REASON
        relative = f"{day}/{safe}.wav"
        _write_atomically(service.root(settings) / relative, decoded.wav)
        rec.state, rec.file_name, rec.media_type = "ready", relative, "audio/wav"
        rec.size_bytes = len(decoded.wav)
        rec.sha256 = hashlib.sha256(decoded.wav).hexdigest()
        rec.duration_s = round(decoded.duration_s, 3)
        rec.started_at = decoded.first_packet_at or rec.started_at
        if rec.ended_at is None and rec.started_at is not None:  # recovered: up to the last packet written
            rec.ended_at = rec.started_at + timedelta(seconds=decoded.duration_s)
    ctx.db.add(rec)
    ctx.db.flush()
    ctx.audit("recording.attach", "recording", rec.id, {"call_id": call_id, "state": rec.state,
                                                         "sha256": rec.sha256, "duration_s": rec.duration_s,
                                                         "reason": rec.reason})
    if call_id is not None:
        _announce(ctx, rec, call_id)
    return rec


def _announce(ctx: Ctx, rec: Recording, call_id: int) -> None:
    """A recording of a call that belongs to an incident is an entry in its timeline (the centre's staff only:
    agencies cannot play recordings), which also tells an open call or incident page to show it at once."""
    incident_id = ctx.db.scalar(select(Call.incident_id).where(Call.id == call_id))
    if incident_id is None:
        return
    seconds = round(rec.duration_s or 0)
    key = "timeline.recording_ready" if rec.state == "ready" else "timeline.recording_unreadable"
    add_timeline(ctx, incident_id, "recording", data={"recording_id": rec.id, "call_id": call_id},
                 message=message(key, length=f"{seconds // 60}:{seconds % 60:02d}"), agencies=())


def link_unlinked(ctx: Ctx, limit: int = 200) -> int:
    """Recordings of calls the service learnt of after the recording was attached (degraded mode)."""
    linked = 0
    rows = ctx.db.execute(select(Recording.id, Call.id).join(Call, Call.external_ref == Recording.call_ref)
                          .where(Recording.call_id.is_(None)).limit(limit)).all()
    for rec_id, call_id in rows:
        ctx.db.execute(update(Recording).where(Recording.id == rec_id, Recording.call_id.is_(None))
                       .values(call_id=call_id, version=Recording.version + 1))
        ctx.audit("recording.link", "recording", rec_id, {"call_id": call_id})
        rec = ctx.db.get(Recording, rec_id)
        if rec is not None:
            _announce(ctx, rec, call_id)
        linked += 1
    return linked


@contextmanager
def _attach_lock(settings: Settings) -> Iterator[bool]:
    """One attacher at a time on this host (every `siaga serve` worker runs a ticker): the others skip."""
    folder = spool(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".attach.lock").open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def attach_step(engine: Engine, clock: Clock, settings: Settings) -> int:
    """The ticker's `recordings` job: attach what rtpengine finished, link what is now known."""
    if not settings.telephony_media:
        return 0
    with _attach_lock(settings) as mine:
        return _attach(engine, clock, settings) if mine else 0


def _attach(engine: Engine, clock: Clock, settings: Settings) -> int:
    done = 0
    try:
        recover_orphans(engine, clock, settings)
    except Exception:  # noqa: BLE001 - never stops attaching what rtpengine did finish
        log.exception("recovering orphaned recordings failed")
    for meta_path in _finished(settings)[:BATCH]:
        meta = None
        try:
            with unit_of_work(engine) as db:
                ctx = Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings)
                meta = audio.read_metadata(meta_path)
                if attach_one(ctx, meta_path) is not None:
                    done += 1
        except audio.Unreadable:
            log.exception("recording metadata %s unreadable; left in the spool", meta_path)
            continue
        except Exception:  # noqa: BLE001 - one bad file never stops the others (nor the ticker)
            log.exception("recording %s not attached; retried next tick", meta_path)
            continue
        _clear_spool(meta_path, meta, settings)
    with unit_of_work(engine) as db:
        done += link_unlinked(Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings))
    return done


def set_hold(ctx: Ctx, recording_id: int, data: HoldIn) -> Recording:
    rec = service.get(ctx.db, recording_id)
    if rec.version != data.version:
        raise Problem(409, "stale_version", current=rec.version)
    if rec.state == "deleted" and data.hold:
        raise Problem(409, "recording_deleted")
    rec.legal_hold = data.hold
    rec.hold_reason = data.reason.strip() if data.hold else ""
    rec.hold_by = ctx.actor.user_id if data.hold else None
    rec.hold_at = ctx.now() if data.hold else None
    ctx.db.flush()
    ctx.audit("recording.hold" if data.hold else "recording.release", "recording", rec.id,
              {"reason": rec.hold_reason, "call_id": rec.call_id})
    return rec


PLAY_SESSION = timedelta(minutes=10)


def played(ctx: Ctx, rec: Recording, *, download: bool, byte_range: str | None) -> None:
    """Each download, and each playback, audited. A player asks for the file many times (its first load,
    each seek, a reload: any byte range): one listener's requests for one recording within ten minutes of
    their audited playback are that playback; after it, a request is a new playback."""
    if not download:
        # A player's requests come in pairs: the second waits here for the first's entry (a row lock; SQLite
        # serialises writers anyway).
        ctx.db.execute(select(Recording.id).where(Recording.id == rec.id).with_for_update())
        since = ctx.now() - PLAY_SESSION
        recent = ctx.db.scalar(select(AuditEntry.seq).where(
            AuditEntry.action == "recording.play", AuditEntry.entity == "recording",
            AuditEntry.entity_id == str(rec.id), AuditEntry.actor_id == (ctx.actor.user_id or None),
            AuditEntry.at >= since).limit(1))
        if recent is not None:
            return
    ctx.audit("recording.download" if download else "recording.play", "recording", rec.id,
              {"call_id": rec.call_id, "range": byte_range or "", "sha256": rec.sha256})


def retention_batch(ctx: Ctx, limit: int = RETENTION_BATCH) -> tuple[dict[str, int], list[Path]]:
    """Mark the recordings older than SIAGA_RECORDING_RETENTION_DAYS deleted, except those on legal hold; the
    rows stay (hash, times, state `deleted`). One audit entry with the counts. Returns the counts and the
    files to remove once this is committed (a failed commit then leaves every file where it was)."""
    days = ctx.settings.recording_retention_days
    cutoff = ctx.now() - timedelta(days=days)
    old = (Recording.state != "deleted", Recording.attached_at < cutoff)
    due = list(ctx.db.scalars(select(Recording).where(*old, Recording.legal_hold.is_(False))
                              .order_by(Recording.id).limit(limit)))
    counts = {"deleted": 0, "held": int(ctx.db.scalar(select(func.count()).select_from(Recording)
                                                          .where(*old, Recording.legal_hold.is_(True))) or 0),
              "files_missing": 0}
    files: list[Path] = []
    for rec in due:
        path = (service.root(ctx.settings) / rec.file_name).resolve() if rec.file_name else None
        if path is not None and service.root(ctx.settings) in path.parents and path.is_file():
            files.append(path)
        else:
            counts["files_missing"] += 1
        rec.state, rec.deleted_at = "deleted", ctx.now()
        counts["deleted"] += 1
    ctx.db.flush()
    if counts["deleted"]:
        ctx.audit("recording.retention", "retention", cutoff.date().isoformat(),
                  {"cutoff": cutoff.isoformat(), "retention_days": days, **counts})
    return counts, files


def retention_step(engine: Engine, clock: Clock, settings: Settings) -> int:
    """The ticker's `recording_retention` job: one batch, its files removed after the commit."""
    with unit_of_work(engine) as db:
        counts, files = retention_batch(Ctx(db=db, actor=SYSTEM, clock=clock, settings=settings))
    for path in files:
        path.unlink(missing_ok=True)
    return counts["deleted"]
