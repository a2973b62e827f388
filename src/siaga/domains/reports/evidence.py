"""The evidence pack for the police: every call of one number in a period (times in the site's zone, durations,
outcomes, operators and their notes), the measures taken on the number, the callback attempts, and the
audit-chain hashes that prove the records were not altered — as HTML and as a PDF (WeasyPrint), or a ZIP of
the PDF and the caller's call recordings, the PDF listing each file's SHA-256. It says
when nuisance records were last anonymised by the retention purge (retention.py).

The number is shown in FULL: the pack is for the police. Producing one is role-limited (`measures.manage`)
and audited (`evidence.export`) by the callers of this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any

from jinja2 import Environment, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from siaga.core.audit import AuditEntry, verify_chain
from siaga.core.clock import SiteZone
from siaga.core.errors import invalid
from siaga.core.i18n import namespace, t, words
from siaga.domains.callers.models import CallbackAttempt
from siaga.domains.callers.retention import last_purge
from siaga.domains.calls.models import Call, CallerMeasure
from siaga.domains.calls.numbers import msisdn_variants, normalise_msisdn
from siaga.domains.recordings import service as recordings_service
from siaga.domains.regions.service import served_regency
from siaga.domains.reports.render import TEMPLATES, PdfUnavailable
from siaga.domains.users.models import User
from siaga.events.models import LedgerHead
from siaga.settings import Settings

MAX_DAYS = 366

def check_period(date_from: date, date_to: date) -> None:
    """[from, to) in days of the site's zone, at most 366 days; a 422 naming the field otherwise."""
    if date_to <= date_from:
        raise invalid("query.to", f"to ({date_to}) must be after from ({date_from}); the period is [from, to)",
                      "period_order")
    if (date_to - date_from).days > MAX_DAYS:
        raise invalid("query.to", f"an evidence pack covers at most {MAX_DAYS} days", "period_too_long")


