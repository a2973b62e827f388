"""The only writers of network locations outside the call itself: an AML fix becomes a location of the
caller's call. The fix goes to the live call from that number, else to the most recent call from it in the
last 24 hours; it is a new row beside the others (it never replaces the location an operator chose), and
the consoles hear `call.updated`.

When no call from that number is known yet (the AML SMS or post can outrun the SIP INVITE), the fix is not
thrown away: it is kept in the audit log as `aml.unmatched` (the number, the parsed location) and the API
answers 202. calls.actions.attach_waiting_fixes adopts such fixes when the call is recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from siaga.core.context import Ctx
from siaga.domains.calls import service as calls_service
from siaga.domains.calls.actions import UNMATCHED_FIX, _add_location, already_attached, announce_call
from siaga.domains.calls.models import CALL_LIVE_STATUSES, Call
from siaga.domains.calls.numbers import msisdn_variants, normalise_msisdn
from siaga.domains.location import schemas
from siaga.domains.location.aml import AmlFix
from siaga.events.kinds import EventKind

MATCH_WINDOW = timedelta(hours=24)  # a fix for a call older than this is not that call's


def fix_out(fix: AmlFix) -> schemas.AmlFixOut:
    return schemas.AmlFixOut(
        kind=fix.kind, version=fix.version, caller_number=fix.caller_number, emergency_number=fix.emergency_number,
        lat=fix.lat, lon=fix.lon, radius_m=fix.radius_m, located_at=fix.located_at, method=fix.method,
        confidence=fix.confidence, length_ok=fix.length_ok, authenticated=fix.authenticated,
        no_location=fix.no_location, valid=fix.valid, invalid_reason=fix.invalid_reason)


def find_call_for(ctx: Ctx, normalised: str) -> Call | None:
    """The live call from this number (newest first), else its most recent call of the last 24 hours."""
    variants = msisdn_variants(normalised)
    if not variants:
        return None
    base = select(Call).where(Call.caller_number.in_(variants)).order_by(Call.offered_at.desc(), Call.id.desc())
    live = ctx.db.scalar(base.where(Call.status.in_(CALL_LIVE_STATUSES)).limit(1).with_for_update())
    if live is not None:
        return live
    return ctx.db.scalar(base.where(Call.offered_at >= ctx.now() - MATCH_WINDOW).limit(1).with_for_update())


def _summary(fix: AmlFix, via: str, number: str) -> dict[str, Any]:
    # Device identifiers (IMSI, IMEI) stay out of the audit log and the events: the number is the key.
    return {"via": via, "number": number, "kind": fix.kind, "version": fix.version, "lat": fix.lat, "lon": fix.lon,
            "radius_m": fix.radius_m, "located_at": fix.located_at.isoformat() if fix.located_at else None,
            "method": fix.method, "valid": fix.valid, "invalid_reason": fix.invalid_reason,
            "length_ok": fix.length_ok, "authenticated": fix.authenticated}


def ingest_aml(ctx: Ctx, fix: AmlFix, *, via: str, sender: str = "") -> schemas.AmlIngestOut:
    """Attach an AML fix to the caller's call (`sender`: the SMS's originating number, for SMS fixes that
    carry none). Never refuses a fix: one without a matching call is kept in the audit log."""
    number = fix.caller_number or sender.strip()
    normalised = normalise_msisdn(number)
    loc = fix.to_location()
    summary = _summary(fix, via, number)
    call = find_call_for(ctx, normalised)
    if call is None:
        ctx.audit(UNMATCHED_FIX, "caller", normalised or None, {**summary, "location": loc.model_dump(mode="json")})
        note = ("no call from this number yet: the fix is kept and attached when the call is recorded"
                if normalised else "the AML message names no caller number: the fix is kept in the audit log only")
        return schemas.AmlIngestOut(attached=False, fix=fix_out(fix), note=note)
    if already_attached(ctx, call, loc):
        return schemas.AmlIngestOut(attached=True, duplicate=True, call_id=call.id,
                                    call=calls_service.call_out(ctx.db, call), fix=fix_out(fix))
    _add_location(ctx, call, loc)
    ctx.audit("aml.attach", "call", call.id, summary)
    out = announce_call(ctx, call, EventKind.CALL_UPDATED)
    return schemas.AmlIngestOut(attached=True, call_id=call.id, call=out, fix=fix_out(fix))


