/* Siaga 112 consoles: the live store every screen shares, the API helper, and formatting.
   The store starts from /api/v1/snapshot and follows /api/v1/events (SSE) from the snapshot's last event,
   listening for every kind in REF.event_kinds (events/kinds.py EventKind). Events carry the whole entity as
   it stands after the change; apply() keeps exactly what live/snapshot.py apply_event() keeps, so a console
   shows what a fresh snapshot would. An incident's timeline, the operators' lines and the SIP edge are not
   in the store: the pages showing them read them again when their events arrive (the incident and field
   pages, the telephony bar); apply_event() holds them too, so the guard proves those events as well. */
"use strict";

const REF = JSON.parse(document.getElementById("siaga-ref").textContent);
const W = REF.words;
const S = REF.status;
const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
const EVENT_KINDS = REF.event_kinds;  // events/kinds.py EventKind: every kind the server may emit
const INCIDENT_OPEN = ["new", "dispatched", "on_scene", "resolved"];
const INCIDENT_ACTIVE = ["new", "dispatched", "on_scene"];  // incidents/models.py INCIDENT_ACTIVE_STATUSES
const ASSIGNMENT_DONE = ["cleared", "declined", "cancelled", "stood_down"];
const UNASSIGNED_DEADLINE_S = 120;
const CALL_LIVE = ["offered", "ringing", "answered"];
const STAFF_ROLES = ["call_taker", "dispatcher", "supervisor", "admin"];
// A field error's words by its code (the catalogue's field_error_<code>); other codes show the server's message.
// With the bound broken when there is one ("paling banyak 40 karakter"): text is refused, never cut.
const fieldError = (code, limit) => {
  const words = W["field_error_" + code];
  return words && limit != null ? words.replace("{limit}", String(limit)) : words;
};

// A field's name as the reader knows it (the catalogue's fieldname_<leaf>), so a message never reads
// "Wajib diisi" without saying what must be filled: "Alasan: Wajib diisi".
const fieldLabel = name => {
  const leaf = String(name || "").split(".").filter(p => !/^\d+$/.test(p)).pop() || "";
  const words = W["fieldname_" + leaf] || leaf.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
};
// One line for a failed request: the problem, then each field's error under the field's name.
const problemSummary = (detail, errors) => {
  const named = Object.entries(errors || {}).map(([f, m]) => fieldLabel(f) + ": " + m);
  return detail + (named.length ? " — " + named.join("; ") : "");
};