def check_number(raw: str) -> str:
    number = normalise_msisdn(raw)
    if not number:
        raise invalid("path.number", "a withheld number has no evidence pack", "withheld")
    return number


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = max(0, round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


@dataclass
class CallRow:
    id: int
    number_as_received: str
    offered: str
    answered: str
    ended: str
    duration: str
    outcome: str
    operator: str
    notes: str
    hashes: list[tuple[int, str, str, str]] = field(default_factory=list)  # seq, action, at, chain hash


@dataclass
class Evidence:
    number: str
    period_from: date
    period_to: date
    generated_at: str
    generated_by: str
    lang: str
    calls: list[CallRow]
    measures: list[dict[str, str]]
    callbacks: list[dict[str, str]]
    chain_ok: bool
    chain_entries: int
    chain_problems: list[str]
    last_hash: str
    last_seq: int
    zone: SiteZone
    retention: str = ""  # what was anonymised and when (retention.py), in the pack's language
    site: str = ""  # the regency served, as the gazetteer names it: the pack's issuer
    # The ZIP variant: each recording put beside the PDF (its name in the ZIP, its file, hash, duration).
    recordings: list[dict[str, Any]] = field(default_factory=list)


def retention_note(db: Session, date_from: date, lang: str, retention_days: int | None, zone: SiteZone) -> str:
    """The pack says when nuisance records were anonymised, so a missing prank call is not mistaken for an
    altered record: the newest `retention.purge` audit entry (its time and cutoff)."""

    purge = last_purge(db)
    days = (purge or {}).get("retention_days") or retention_days
    rule = t("evidence.retention_rule", lang, days=days if days else "?")
    if purge is None:
        return rule + " " + t("evidence.retention_never", lang)
    text = rule + " " + t("evidence.retention_last", lang, at=zone.format(purge["at"]),
                          cutoff=zone.format(purge["cutoff"]))
    if zone.day_start(date_from) < purge["cutoff"]:
        text += " " + t("evidence.retention_overlap", lang)
    return text


def gather(db: Session, raw_number: str, date_from: date, date_to: date, now: datetime, lang: str = "id",
           generated_by: str = "system", retention_days: int | None = None, *, zone: SiteZone,
           recordings_of: Settings | None = None) -> Evidence:
    number = check_number(raw_number)
    check_period(date_from, date_to)
    lang = "en" if lang == "en" else "id"
    kinds, states = namespace("evidence.measure_kind", lang), namespace("evidence.measure_state", lang)
    results = namespace("callback_result", lang)
    regency = served_regency(db)
    site = regency.name if regency else ""
    w = words(lang, zone, site)
    start, end = zone.day_start(date_from), zone.day_start(date_to)
    variants = msisdn_variants(number)
    names = {u.id: u.username for u in db.scalars(select(User))}
    calls = db.scalars(select(Call).where(Call.caller_number.in_(variants), Call.offered_at >= start,
                                          Call.offered_at < end).order_by(Call.offered_at, Call.id)).all()
    hashes: dict[str, list[tuple[int, str, str, str]]] = {}
    ids = [str(c.id) for c in calls]
    for chunk in range(0, len(ids), 500):
        for e in db.scalars(select(AuditEntry).where(AuditEntry.entity == "call",
                                                     AuditEntry.entity_id.in_(ids[chunk:chunk + 500]))
                            .order_by(AuditEntry.seq)):
            hashes.setdefault(e.entity_id or "", []).append((e.seq, e.action, zone.format(e.at), e.hash))
    rows = []
    for c in calls:
        since = c.answered_at or c.offered_at
        seconds = (c.ended_at - since).total_seconds() if c.ended_at else None
        outcome = w.get(f"outcome_{c.outcome or 'unclassified'}", c.outcome or "—")
        rows.append(CallRow(id=c.id, number_as_received=c.caller_number, offered=zone.format(c.offered_at),
                            answered=zone.format(c.answered_at), ended=zone.format(c.ended_at),
                            duration=_duration(seconds), outcome=outcome,
                            operator=names.get(c.operator_id, "—") if c.operator_id else "—",
                            notes=c.notes or "", hashes=hashes.get(str(c.id), [])))

    def who(uid: int | None) -> str:
        return names.get(uid, "—") if uid else t("evidence.system", lang)

    measures = []
    for m in db.scalars(select(CallerMeasure).where(CallerMeasure.number == number)
                        .order_by(CallerMeasure.created_at, CallerMeasure.id)):
        measures.append({
            "id": str(m.id), "kind": kinds.get(m.kind, m.kind),
            "state": states.get(m.state, m.state), "reason": m.reason or "—",
            "legal_basis": m.legal_basis or "—",
            "created": f"{zone.format(m.created_at)} · {who(m.created_by)}",
            "decided": f"{zone.format(m.decided_at)} · {who(m.decided_by)}" if m.decided_at else "—",
            "expires": zone.format(m.expires_at),
            "ended": f"{zone.format(m.ended_at)} · {who(m.ended_by)}" if m.ended_at else "—",
            "note": m.note or ""})
    callbacks = [{"call_id": str(a.call_id), "at": zone.format(a.at),
                  "by": who(a.by_user),
                  "result": results.get(a.result, a.result), "note": a.note or ""}
                 for a in db.scalars(select(CallbackAttempt).where(CallbackAttempt.number.in_(variants),
                                                                   CallbackAttempt.at >= start,
                                                                   CallbackAttempt.at < end)
                                     .order_by(CallbackAttempt.at, CallbackAttempt.id))]
    chain = verify_chain(db)
    last = db.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    head = db.get(LedgerHead, 1)
    last_hash = last.hash if last is not None else (head.last_audit_hash if head else "")
    packed: list[dict[str, Any]] = []
    if recordings_of is not None:
        for rec in recordings_service.for_calls(db, [c.id for c in calls]):
            path = recordings_service.path_of(recordings_of, rec)
            state = recordings_service.state_now(recordings_of, rec)
            packed.append({"call_id": rec.call_id, "id": rec.id, "path": path if state == "ready" else None,
                           "name": f"rekaman/panggilan-{rec.call_id}-rekaman-{rec.id}.wav" if state == "ready"
                           else "—", "sha256": rec.sha256, "duration": _duration(rec.duration_s),
                           "state": state, "started": zone.format(rec.started_at),
                           "recovered": rec.recovered})

    return Evidence(recordings=packed, number=number, period_from=date_from, period_to=date_to,
                    generated_at=zone.format(now),
                    generated_by=generated_by, lang=lang, calls=rows, measures=measures, callbacks=callbacks,
                    chain_ok=chain.ok, chain_entries=chain.entries, chain_problems=chain.problems,
                    last_hash=last_hash, last_seq=last.seq if last is not None else 0, zone=zone,
                    retention=retention_note(db, date_from, lang, retention_days, zone), site=site)


_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
TEMPLATE = _env.from_string("""<!doctype html>
<html lang="{{ e.lang }}"><head><meta charset="utf-8"><title>{{ T.title }} {{ e.number }}</title>
<style>
@page { size: A4 landscape; margin: 14mm 12mm; @bottom-right { content: counter(page) " / " counter(pages);
  font-size: 8pt; } @bottom-left { content: "{{ T.title }} — {{ e.number }}"; font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 8.5pt; color: #111; }
h1 { font-size: 14pt; margin: 0 0 2mm; } h2 { font-size: 11pt; margin: 5mm 0 2mm; }
.org { font-size: 10pt; font-weight: bold; } dl { display: grid; grid-template-columns: 38mm auto; margin: 2mm 0; }
dt { font-weight: bold; } dd { margin: 0; } table { border-collapse: collapse; width: 100%; }
th, td { border: 0.4pt solid #888; padding: 1mm 1.2mm; vertical-align: top; text-align: left; }
th { background: #eee; } .hash { font-family: "DejaVu Sans Mono", monospace; font-size: 6.5pt;
  word-break: break-all; } .ok { color: #060; font-weight: bold; } .bad { color: #a00; font-weight: bold; }
.note { white-space: pre-wrap; }
</style></head><body>
<div class="org">{{ T.org }}</div>
<h1>{{ T.title }}</h1>
<dl>
<dt>{{ T.number }}</dt><dd><strong>{{ e.number }}</strong></dd>
<dt>{{ T.period }}</dt><dd>{{ e.period_from.strftime('%d-%m-%Y') }} 00:00 {{ e.zone.label }} —
 {{ e.period_to.strftime('%d-%m-%Y') }} 00:00 {{ e.zone.label }} ({{ T.period_note }})</dd>
<dt>{{ T.generated_at }}</dt><dd>{{ e.generated_at }}</dd>
<dt>{{ T.generated_by }}</dt><dd>{{ e.generated_by }}</dd>
<dt>{{ T.calls_n }}</dt><dd>{{ e.calls|length }}</dd>
</dl>
<p>{{ T.times_zone }}</p>
<p id="retention"><strong>{{ T.retention_title }}:</strong> {{ e.retention }}</p>

<h2>1. {{ T.calls }}</h2>
{% if e.calls %}<table><thead><tr><th>ID</th><th>{{ T.received_as }}</th><th>{{ T.offered }}</th>
<th>{{ T.answered }}</th><th>{{ T.ended }}</th><th>{{ T.duration }}</th><th>{{ T.outcome }}</th>
<th>{{ T.operator }}</th><th>{{ T.notes }}</th></tr></thead><tbody>
{% for c in e.calls %}<tr><td>{{ c.id }}</td><td>{{ c.number_as_received }}</td><td>{{ c.offered }}</td>
<td>{{ c.answered }}</td><td>{{ c.ended }}</td><td>{{ c.duration }}</td><td>{{ c.outcome }}</td>
<td>{{ c.operator }}</td><td class="note">{{ c.notes or '—' }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>{{ T.no_calls }}</p>{% endif %}

<h2>2. {{ T.measures }}</h2>
{% if e.measures %}<table><thead><tr><th>ID</th><th>{{ T.kind }}</th><th>{{ T.state }}</th><th>{{ T.reason }}</th>
<th>{{ T.legal_basis }}</th><th>{{ T.proposed_by }}</th><th>{{ T.decided_by }}</th><th>{{ T.expires }}</th>
<th>{{ T.ended_by }}</th></tr></thead><tbody>
{% for m in e.measures %}<tr><td>{{ m.id }}</td><td>{{ m.kind }}</td><td>{{ m.state }}</td>
<td class="note">{{ m.reason }}</td><td class="note">{{ m.legal_basis }}</td><td>{{ m.created }}</td>
<td>{{ m.decided }}</td><td>{{ m.expires }}</td><td>{{ m.ended }}{% if m.note %}<br>{{ m.note }}{% endif %}</td>
</tr>{% endfor %}</tbody></table>{% else %}<p>{{ T.no_measures }}</p>{% endif %}
<p>{{ T.never_block }}</p>

<h2>3. {{ T.callbacks }}</h2>
{% if e.callbacks %}<table><thead><tr><th>{{ T.call }}</th><th>{{ T.at }}</th><th>{{ T.by }}</th>
<th>{{ T.result }}</th><th>{{ T.notes }}</th></tr></thead><tbody>
{% for a in e.callbacks %}<tr><td>{{ a.call_id }}</td><td>{{ a.at }}</td><td>{{ a.by }}</td><td>{{ a.result }}</td>
<td class="note">{{ a.note or '—' }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p>{{ T.no_callbacks }}</p>{% endif %}

{% if e.recordings %}<h2>3a. {{ T.recordings }}</h2>
<table><thead><tr><th>{{ T.call }}</th><th>{{ T.offered }}</th><th>{{ T.duration }}</th><th>{{ T.recording_file }}</th>
<th>SHA-256</th></tr></thead><tbody>
{% for r in e.recordings %}<tr><td>{{ r.call_id }}</td><td>{{ r.started }}</td><td>{{ r.duration }}</td>
<td>{{ r.name }}{% if r.state != "ready" %} ({{ r.state }}){% endif %}
{%- if r.recovered %} ({{ T.recording_recovered }}){% endif %}</td><td class="hash">{{ r.sha256 }}</td></tr>
{% endfor %}</tbody></table>{% endif %}

<h2>4. {{ T.integrity }}</h2>
<p>{{ T.chain_status }}:
{% if e.chain_ok %}<span class="ok">{{ T.intact }}</span> — {{ e.chain_entries }} {{ T.entries_checked }}
{% else %}<span class="bad">{{ T.broken }}</span> — {{ e.chain_problems|length }} {{ T.problems }}{% endif %}</p>
{% if not e.chain_ok %}<ul>{% for p in e.chain_problems %}<li>{{ p }}</li>{% endfor %}</ul>{% endif %}
<p>{{ T.last_hash }} (#{{ e.last_seq }}): <span class="hash">{{ e.last_hash }}</span></p>
<table><thead><tr><th>{{ T.call }}</th><th>{{ T.seq }}</th><th>{{ T.action }}</th><th>{{ T.at }}</th>
<th>{{ T.chain_hash }}</th></tr></thead><tbody>
{% for c in e.calls %}{% for seq, action, at, h in c.hashes %}<tr><td>{{ c.id }}</td><td>{{ seq }}</td>
<td>{{ action }}</td><td>{{ at }}</td><td class="hash">{{ h }}</td></tr>{% endfor %}{% endfor %}
</tbody></table>
<h2>5. {{ T.how_title }}</h2>
<p>{{ T.how_1 }}</p><p>{{ T.how_2 }}</p><p>{{ T.how_3 }}</p>
</body></html>""")

def evidence_html(db: Session, number: str, date_from: date, date_to: date, now: datetime, lang: str = "id",
                  generated_by: str = "system", retention_days: int | None = None, *, zone: SiteZone,
                  recordings_of: Settings | None = None) -> str:
    return _render(gather(db, number, date_from, date_to, now, lang, generated_by, retention_days, zone=zone,
                          recordings_of=recordings_of), zone)


def _render(e: Evidence, zone: SiteZone) -> str:
    texts = {k: v.replace("{tz_long}", zone.long_label).replace("{site}", e.site)
             for k, v in namespace("evidence", e.lang).items() if "." not in k}
    return TEMPLATE.render(e=e, T=texts)


def evidence_pdf(db: Session, number: str, date_from: date, date_to: date, now: datetime, lang: str = "id",
                 generated_by: str = "system", retention_days: int | None = None, *, zone: SiteZone) -> bytes:

    return _pdf(evidence_html(db, number, date_from, date_to, now, lang, generated_by, retention_days, zone=zone))


def evidence_zip(db: Session, number: str, date_from: date, date_to: date, now: datetime, lang: str = "id",
                 generated_by: str = "system", retention_days: int | None = None, *, zone: SiteZone,
                 settings: Settings, target: IO[bytes]) -> Evidence:
    """The pack with the caller's recordings: a ZIP of the PDF (which lists each recording's file and SHA-256)
    and the recordings themselves, written to `target` (a file: recordings can be large)."""
    import zipfile

    e = gather(db, number, date_from, date_to, now, lang, generated_by, retention_days, zone=zone,
               recordings_of=settings)
    pdf = _pdf(_render(e, zone))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("bukti-112.pdf", pdf)
        for r in e.recordings:
            if r["path"] is not None:
                z.write(r["path"], r["name"])
    return e


def _pdf(page: str) -> bytes:
    try:
        from weasyprint import HTML
    except OSError as exc:  # cffi could not load Pango / HarfBuzz / fontconfig
        raise PdfUnavailable(f"PDF needs Debian's Pango and HarfBuzz libraries ({exc}): run "
                             "`tools/system_deps.sh --lib weasyprint` as root") from exc
    return HTML(string=page, base_url=str(TEMPLATES)).write_pdf()


def default_period(now: datetime, zone: SiteZone) -> tuple[date, date]:
    """The last 30 days (in the site's zone) up to and including today."""
    today = zone.today(now)
    return today - timedelta(days=30), today + timedelta(days=1)
