"""Who receives a caller's full phone number. One rule for the REST API, the snapshot and the event stream:

- call-takers and supervisors (the holders of `numbers.reveal`) and the telephony bridge (which sent the
  number) get full numbers;
- anyone else (dispatcher, admin, agency operator) gets them masked to the last three digits
  (`mask_number`: '081234567890' → '****890') — except on a call they are handling
  themselves (they are its operator, e.g. a dispatcher taking an overflow call on the call-taker screen);
- so, but for their own calls, such a reader never receives a full number they did not send themselves
  (the caller history echoes the number it was asked about).

The screens go one step further: outside the call-taker's own screen every number is *shown* masked, and a
holder of `numbers.reveal` reveals one with a click that is audited (`caller.number.reveal`, who, why,
which call or measure; see actions.reveal_number). The evidence pack for the police (supervisors only,
audited as `evidence.export`) keeps full numbers. Pure functions: no database.

A timeline entry `call_linked` is written without the full number (`linked_call_text`): the timeline is
append-only and goes into exports. Entries written before that hold the number itself as their text, and
are masked on read like any other number."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel

from siaga.core.authz import TELEPHONY, Principal
from siaga.core.i18n import message

# What the retention purge writes instead of a number (normalise_msisdn reads it as withheld, so an
# anonymised call never joins anyone's history, measures or risk hint).
ANONYMISED = "anonymised"
_MASKED_KEY = "_masked"  # the masked copy of an event, made once per process and shared by every stream
LINKED_CALL = "panggilan"  # how the text of a `call_linked` entry written as prose (before codes) began

M = TypeVar("M", bound=BaseModel)


def mask_number(number: str | None) -> str:
    """'081234567890' → '****890': only the last three digits are kept, the length is not revealed; a
    number of three digits or fewer, or a withheld one, becomes '***' or ''."""
    digits = re.sub(r"\D", "", number or "")
    if not digits:
        return ""
    if len(digits) <= 3:
        return "***"
    return "****" + digits[-3:]


def sees_full_numbers(who: Principal, operator_id: int | None = None) -> bool:
    if who.can("numbers.reveal") or who.role == TELEPHONY:
        return True
    return operator_id is not None and who.user_id != 0 and operator_id == who.user_id


def masked(number: str | None) -> str:
    if number == ANONYMISED:
        return ANONYMISED
    return mask_number(number)


def call_for(who: Principal, call: M) -> M:
    """A CallOut (or any model with caller_number and operator_id) as this reader may see it."""
    if sees_full_numbers(who, getattr(call, "operator_id", None)):
        return call
    return call.model_copy(update={"caller_number": masked(getattr(call, "caller_number", ""))})


def calls_for(who: Principal, calls: list[M]) -> list[M]:
    return [call_for(who, c) for c in calls]


def numbered_for(who: Principal, item: M) -> M:
    """MeasureOut and CallbackItem carry the caller's number as `number`."""
    if sees_full_numbers(who):
        return item
    return item.model_copy(update={"number": masked(getattr(item, "number", ""))})


def history_for(who: Principal, history: M) -> M:
    """A CallerHistoryOut: `number` is what the reader asked with; the stored forms are masked."""
    if sees_full_numbers(who):
        return history
    calls = [c.model_copy(update={"caller_number": masked(c.caller_number)})
             for c in getattr(history, "calls", [])]
    return history.model_copy(update={"normalised": masked(getattr(history, "normalised", "")), "calls": calls})


def call_payload_for(who: Principal, payload: dict[str, Any]) -> dict[str, Any]:
    if sees_full_numbers(who, payload.get("operator_id")):
        return payload
    return {**payload, "caller_number": masked(payload.get("caller_number", ""))}


def linked_call_message(call_id: int, number: str | None) -> dict[str, Any]:
    """What a `call_linked` timeline entry stores: the call by its id and the number masked ('panggilan #12 ·
    ****890' / 'call #12 · ****890'), never the full number (the entry's data holds the call id). A number
    with no digits to show (withheld, too short) is written without the id: 'panggilan · nomor disembunyikan'."""
    shown = masked(number)
    if any(ch.isdigit() for ch in shown):
        return message("timeline.call_linked", call_id=call_id, number=shown)
    if shown:
        return message("timeline.call_linked_masked", number=shown)
    return message("timeline.call_linked_withheld")


def _linked_text(text: str) -> str:
    """A `call_linked` text (before codes) for a reader without numbers.reveal: one written as 'panggilan #12 ·
    ****890' is already masked; an older one is the caller's number itself."""
    return text if text.startswith(LINKED_CALL) else masked(text)


def _masked_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A timeline entry `call_linked` written as prose long ago carries the caller's number as its text, and
    so as its note (what was typed); one with a code holds the number masked already."""
    if entry.get("kind") != "call_linked" or entry.get("code"):
        return entry
    return {**entry, "text": _linked_text(entry.get("text", "")), "note": ""}


def timeline_for(who: Principal, entry: dict[str, Any]) -> dict[str, Any]:
    """A timeline entry (as a dict: the snapshot, the stream) as this reader may see it — the rule of
    `timeline_entries_for`, which the REST API uses."""
    return entry if sees_full_numbers(who) else _masked_entry(entry)


def timeline_entries_for(who: Principal, entries: list[M]) -> list[M]:
    if sees_full_numbers(who):
        return entries
    return [e.model_copy(update={"text": _linked_text(getattr(e, "text", "")), "note": ""})
            if getattr(e, "kind", "") == "call_linked" and not getattr(e, "code", None) else e for e in entries]


def _carries_number(event: dict[str, Any]) -> bool:
    return event["entity"] == "call" or (event["entity"] == "timeline"
                                         and (event.get("payload") or {}).get("kind") == "call_linked")


def _masked_copy(event: dict[str, Any]) -> dict[str, Any]:
    payload = dict(event["payload"])
    if event["entity"] == "call":
        payload["caller_number"] = masked(payload.get("caller_number", ""))
    else:
        payload = _masked_entry(payload)
    body = {k: event[k] for k in ("id", "at", "kind", "entity", "entity_id")}
    body["payload"] = payload
    data = json.dumps(body, separators=(",", ":"))
    copy = {**body, "audience": event.get("audience")}
    copy["sse"] = f"id: {event['id']}\nevent: {event['kind']}\ndata: {data}\n\n"
    return copy


def event_for(who: Principal, event: dict[str, Any]) -> dict[str, Any]:
    """The event as this reader receives it on the stream (events/stream.py) — the same rule as the REST
    API and the snapshot, so snapshot + events still equals a fresh snapshot for every console."""
    if not _carries_number(event):
        return event
    operator = event["payload"].get("operator_id") if event["entity"] == "call" else None
    if sees_full_numbers(who, operator):
        return event
    copy = event.get(_MASKED_KEY)
    if copy is None:
        copy = event[_MASKED_KEY] = _masked_copy(event)
    return copy