const Siaga = {
  clockOffset: Date.parse(REF.server_now) - Date.now(),
  now() { return Date.now() + this.clockOffset; },
  isStaff: STAFF_ROLES.includes(REF.me.role),

  byCode: Object.fromEntries(REF.categories.map(c => [c.code, c])),
  agencies: Object.fromEntries(REF.agencies.map(a => [a.id, a])),
  regionsByKode: Object.fromEntries(REF.regions.map(r => [r.kode, r])),

  categoryName(code) { const c = this.byCode[code]; return c ? c.name : (code || ""); },
  agencyName(id) { const a = this.agencies[id]; return a ? a.short_name : "#" + id; },
  regionName(kode) {
    const r = this.regionsByKode[kode];
    if (!r) return kode || "";
    const parent = this.regionsByKode[r.parent];
    return parent && parent.level === "kecamatan" ? r.name + ", " + parent.name : r.name;
  },
  /* Where to send someone: coordinates, a desa, a patokan or an address. An incident may be created without
     (an emergency is never refused), but every screen says so until it is set. */
  hasLocation(i) {
    return !!i && (i.lat != null || !!i.kode_wilayah || i.landmark_id != null || !!(i.address_text || "").trim());
  },
  kecamatanOf(kode) {
    let r = this.regionsByKode[kode];
    while (r && r.level !== "kecamatan") r = this.regionsByKode[r.parent];
    return r ? r.kode : null;
  },
  word(group, key) { return (S[group] && S[group][key]) || key || ""; },
  /* an agency's own name for a status (e.g. Damkar's "Menuju Lokasi"), in Indonesian only */
  unitStatus(unit) {
    const labels = REF.lang === "id" ? (this.agencies[unit.agency_id] || {}).labels || {} : {};
    return labels[unit.status] || this.word("unit", unit.status);
  },

  /* 27-11-2026 08:00:00 WIB in the site's zone (REF.zone, from SIAGA_TIMEZONE), whatever the browser's own */
  fmtTime(iso) {
    if (!iso) return "—";
    const parts = new Intl.DateTimeFormat("en-GB", {timeZone: REF.zone.name, day: "2-digit", month: "2-digit",
      year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"})
      .formatToParts(new Date(iso));
    const p = Object.fromEntries(parts.map(x => [x.type, x.value]));
    return `${p.day}-${p.month}-${p.year} ${p.hour}:${p.minute}:${p.second} ${REF.zone.label}`;
  },
  fmtClock(iso) { return this.fmtTime(iso).slice(11, 19); },
  seconds(iso, now) { return Math.max(0, Math.floor(((now || this.now()) - Date.parse(iso)) / 1000)); },
  fmtDuration(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const pad = n => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
  },
  /* an assignment's deadline as the board shows it: "terima 0:42" or "TERLAMBAT terima 0:12" */
  dueText(a, now) {
    if (!a.due_at) return "";
    const left = Math.floor((Date.parse(a.due_at) - (now || this.now())) / 1000);
    const step = W["step_" + a.due_step] || a.due_step;
    return left >= 0 ? `${step} ${this.fmtDuration(left)}` : `${W.late_by} ${step} ${this.fmtDuration(-left)}`;
  },
  isLate(a, now) { return !!a.due_at && Date.parse(a.due_at) < (now || this.now()); },
  /* What the board highlights and the wallboard counts. Assignments carry their deadline from the server
     (deadline policies per agency and priority); an incident no agency has been sent to yet is flagged
     after UNASSIGNED_DEADLINE_S. */
  assignmentOverdue(a) {
    if (ASSIGNMENT_DONE.includes(a.state)) return a.state === "declined" && a.escalation_level > 0;
    return this.isLate(a) || a.escalation_level > 0;
  },
  incidentOverdue(i) {
    if (!INCIDENT_ACTIVE.includes(i.status)) return false;  // resolved: every agency stood down, nothing is late
    if (i.status === "new" && !i.assignments.length) return this.seconds(i.created_at) > UNASSIGNED_DEADLINE_S;
    return i.assignments.some(a => this.assignmentOverdue(a));
  },
  incidentEscalated(i) {
    return INCIDENT_ACTIVE.includes(i.status) &&
      i.assignments.some(a => a.escalation_level > 0 && !["cleared", "cancelled", "stood_down"].includes(a.state));
  },
  fmtDistance(m) { return m >= 1000 ? (m / 1000).toFixed(1) + " km" : Math.round(m) + " m"; },

  /* fetch the JSON API; never throws: {ok, status, data, problem, errors: {field: message}, summary}, where
     summary is the problem's words followed by each field's error under the field's name. A save (any
     method but GET) that cannot reach the server — no answer at all, or a proxy's 502/503/504 while the
     process behind it is stopping or gone — raises the "cannot save" banner of every console
     (Live.saveBlocked); the screens keep what was typed (they clear a field only after its save succeeded).
     The next save that reaches the server, or the stream connecting again, lowers it. */
  async api(method, url, body, headers) {
    const h = {"Accept": "application/json", "Accept-Language": REF.lang, "X-CSRF-Token": CSRF};
    if (body !== undefined) h["Content-Type"] = "application/json";
    Object.assign(h, headers || {});
    const save = method !== "GET" && method !== "HEAD";
    const reached = yes => { if (save && window.Live) window.Live.saveBlocked = !yes; };
    let response;
    try {
      response = await fetch(url, {method, headers: h, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (err) {
      reached(false);
      return {ok: false, status: 0, data: null, problem: {detail: W.error_network}, errors: {}, summary: W.error_network};
    }
    const unreachable = [502, 503, 504].includes(response.status);
    reached(!unreachable);
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (unreachable && !(data && data.detail)) {
      return {ok: false, status: response.status, data, problem: {detail: W.error_network}, errors: {}, summary: W.error_network};
    }
    if (response.status === 401) { window.location.href = "/?next=" + encodeURIComponent(location.pathname); }
    if (response.ok) return {ok: true, status: response.status, data, problem: null, errors: {}, summary: ""};
    const errors = {};
    for (const e of (data && data.errors) || []) {
      const field = String(e.field || "").replace(/^(body|query|path)\./, "");
      errors[field] = fieldError(e.code, e.limit) || e.message;
    }
    const problem = data || {detail: W.error_generic};
    if (!problem.detail) problem.detail = problem.title || W.error_generic;
    return {ok: false, status: response.status, data, problem, errors, summary: problemSummary(problem.detail, errors)};
  },
  idempotencyKey() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).slice(0, 64);
  },
  /* keep what the user typed across reloads and failed saves */
  draft(key, value) {
    const k = "siaga.draft." + REF.me.user_id + "." + key;
    if (value === undefined) { try { return JSON.parse(localStorage.getItem(k) || "null"); } catch (e) { return null; } }
    if (value === null) localStorage.removeItem(k); else localStorage.setItem(k, JSON.stringify(value));
  },
  haversine(lat1, lon1, lat2, lon2) {
    const R = 6371008.8, rad = Math.PI / 180;
    const dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    const a = Math.sin(dlat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dlon / 2) ** 2;
    return 2 * R * Math.asin(Math.sqrt(a));
  },
  /* text as a search compares it: lower case, accents off */
  fold(s) { return (s || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, ""); },
  /* places a call-taker can type: desa/kelurahan, kecamatan, patokan; accent- and case-insensitive. With
     `near` ({lat, lon}: where the caller is thought to be), equally good matches come nearest first — the
     "Masjid Agung" of the caller's town before the one 100 km away. */
  searchPlaces(q, limit, near) {
    const norm = s => this.fold(s);
    q = norm(q).trim();
    if (q.length < 2) return [];
    const out = [];
    for (const r of REF.regions) {
      if (norm(r.name).includes(q)) out.push({kind: r.level, label: this.regionName(r.kode), kode: r.kode,
        lat: r.lat, lon: r.lon, approx: r.approx, landmark_id: null, starts: norm(r.name).startsWith(q)});
    }
    for (const lm of REF.landmarks) {
      if (norm(lm.name).includes(q)) out.push({kind: "patokan", label: lm.name + (lm.kode ? " — " +
        this.regionName(lm.kode) : ""), kode: lm.kode, lat: lm.lat, lon: lm.lon, approx: lm.approx,
        landmark_id: lm.id, name: lm.name, starts: norm(lm.name).startsWith(q)});
    }
    const far = p => (near && near.lat != null && p.lat != null ? this.haversine(near.lat, near.lon, p.lat, p.lon)
      : Infinity);
    for (const p of out) p.distance_m = far(p);
    out.sort((a, b) => (b.starts - a.starts) || (a.distance_m - b.distance_m) || a.label.localeCompare(b.label));
    return out.slice(0, limit || 8);
  },
};

/* ---- the live store ---------------------------------------------------------------------------- */
const LiveStore = {
  state: "connecting",
  incidents: {}, units: {}, calls: {},
  last: 0,
  tick: Date.now(),
  version: 0,          // bumps on every applied change, for screens that recompute on change
  listeners: [],
  source: null,
  retryMs: 1000,
  saveBlocked: false,  // the last save could not reach the server (Siaga.api): the banner says so
  on(fn) { this.listeners.push(fn); },

  keep(event) {
    const p = event.payload;
    if (event.entity === "incident") {
      return INCIDENT_OPEN.includes(p.status) &&
        (Siaga.isStaff || p.assignments.some(a => a.agency_id === REF.me.agency_id));
    }
    if (event.entity === "unit") return p.active && (Siaga.isStaff || p.agency_id === REF.me.agency_id);
    if (event.entity === "call") return CALL_LIVE.includes(p.status) && REF.me.role !== "agency_operator";
    return false;
  },
  apply(event) {
    if (event.id <= this.last) return;
    const tables = {incident: "incidents", unit: "units", call: "calls"};
    const table = tables[event.entity];
    if (table) {
      const key = String(event.entity_id);
      if (this.keep(event)) this[table][key] = event.payload;
      else delete this[table][key];
    }
    this.last = event.id;
    this.version++;
    for (const fn of this.listeners) { try { fn(event); } catch (err) { console.error(err); } }
  },
  async loadSnapshot() {
    const r = await Siaga.api("GET", "/api/v1/snapshot");
    if (!r.ok) throw new Error("snapshot " + r.status);
    this.incidents = r.data.incidents; this.units = r.data.units; this.calls = r.data.calls;
    this.last = r.data.last_event_id;
    this.version++;
    for (const fn of this.listeners) { try { fn({kind: "snapshot"}); } catch (err) { console.error(err); } }
  },
  async connect() {
    if (this.source) { this.source.close(); this.source = null; }
    try {
      await this.loadSnapshot();
    } catch (err) {
      this.state = "reconnecting";
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 15000);
      return;
    }
    const es = new EventSource("/api/v1/events?after=" + this.last);
    this.source = es;
    es.onopen = () => { this.state = "live"; this.retryMs = 1000; this.saveBlocked = false; };
    es.onerror = () => {
      // The browser retries by itself, resuming with Last-Event-ID; if it gave up, start again from a snapshot.
      this.state = "reconnecting";
      if (es.readyState === EventSource.CLOSED) {
        setTimeout(() => this.connect(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 15000);
      }
    };
    const handler = msg => {
      let event;
      try { event = JSON.parse(msg.data); } catch (err) { return; }
      this.apply(event);
      if (this.state !== "live") this.state = "live";
    };
    for (const kind of EVENT_KINDS) es.addEventListener(kind, handler);
    es.addEventListener("message", handler);
    es.addEventListener("reset", msg => {
      this.state = "reconnecting";
      let reason = "";
      try { reason = JSON.parse(msg.data).reason; } catch (err) { /* an old server: reconnect at once */ }
      // A stopping server: reconnect after a moment, when it no longer takes connections (another does).
      if (reason === "server_stopping") { es.close(); setTimeout(() => this.connect(), 300 + Math.random() * 500); }
      else this.connect();
    });
  },
  /* open incidents, newest first */
  incidentList() { return Object.values(this.incidents).sort((a, b) => b.id - a.id); },
  unitList() { return Object.values(this.units).sort((a, b) => a.callsign.localeCompare(b.callsign)); },
  callList() { return Object.values(this.calls).sort((a, b) => Date.parse(a.offered_at) - Date.parse(b.offered_at)); },
};

document.addEventListener("alpine:init", () => {
  Alpine.store("live", LiveStore);
  const live = Alpine.store("live");
  window.Live = live;  // the reactive store: changes made through it redraw the screen
  live.connect();
  setInterval(() => { live.tick = Date.now(); }, 1000);
  // htmx fragments that follow an incident reload when it changes
  live.on(event => {
    if (event.entity === "incident" || event.entity === "timeline") {
      const id = event.entity === "incident" ? event.entity_id : event.payload.incident_id;
      document.body.dispatchEvent(new CustomEvent("siaga:incident-" + id, {bubbles: true}));
    }
  });
});
window.Siaga = Siaga;
