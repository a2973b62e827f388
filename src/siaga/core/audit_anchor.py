"""Anchoring the audit chain outside the database (issue #16).

A checkpoint is the ledger head (seq, hash) signed with HMAC-SHA256 under a key the database never holds
(SIAGA_AUDIT_KEY_FILE, made by `siaga audit keygen`), appended as one JSON line to a witness file outside
the database (SIAGA_AUDIT_WITNESS), opened O_APPEND and fsynced: whole lines, so two processes writing at
once never interleave; a sequence may repeat. `verify_anchor` then finds what the chain alone cannot: a cut
tail with the head rolled back, a rehashed chain, a wiped log, and a forged witness line."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from siaga.core.audit import AuditEntry
from siaga.core.clock import Clock
from siaga.db.engine import unit_of_work
from siaga.events.models import LedgerHead
from siaga.settings import Settings

log = logging.getLogger(__name__)
EVERY = timedelta(minutes=5)
_next_run: weakref.WeakKeyDictionary[Engine, datetime] = weakref.WeakKeyDictionary()  # as retention's


def keygen(path: str) -> None:
    """A new 32-byte key, hex, in a file only its owner may read; refuses to overwrite an existing key."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")


def load_key(path: str) -> bytes:
    with open(path) as f:
        return bytes.fromhex(f.read().strip())


def _mac(key: bytes, seq: int, hash_: str, at: str) -> str:
    return hmac.new(key, f"siaga-audit-checkpoint:{seq}:{hash_}:{at}".encode(), hashlib.sha256).hexdigest()


def checkpoint(session: Session, key: bytes, witness: str, now: datetime) -> tuple[int, str]:
    """Sign the current ledger head and append it to the witness. Returns (seq, hash)."""
    head = session.get(LedgerHead, 1)
    seq, hash_ = (head.last_audit_seq, head.last_audit_hash) if head is not None else (0, "0" * 64)
    at = now.isoformat()
    line = json.dumps({"seq": seq, "hash": hash_, "at": at, "mac": _mac(key, seq, hash_, at)},
                      separators=(",", ":")) + "\n"
    fd = os.open(witness, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())  # one write of a whole line: appends never interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    return seq, hash_


@dataclass
class AnchorResult:
    checkpoints: int = 0
    first_covered: str | None = None  # time of the first valid checkpoint
    covered_seq: int = 0  # highest witnessed sequence
    problems: list[str] = field(default_factory=list)


def verify_anchor(session: Session, key: bytes, witness: str) -> AnchorResult:
    result = AnchorResult()
    try:
        with open(witness) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    head = session.get(LedgerHead, 1)
    head_seq = head.last_audit_seq if head is not None else 0
    entries = session.query(AuditEntry).count()
    for n, raw in enumerate(lines, 1):
        try:
            cp = json.loads(raw)
            seq, hash_, at, mac = int(cp["seq"]), str(cp["hash"]), str(cp["at"]), str(cp["mac"])
        except (ValueError, KeyError, TypeError):
            result.problems.append(f"witness line {n} is not a checkpoint (forged or damaged)")
            continue
        if not hmac.compare_digest(mac, _mac(key, seq, hash_, at)):
            result.problems.append(f"witness line {n}: signature does not match (forged)")
            continue
        result.checkpoints += 1
        result.first_covered = result.first_covered or at
        result.covered_seq = max(result.covered_seq, seq)
        if seq == 0:
            continue
        entry = session.get(AuditEntry, seq)
        if entry is None:
            if entries == 0:
                result.problems.append(f"the audit log is empty but checkpoint {at} witnessed entry {seq} (wiped)")
            elif seq > head_seq:
                result.problems.append(
                    f"checkpoint {at} witnessed entry {seq} but the log ends at {head_seq} (tail cut)")
            else:
                result.problems.append(f"entry {seq}, witnessed at {at}, is missing (deleted)")
        elif entry.hash != hash_:
            result.problems.append(f"entry {seq} no longer has the hash witnessed at {at} (chain rewritten)")
    # One message per kind is enough for an operator; keep them in order, without repeats.
    result.problems = list(dict.fromkeys(result.problems))
    return result


def checkpoint_step(engine: Engine, clock: Clock, settings: Settings) -> int:
    """The ticker's job: one checkpoint every EVERY when a key and a witness are configured. Several
    processes may each write one (whole lines; a repeated sequence is fine). A failure is logged, never
    raised into the ticker."""
    if not (settings.audit_key_file and settings.audit_witness):
        return 0
    now = clock.now()
    due = _next_run.get(engine)
    if due is not None and now < due:
        return 0
    _next_run[engine] = now + EVERY
    try:
        with unit_of_work(engine) as db:
            checkpoint(db, load_key(settings.audit_key_file), settings.audit_witness, now)
    except Exception:
        log.exception("audit checkpoint failed; retrying in %s", EVERY)
        return 0
    return 1
