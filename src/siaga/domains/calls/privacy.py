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


# Digit groups joined the ways a number is typed: "0812-3456-7890", "0812 3456 7890", "0812.3456.7890",
# "(0766) 21234", "+62 812 3456 7890". Not a colon or a slash: "14:30" and "27/11/2026" are no phone numbers.
_DIGIT_RUN = re.compile(r"(?<![\w+])(?:\+\s?)?\(?\d+(?:(?:\)\s?|[ \t.\-]\(?|\s?\()\d+)*\)?")
_GROUP = re.compile(r"\d+")
_LONGEST = 15  # E.164: no phone number has more digits


def _starts_number(group: str, plus: bool) -> bool:
    """Whether a phone number can begin with this digit group: +62…, 62…, 08…, a landline's area code
    (0766, 021) or a mobile number typed without its 0 (812…). A group of two digits ("05" of a date)
    begins none but 62, which must then reach ten digits."""
    return plus or group.startswith("62") or (len(group) >= 3 and group[0] in "08")


def _least_digits(group: str, plus: bool) -> int:
    if plus or group.startswith("62"):
        return 10  # 62, then at least eight digits
    return 9  # (0766) 21234; 0812 345 678 typed without its 0


def _phone_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, stop, digits) of every phone number in the text, in order (see mask_numbers_in_text)."""
    spans: list[tuple[int, int, str]] = []
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_GROUP.finditer(run.group()))
        i = 0
        while i < len(groups):
            plus = i == 0 and run.group().lstrip("(").startswith("+")
            first = groups[i].group()
            if not _starts_number(first, plus):
                i += 1
                continue
            if len(first) > _LONGEST:
                end: int | None = i + 1  # longer than any number: masked whole all the same
            else:
                digits, j, end = 0, i, None
                while j < len(groups) and digits + len(groups[j].group()) <= _LONGEST:
                    if digits >= 10 and len(groups[j].group()) <= 2:
                        break  # "0812 3456 7890 3 orang": the 3 is the count of people
                    digits += len(groups[j].group())
                    j += 1
                    if digits >= _least_digits(first, plus):
                        end = j
            if end is None:
                i += 1
                continue
            start = run.start() + (0 if plus else groups[i].start())
            if not plus and start > run.start() and text[start - 1] == "(":
                start -= 1  # "(0766) 21234": the area code's parenthesis goes with it
            spans.append((start, run.start() + groups[end - 1].end(), "".join(g.group() for g in groups[i:end])))
            i = end
    return spans


def mask_numbers_in_text(text: str) -> str:
    """Free text with every phone number in it masked as mask_number masks the structured one:
    'hubungi 0812-3456-7890 (Budi)' → 'hubungi ****890 (Budi)'. Ordinary numbers stay: '3 orang',
    'Jl. Sudirman 12', '14:30', '27/11/2026', 'BM 1234 AB', 'RT 03 RW 05'. When in doubt it masks: a
    number a reader should not see is worse than a house number shown as ****012."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    out: list[str] = []
    last = 0
    for start, stop, digits in _phone_spans(text):
        out.append(text[last:start])
        out.append(mask_number(digits))
        last = stop
    out.append(text[last:])
    return "".join(out)


def unmask_edited_text(edited: str, stored: str) -> str:
    """What a reader who saw `stored` masked sends back, edited, with each masked number they left in it
    put back as it was stored: a dispatcher who corrects a word in a description must not erase the caller's
    number from the record by saving the ****890 they were shown. A masked form that matches no number of
    the stored text stays as sent."""
    originals: dict[str, list[str]] = {}
    for start, stop, digits in _phone_spans(stored or ""):
        originals.setdefault(mask_number(digits), []).append(stored[start:stop])
    if not originals:
        return edited
    return re.sub(r"\*{4}\d{3}", lambda m: originals[m.group()].pop(0) if originals.get(m.group()) else m.group(),
                  edited)


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
    return call.model_copy(update={"caller_number": masked(getattr(call, "caller_number", "")),
                                   "notes": mask_numbers_in_text(getattr(call, "notes", ""))})


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
    return _masked_call(payload)


