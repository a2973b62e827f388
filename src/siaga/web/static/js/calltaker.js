/* The call-taker's screen: take a call (A), find its category by typing its name, place it (desa,
   kecamatan, patokan or a click on the map), answer the guided questions, see possible duplicates, create
   the incident or link the call to one (Ctrl+Enter), record the outcome, close the call. What is typed is
   kept per call in localStorage until it is saved, so a failed save or a reload loses nothing. */
"use strict";

function emptyIncidentForm() {
  return {category_code: "", subcategory_code: "", priority: null, lat: null, lon: null, approx: false,
    kode_wilayah: null, landmark_id: null, address_text: "", patokan: "", description: "", answers: {}};
}

function callTaker() {
  return {
    callId: null, history: null, form: emptyIncidentForm(), questions: [], suggested: null,
    priorityTouched: false, places: [], placeQuery: "", placeIndex: 0,
    categoryQuery: "", categoryOptions: [], categoryIndex: 0, nearby: [], errors: {}, formError: "",
    placeAt: null, placeAtSeq: 0,
    busy: false, outcome: "", closeError: "", manualNumber: "", queueError: "", idemKey: null, notice: "",
    map: null, held: {}, drawnVersion: -1, summaries: {}, callbackList: [], callbackResult: {},
    correcting: false, correctBase: null, conflict: "", ctPlan: null,  // correcting the incident just created
    checklist: {asked_key_press: false, listened_background: false, callback_tried: false, location_checked: false},

    init() {
      // A caller who hangs up before the operator has finished leaves the call on this screen until its
      // outcome is recorded: the live store drops ended calls, this screen holds on to its own.
      Live.on(event => {
        const p = event.payload;
        if (event.entity !== "call" || !p || p.operator_id !== REF.me.user_id) return;
        if (!CALL_LIVE.includes(p.status) && !p.outcome) this.held[String(p.id)] = p;
        else delete this.held[String(p.id)];
      });
      this.map = new SiagaMap(document.getElementById("map"), {onPick: (lat, lon) => this.pick(lat, lon)});
      this.$watch("$store.live.version", () => this.refresh());
      this.refresh();
      this.loadUnfinished();
      this.loadCallbacks();
      setInterval(() => this.loadCallbacks(), 30000);
      Live.on(event => { if (event.entity === "call" && event.payload && event.payload.outcome) this.loadCallbacks(); });
      // An admin changed the questions of the category being asked: ask the saved ones from now on.
      // the plan of the call's incident follows its changes (a correction here or anywhere else)
      Live.on(event => {
        const call = this.call();
        if (event.entity === "incident" && call && call.incident_id === event.entity_id) this.loadPlan();
      });
      Live.on(event => {
        if (event.kind === "question.changed" && event.payload && event.payload.category_code === this.form.category_code) this.loadQuestions();
      });
    },
    /* after a reload: my calls that ended (caller hung up) before I recorded their outcome */
    async loadUnfinished() {
      const r = await Siaga.api("GET", "/api/v1/calls?mine_unfinished=true&limit=20");
      if (!r.ok) return;
      for (const c of r.data) if (!CALL_LIVE.includes(c.status)) this.held[String(c.id)] = c;
      this.refresh();
    },
    live() { return this.$store.live; },
    /* oldest first; a number under a lower_priority measure waits behind newer calls for at most its
       penalty (20 s), then takes its real place again — the same rule as domains/calls/queue.py */
    waiting() {
      const now = this.live().tick + Siaga.clockOffset;
      const key = c => {
        const at = Date.parse(c.offered_at);
        return c.queue_penalty_s && now - at < c.queue_penalty_s * 1000 ? at + c.queue_penalty_s * 1000 : at;
      };
      return this.live().callList().filter(c => c.status === "offered" || c.status === "ringing" ||
        (c.status === "answered" && c.operator_id == null)).sort((a, b) => (key(a) - key(b)) || (a.id - b.id));
    },
    /* "5 panggilan iseng dalam 7 hari; …" and the prank-risk hint for each ringing call, fetched once per
       call (keyed by the call, so it works for a reader who sees the number masked). The hint is a hint:
       nothing on this screen orders, hides or delays a call by it. */
    callerInfo(c) {
      if (!c) return null;
      const k = String(c.id);
      if (!(k in this.summaries)) {
        this.summaries[k] = {summary: "…", risk: null};
        Siaga.api("GET", `/api/v1/calls/${c.id}/caller-summary`).then(r => {
          this.summaries[k] = r.ok ? {summary: r.data.summary, risk: r.data.risk} : {summary: "", risk: null};
        });
      }
      return this.summaries[k];
    },
    summaryOf(c) { const i = this.callerInfo(c); return i ? i.summary : ""; },
    riskOf(c) { const i = this.callerInfo(c); return i && i.risk && i.risk.available ? i.risk : null; },
    riskText(r) { return r ? Math.round(r.score * 100) + "% (" + (r.flagged ? W.risk_high : W.risk_low) + ")" : ""; },
    riskQuality(r) {
      if (!r || r.test_precision == null) return "";
      const pct = v => v == null ? "—" : Math.round(v * 100) + "%";
      return W.risk_quality.replace("{precision}", pct(r.test_precision)).replace("{recall}", pct(r.test_recall))
        .replace("{genuine}", pct(r.test_genuine_flagged_share));
    },
    measureWords(c) { return (c.measures || []).map(m => W["measure_" + m] || m).join(" · "); },
    async loadCallbacks() {
      const r = await Siaga.api("GET", "/api/v1/callbacks");
      if (r.ok) this.callbackList = r.data;
    },
    async recordCallback(item) {
      const result = this.callbackResult[item.number];
      if (!result) return;
      const r = await Siaga.api("POST", `/api/v1/calls/${item.last_call_id}/callbacks`, {result});
      if (!r.ok) { this.queueError = r.summary; return; }
      this.callbackResult[item.number] = "";
      this.loadCallbacks();
    },
    mine() {
      const live = this.live().callList().filter(c => c.status === "answered" && c.operator_id === REF.me.user_id);
      return live.concat(Object.values(this.held));
    },
    call() {
      if (!this.callId) return null;
      return this.live().calls[String(this.callId)] || this.held[String(this.callId)] || null;
    },
    refresh() {
      // Keep the current call while it is still ours (an older event may briefly show it unclaimed);
      // move on only when it is gone or another operator has it.
      const mine = this.mine();
      const current = this.call();
      if (!current || (current.operator_id != null && current.operator_id !== REF.me.user_id)) {
        this.select(mine.length ? mine[0].id : null);
      }
      if (this.drawnVersion !== this.live().version) {
        this.drawnVersion = this.live().version;
        this.map.setIncidents(this.live().incidentList(), i => window.open("/incident/" + i.id, "_blank"));
      }
      this.map.setCaller(this.call() ? this.call().locations : []);
    },
    select(id) {
      if (id === this.callId) return;
      this.callId = id;
      this.history = null; this.errors = {}; this.formError = ""; this.closeError = ""; this.nearby = [];
      this.questions = []; this.suggested = null;
      this.correcting = false; this.correctBase = null; this.conflict = ""; this.ctPlan = null;
      const draft = id ? Siaga.draft("call." + id) : null;
      this.form = Object.assign(emptyIncidentForm(), draft ? draft.form : {});
      this.placeQuery = draft ? draft.placeQuery || "" : "";
      this.showCategory();
      this.idemKey = draft ? draft.idemKey || null : null;
      this.priorityTouched = draft ? !!draft.priorityTouched : false;
      this.outcome = draft ? draft.outcome || "" : "";
      if (!id) return;
      const call = this.call();
      if (call && call.incident_id) this.loadPlan();
      if (call && this.form.lat == null) {
        const loc = (call.locations || []).find(l => l.valid && l.lat != null);
        if (loc) { this.form.lat = loc.lat; this.form.lon = loc.lon; }
      }
      this.placeAt = null;
      if (this.form.lat != null) this.locate(this.form.lat, this.form.lon, !this.form.kode_wilayah);
      this.map.setCaller(call ? call.locations : []);
      if (this.form.lat != null) { this.map.setPick(this.form.lat, this.form.lon); this.map.focus(this.form.lat, this.form.lon); }
      this.loadHistory();
      if (this.form.category_code) this.loadQuestions(false);
      this.fetchNearby();
    },
    saveDraft() {
      if (!this.callId) return;
      Siaga.draft("call." + this.callId, {form: this.form, placeQuery: this.placeQuery, idemKey: this.idemKey,
        priorityTouched: this.priorityTouched, outcome: this.outcome});
    },
    hotkey(e) {
      const tag = (e.target.tagName || "").toLowerCase();
      const typing = ["input", "select", "textarea"].includes(tag);
      if (!typing && !e.ctrlKey && !e.altKey && !e.metaKey && (e.key === "a" || e.key === "A")) {
        const next = this.waiting()[0];
        if (next) { e.preventDefault(); this.claim(next); }
      } else if (e.ctrlKey && e.key === "Enter" && this.call() && !this.call().incident_id) {
        e.preventDefault(); this.createIncident();
      }
    },
    async claim(c) {
      this.queueError = "";
      const r = await Siaga.api("POST", `/api/v1/calls/${c.id}/claim`, {version: c.version});
      if (!r.ok) { this.queueError = r.summary; return; }
      this.live().calls[String(r.data.id)] = r.data;
      this.select(r.data.id);
      this.$nextTick(() => { const el = document.getElementById("f-category"); if (el) el.focus(); });
    },
    async manualCall() {
      this.queueError = "";
      const r = await Siaga.api("POST", "/api/v1/calls", {caller_number: this.manualNumber.trim(), answered: true},
        {"Idempotency-Key": Siaga.idempotencyKey()});
      if (!r.ok) { this.queueError = r.summary; return; }
      this.manualNumber = "";
      this.live().calls[String(r.data.id)] = r.data;
      this.select(r.data.id);
      this.$nextTick(() => { const el = document.getElementById("f-category"); if (el) el.focus(); });
    },
    async loadHistory() {
      const call = this.call();
      const number = call ? call.caller_number : "";
      if (!number) { this.history = {calls: [], counts: {}, open_incidents: []}; return; }
      const id = this.callId;
      const r = await Siaga.api("GET", "/api/v1/callers/" + encodeURIComponent(number) +
        "/history?exclude_call_id=" + id);
      if (id !== this.callId || !r.ok) return;
      const counts = Object.fromEntries(Object.entries(r.data.outcomes || {}).filter(([, n]) => n > 0));
      this.history = {calls: r.data.calls || [], counts, last30: r.data.calls_last_30_days || 0,
        open_incidents: r.data.open_incidents || []};
    },
    topCategories() { return REF.categories.filter(c => !c.parent); },
    /* The category combobox: what is typed finds a category or a subcategory by any part of its name in the
       reader's language ("kebakaran", "rumah", "fire"), case and accents ignored; names that start with it
       first, then categories before subcategories. ↑/↓ move, Enter picks (a subcategory picks its category
       too), Escape closes the list; ↓ on an empty field lists every category. */
    categoryMatches(query) {
      const q = Siaga.fold(query).trim();
      if (!q) return this.topCategories();
      const rank = c => {
        const name = Siaga.fold(c.name);
        const at = name.indexOf(q);
        if (at < 0) return null;
        return [at === 0 ? 0 : /[\s/(]/.test(name[at - 1]) ? 1 : 2, c.parent ? 1 : 0];
      };
      return REF.categories.map(c => ({c, r: rank(c)})).filter(x => x.r)
        .sort((a, b) => (a.r[0] - b.r[0]) || (a.r[1] - b.r[1]) || a.c.name.localeCompare(b.c.name))
        .slice(0, 12).map(x => x.c);
    },
    categorySearch() {
      this.categoryOptions = this.categoryQuery.trim() ? this.categoryMatches(this.categoryQuery) : [];
      this.categoryIndex = 0;
    },
    categoryMove(d) {
      if (!this.categoryOptions.length) { this.categoryOptions = this.categoryMatches(this.categoryQuery); this.categoryIndex = 0; return; }
      this.categoryIndex = (this.categoryIndex + d + this.categoryOptions.length) % this.categoryOptions.length;
      this.$nextTick(() => {
        const el = document.getElementById("category-opt-" + this.categoryIndex);
        if (el) el.scrollIntoView({block: "nearest"});
      });
    },
    categoryChoose(idx) { const c = this.categoryOptions[idx]; if (c) this.categoryPick(c); },
    categoryPick(c) {
      const top = c.parent || c.code;
      if (top !== this.form.category_code) { this.form.category_code = top; this.categoryChanged(); }
      if (c.parent) { this.form.subcategory_code = c.code; this.saveDraft(); }
      this.showCategory();
    },
    /* the field shows the chosen category's name (after a pick, a draft, a correction) */
    showCategory() {
      this.categoryQuery = this.form.category_code ? Siaga.categoryName(this.form.category_code) : "";
      this.categoryOptions = [];
    },
    categoryClose() { if (this.categoryOptions.length) this.showCategory(); },
    /* leaving the field: a name typed in full counts as picked; an emptied field clears the category;
       anything else goes back to the chosen one (or stays, to be picked, when none is chosen yet) */
    categoryBlur() {
      this.categoryOptions = [];
      const q = Siaga.fold(this.categoryQuery).trim();
      if (!q) {
        if (this.form.category_code) { this.form.category_code = ""; this.categoryChanged(); }
        return;
      }
      const exact = REF.categories.find(c => Siaga.fold(c.name) === q);
      if (exact) this.categoryPick(exact);
      else if (this.form.category_code) this.showCategory();
    },
    subcategories() { return REF.categories.filter(c => c.parent && c.parent === this.form.category_code); },
    categoryChanged() {
      this.form.subcategory_code = "";
      this.form.answers = {};
      this.errors.category_code = "";
      this.loadQuestions(true);
      this.fetchNearby();
      this.saveDraft();
    },
    async loadQuestions(resetPriority) {
      const code = this.form.category_code;
      this.questions = [];
      if (!code) { this.suggested = null; return; }
      const r = await Siaga.api("GET", `/api/v1/categories/${encodeURIComponent(code)}/questions`);
      if (code !== this.form.category_code) return;
      this.questions = r.ok ? (Array.isArray(r.data) ? r.data : r.data.questions || []) : [];
      // an answer to a question no longer asked (retired meanwhile) would be refused with the incident
      if (r.ok) {
        const asked = new Set(this.questions.map(q => q.id));
        for (const id of Object.keys(this.form.answers)) if (!asked.has(id)) delete this.form.answers[id];
      }
      this.answered(resetPriority);
    },
    optionValue(o) { return typeof o === "string" ? o : (o.value || o.id); },
    optionLabel(o) { return typeof o === "string" ? o : (REF.lang === "id" ? (o.text_id || o.label_id || o.value) : (o.text_en || o.label_en || o.value)); },
    answered(resetPriority) {
      const cat = Siaga.byCode[this.form.category_code];
      let p = cat ? cat.priority : null;
      for (const q of this.questions) {
        const a = this.form.answers[q.id];
        if (a === undefined || a === "") continue;
        const on = q.raises_on === false || q.raises_on === "no" ? "no" : "yes";
        if (q.kind === "yesno" && q.raises_priority_to && a === on) p = Math.min(p || 4, q.raises_priority_to);
        for (const o of q.options || []) {
          if (typeof o === "object" && this.optionValue(o) === a && o.raises_priority_to) p = Math.min(p || 4, o.raises_priority_to);
        }
      }
      this.suggested = p;
      if (resetPriority === true) this.priorityTouched = false;
      if (!this.priorityTouched) this.form.priority = p;
      this.saveDraft();
    },
    /* where the caller is thought to be: the point on the form, else the call's first valid fix */
    nearCaller() {
      if (this.form.lat != null) return {lat: this.form.lat, lon: this.form.lon};
      const call = this.call();
      const loc = call && (call.locations || []).find(l => l.valid && l.lat != null);
      return loc ? {lat: loc.lat, lon: loc.lon} : null;
    },
    placeSearch() { this.places = Siaga.searchPlaces(this.placeQuery, 8, this.nearCaller()); this.placeIndex = 0; },
    placeMove(d) { if (this.places.length) this.placeIndex = (this.placeIndex + d + this.places.length) % this.places.length; },
    placeChoose(idx) {
      const p = this.places[idx];
      if (!p) return;
      this.form.kode_wilayah = p.kind === "patokan" ? p.kode : p.kode;
      this.form.landmark_id = p.landmark_id;
      if (p.kind === "patokan" && !this.form.patokan) this.form.patokan = p.name;
      if (p.lat != null) { this.form.lat = p.lat; this.form.lon = p.lon; this.form.approx = !!p.approx; }
      this.placeQuery = p.label;
      this.places = [];
      this.map.setPick(this.form.lat, this.form.lon, p.label);
      if (p.lat != null) this.locate(p.lat, p.lon, false);
      this.map.focus(this.form.lat, this.form.lon, 13);
      this.fetchNearby();
      this.saveDraft();
    },
    pick(lat, lon) {
      if (!this.call() || (this.call().incident_id && !this.correcting)) return;
      this.form.lat = lat; this.form.lon = lon; this.form.approx = false;
      this.map.setPick(lat, lon);
      this.locate(lat, lon, true);
      this.fetchNearby();
      this.saveDraft();
    },
    // Where the point is, from the official boundaries: the desa (filled in when `fill`: a map click or
    // the caller's fix), kecamatan, nearest patokan; in the sea, the nearest desa and how far.
    async locate(lat, lon, fill) {
      const seq = ++this.placeAtSeq;
      const r = await Siaga.api("GET", "/api/v1/regions/at?" + new URLSearchParams({lat, lon}));
      if (seq !== this.placeAtSeq || !r.ok) return;  // a later click won, or no answer: keep what is shown
      this.placeAt = r.data;
      if (fill) {
        this.form.kode_wilayah = r.data.desa ? r.data.desa.kode : null;
        this.saveDraft();
      }
    },
    async fetchNearby() {
      if (this.form.lat == null || !this.callId) { this.nearby = []; return; }
      const q = new URLSearchParams({lat: this.form.lat, lon: this.form.lon, radius_m: 3000});
      if (this.form.category_code) q.set("category_code", this.form.category_code);
      const r = await Siaga.api("GET", "/api/v1/incidents/nearby?" + q);
      if (r.ok) this.nearby = Array.isArray(r.data) ? r.data : (r.data.items || []);
    },
    linkedLabel() {
      const call = this.call();
      if (!call || !call.incident_id) return "";
      const inc = this.live().incidents[String(call.incident_id)];
      return W.call_linked + " " + (inc ? inc.number : "#" + call.incident_id) + (this.notice ? " — " + this.notice : "");
    },
    async createIncident() {
      if (this.busy || !this.call()) return;
      this.errors = {}; this.formError = "";
      if (!this.form.category_code) {
        this.errors = {category_code: fieldError("missing")};
        document.getElementById("f-category").focus();
        return;
      }
      const answers = {};
      const kinds = Object.fromEntries(this.questions.map(q => [q.id, q.kind]));
      for (const [k, v] of Object.entries(this.form.answers)) {
        if (v === "" || v == null || !(k in kinds)) continue;
        answers[k] = kinds[k] === "yesno" ? v === "yes" : v;
      }
      const body = {category_code: this.form.category_code, subcategory_code: this.form.subcategory_code || null,
        priority: this.form.priority || null, lat: this.form.lat, lon: this.form.lon,
        kode_wilayah: this.form.kode_wilayah, landmark_id: this.form.landmark_id,
        address_text: this.form.address_text, patokan: this.form.patokan, description: this.form.description,
        call_id: this.callId};
      if (Object.keys(answers).length) body.answers = answers;
      if (!this.idemKey) { this.idemKey = Siaga.idempotencyKey(); this.saveDraft(); }
      this.busy = true;
      const r = await Siaga.api("POST", "/api/v1/incidents", body, {"Idempotency-Key": this.idemKey});
      this.busy = false;
      if (!r.ok) {
        this.errors = r.errors;
        const shown = ["category_code", "priority", "lat", "lon", "kode_wilayah", "address_text", "patokan", "description"];
        const other = Object.fromEntries(Object.entries(r.errors).filter(([f]) => !shown.includes(f)));
        this.formError = problemSummary(r.problem.detail, other);
        if (r.status === 422 && r.problem.code === "idempotency_mismatch") this.idemKey = null;
        this.saveDraft();
        return;
      }
      this.afterIncident(r.data, W.incident_created + " " + r.data.number);
    },
    afterIncident(incident, notice) {
      this.live().incidents[String(incident.id)] = incident;
      const call = this.call();
      if (call && this.held[String(call.id)]) this.held[String(call.id)] = Object.assign({}, call, {incident_id: incident.id});
      else if (call) this.live().calls[String(call.id)] = Object.assign({}, call, {incident_id: incident.id});
      this.notice = notice;
      this.idemKey = null;
      if (!this.outcome) this.outcome = "emergency";
      this.saveDraft();
      this.loadPlan();
      this.$nextTick(() => { const el = document.getElementById("f-outcome"); if (el) el.focus(); });
    },
    /* the response plan's proposal for the call's incident, each agency with the reason (the answer) */
    async loadPlan() {
      const call = this.call();
      if (!call || !call.incident_id) { this.ctPlan = null; return; }
      const r = await Siaga.api("GET", `/api/v1/incidents/${call.incident_id}/proposal`);
      if (r.ok && this.call() && this.call().incident_id === r.data.incident_id) this.ctPlan = r.data;
    },
    /* correct the incident of this call (static/js/correct.js): the form shows it as it now stands */
    async startCorrection() {
      const call = this.call();
      if (!call || !call.incident_id) return;
      const r = await Siaga.api("GET", `/api/v1/incidents/${call.incident_id}`);
      if (!r.ok) { this.formError = r.summary; return; }
      this.correctBase = r.data;
      Object.assign(this.form, SiagaCorrect.formOf(r.data));
      this.priorityTouched = true;  // the incident's priority stands unless changed here
      this.errors = {}; this.formError = ""; this.conflict = "";
      this.correcting = true;
      this.placeQuery = "";
      this.showCategory();
      await this.loadQuestions();
      this.loadPlan();
    },
    async saveCorrection() {
      if (this.busy || !this.correctBase) return;
      const body = SiagaCorrect.changes(this.correctBase, this.form, this.questions);
      if (!Object.keys(body).length) { this.formError = W.no_change; return; }
      this.errors = {}; this.formError = ""; this.conflict = "";
      this.busy = true;
      const r = await Siaga.api("PATCH", `/api/v1/incidents/${this.correctBase.id}`,
        Object.assign({version: this.correctBase.version}, body));
      this.busy = false;
      if (!r.ok) {
        if (r.status === 409) { this.conflict = SiagaCorrect.conflictText(r.data); return; }
        this.errors = r.errors;
        this.formError = r.problem.detail;
        return;
      }
      this.live().incidents[String(r.data.id)] = r.data;
      this.correcting = false;
      this.correctBase = null;
      this.notice = W.correction_saved;
      this.saveDraft();
      this.loadPlan();
    },
    /* someone changed the incident meanwhile: take the latest version, keep what was typed here */
    async reloadCorrection() {
      const r = await Siaga.api("GET", `/api/v1/incidents/${this.correctBase.id}`);
      if (!r.ok) { this.formError = r.summary; return; }
      const category = this.form.category_code;
      Object.assign(this.form, SiagaCorrect.merge(this.correctBase, this.form, r.data));
      this.correctBase = r.data;
      this.conflict = "";
      this.showCategory();
      if (category !== this.form.category_code) await this.loadQuestions();
    },
    async link(incident) {
      if (!this.call()) return;
      const r = await Siaga.api("POST", `/api/v1/incidents/${incident.id}/calls`, {call_id: this.callId});
      if (!r.ok) { this.formError = r.summary; return; }
      this.afterIncident(r.data, W.call_linked + " " + r.data.number);
    },
    silentKey(call) {  // the caller pressed the silent-caller key (5): someone is there who cannot speak
      return !!(call && (call.keys_pressed || "").includes(REF.silent_caller_key));
    },
    keysText(call) {
      if (!call || !call.keys_pressed) return "";
      return this.silentKey(call) ? W.caller_pressed_silent_key.replace("{key}", REF.silent_caller_key)
        : W.caller_pressed_keys.replace("{keys}", call.keys_pressed.split("").join(" "));
    },
    async closeCall() {
      const call = this.call();
      if (!call || this.busy) return;
      this.closeError = "";
      if (!this.outcome) { this.closeError = W.outcome_required; document.getElementById("f-outcome").focus(); return; }
      if (this.outcome === "ghost" && this.silentKey(call)) {  // the service refuses it too
        this.closeError = W.ghost_refused_key.replace("{key}", REF.silent_caller_key);
        document.getElementById("f-outcome").focus();
        return;
      }
      this.busy = true;
      const body = {outcome: this.outcome, end: true};
      if (this.outcome === "ghost") body.checklist = {...this.checklist};
      let r = await Siaga.api("PATCH", `/api/v1/calls/${call.id}`, {...body, version: call.version});
      if (!r.ok && r.status === 409) {  // the telephony side changed the call meanwhile: take its version and retry
        const fresh = await Siaga.api("GET", `/api/v1/calls/${call.id}`);
        if (fresh.ok) r = await Siaga.api("PATCH", `/api/v1/calls/${call.id}`, {...body, version: fresh.data.version});
      }
      this.busy = false;
      if (!r.ok) {
        const missing = Object.keys(this.checklist).filter(k => !this.checklist[k]).map(k => W["gp_" + k]);
        const pressed = (r.problem.errors || []).some(e => e.code === "caller_pressed_key");
        this.closeError = pressed ? W.ghost_refused_key.replace("{key}", REF.silent_caller_key)
          : r.errors.checklist ? W.ghost_protocol + ": " + missing.join("; ")
          : r.errors.outcome || r.problem.detail;
        this.saveDraft();
        return;
      }
      for (const k of Object.keys(this.checklist)) this.checklist[k] = false;
      Siaga.draft("call." + call.id, null);
      delete this.live().calls[String(call.id)];
      delete this.held[String(call.id)];
      this.notice = "";
      this.callId = null;
      this.select(this.mine().length ? this.mine()[0].id : null);
    },
  };
}
window.callTaker = callTaker;