def _masked_call(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "caller_number": masked(payload.get("caller_number", "")),
            "notes": mask_numbers_in_text(payload.get("notes") or "")}


# What people type about an incident, as it reaches a reader who sees numbers masked (the snapshot, the
# stream and the REST API alike): the description, the outcome note, an agency's reason (declined), a search
# sector's note. The address and the patokan stay as typed: they say where to go.
_INCIDENT_TEXTS = ("description", "outcome_note")


def _masked_incident(payload: dict[str, Any]) -> dict[str, Any]:
    out = {**payload, **{k: mask_numbers_in_text(payload.get(k) or "") for k in _INCIDENT_TEXTS}}
    out["assignments"] = [{**a, "reason": mask_numbers_in_text(a.get("reason") or "")}
                          for a in payload.get("assignments") or []]
    out["sectors"] = [{**x, "note": mask_numbers_in_text(x.get("note") or "")} for x in payload.get("sectors") or []]
    return out


def incident_payload_for(who: Principal, payload: dict[str, Any]) -> dict[str, Any]:
    """An incident as a dict (the snapshot) as this reader may see it."""
    return payload if sees_full_numbers(who) else _masked_incident(payload)


def incident_for(who: Principal, incident: M) -> M:
    """An IncidentOut (or NearbyIncidentOut) as this reader may see it: phone numbers typed into its free
    text masked for a reader without numbers.reveal, as the structured caller number is."""
    if sees_full_numbers(who):
        return incident
    texts = _masked_incident(incident.model_dump(include={*_INCIDENT_TEXTS, "assignments", "sectors"}))
    return incident.model_copy(update={
        **{k: texts[k] for k in _INCIDENT_TEXTS},
        "assignments": [a.model_copy(update={"reason": t["reason"]})
                        for a, t in zip(getattr(incident, "assignments", []), texts["assignments"], strict=True)],
        "sectors": [x.model_copy(update={"note": t["note"]})
                    for x, t in zip(getattr(incident, "sectors", []), texts["sectors"], strict=True)]})


def incidents_for(who: Principal, incidents: list[M]) -> list[M]:
    return [incident_for(who, i) for i in incidents]


def sector_for(who: Principal, sector: M) -> M:
    if sees_full_numbers(who):
        return sector
    return sector.model_copy(update={"note": mask_numbers_in_text(getattr(sector, "note", ""))})


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
    """A timeline entry for a reader who sees numbers masked: a phone number typed into its note (and so into
    its text) masked. A `call_linked` entry written as prose long ago carries the caller's number as its text,
    and so as its note; one with a code holds the number masked already."""
    if entry.get("kind") != "call_linked" or entry.get("code"):
        return {**entry, "text": mask_numbers_in_text(entry.get("text") or ""),
                "note": mask_numbers_in_text(entry.get("note") or "")}
    return {**entry, "text": _linked_text(entry.get("text", "")), "note": ""}


def timeline_for(who: Principal, entry: dict[str, Any]) -> dict[str, Any]:
    """A timeline entry (as a dict: the snapshot, the stream) as this reader may see it — the rule of
    `timeline_entries_for`, which the REST API uses."""
    return entry if sees_full_numbers(who) else _masked_entry(entry)


def timeline_entries_for(who: Principal, entries: list[M]) -> list[M]:
    if sees_full_numbers(who):
        return entries
    return [e.model_copy(update={k: v for k, v in _masked_entry(e.model_dump(include={"kind", "code", "text", "note"}))
                                 .items() if k in ("text", "note")}) for e in entries]


def _carries_number(event: dict[str, Any]) -> bool:
    """Events whose payload may hold a phone number: a call's, and anything people type about an incident."""
    return event["entity"] in ("call", "timeline", "incident")


def _masked_copy(event: dict[str, Any]) -> dict[str, Any]:
    payload = dict(event["payload"])
    if event["entity"] == "call":
        payload = _masked_call(payload)
    elif event["entity"] == "incident":
        payload = _masked_incident(payload)
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
