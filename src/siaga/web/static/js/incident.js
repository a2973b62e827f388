/* The incident page: facts, each agency's assignment, notes, status, search sectors, the timeline (an
   htmx fragment that reloads when the incident changes) and the map. Works for closed incidents too.
   Search sectors are drawn on the map with a mouse or a finger (each click a corner, "Selesai" closes
   the outline); the sector list and its buttons work from the keyboard. The incident's calls are listed
   with their numbers masked; a holder of numbers.reveal reveals one (audited, static/js/numbers.js). */
"use strict";

function incidentPage(id, mayReveal, readsCalls) {
  return Object.assign(incidentActions(), SiagaNumbers.mixin(mayReveal), {
    id, inc: null, loadError: "", agencyPick: "", statusNote: "", map: null, plan: null, planPick: [],
    readsCalls, linkedCalls: [], linkedIds: "",  // the calls of this incident; numbers masked (numbers.js)
    focusedAt: null,  // the incident location the map was last centred on: events don't move the map
    drawing: false, drawPoints: [], drawClosed: false, sectorName: "", sectorTeam: "", sectorKey: "",
    sectorTeamPick: {}, sectorSeen: {},
    correcting: false, cform: {answers: {}}, cbase: null, cquestions: [], cerr: {}, conflict: "", correctedNotice: "",
    async init() {
      this.map = new SiagaMap(document.getElementById("map"));
      Live.on(event => {
        if (event.entity === "incident" && event.entity_id === this.id) this.show(event.payload);
        if (event.kind === "snapshot") this.load();
        if (event.entity === "unit") this.drawUnits();
      });
      await this.load();
    },
    async load() {
      const r = await Siaga.api("GET", `/api/v1/incidents/${this.id}`);
      if (r.ok) this.show(r.data); else this.loadError = r.problem.detail;
    },
    show(inc) {
      const recategorised = !this.inc || this.inc.category_code !== inc.category_code ||
        this.inc.subcategory_code !== inc.subcategory_code || this.inc.priority !== inc.priority ||
        this.inc.assignments.length !== inc.assignments.length ||
        JSON.stringify(this.inc.answers || {}) !== JSON.stringify(inc.answers || {});
      inc.sectors = inc.sectors || [];
      this.inc = inc;
      if (this.plan) {  // agencies just sent show as sent at once, not only when the proposal is fetched again
        for (const p of this.plan.agencies) {
          const a = inc.assignments.find(x => x.agency_id === p.agency_id);
          p.assignment_state = a ? a.state : null;
        }
        this.planPick = this.planPick.filter(id => !inc.assignments.some(a => a.agency_id === id));
      }
      if (recategorised && this.mayDispatch()) this.loadPlan();
      this.map.setIncidents([inc]);
      this.map.setSectors(inc.sectors);
      this.focusMap(inc);
      for (const s of inc.sectors) {  // each sector's team picker follows the sector until it is changed
        if (this.sectorSeen[s.id] !== s.version) {
          this.sectorSeen[s.id] = s.version;
          this.sectorTeamPick[s.id] = s.assignment_id ? String(s.assignment_id) : "";
        }
      }
      this.drawUnits();
      this.loadCalls(inc);
    },
    async loadCalls(inc) {
      const ids = (inc.call_ids || []).join(",");
      if (!this.readsCalls || ids === this.linkedIds) return;
      this.linkedIds = ids;
      const got = await Promise.all((inc.call_ids || []).map(c => Siaga.api("GET", `/api/v1/calls/${c}`)));
      if (ids === this.linkedIds) this.linkedCalls = got.filter(r => r.ok).map(r => r.data);
    },
    /* centre the map on the incident (and its sectors) when the page opens or the incident moves, never
       on other changes: someone drawing a sector keeps their view */
    focusMap(inc) {
      const at = inc.lat != null ? inc.lat + "," + inc.lon : "";
      if (this.focusedAt === at || this.drawing) return;
      const first = this.focusedAt === null;
      this.focusedAt = at;
      const points = first ? inc.sectors.flatMap(s => s.polygon) : [];
      if (points.length) this.map.fitTo(inc.lat != null ? points.concat([[inc.lat, inc.lon]]) : points);
      else if (inc.lat != null) this.map.focus(inc.lat, inc.lon, 13);
    },
    drawUnits() {
      if (!this.inc) return;
      const ids = new Set(this.inc.assignments.flatMap(a => a.units.filter(u => u.active).map(u => u.unit_id)));
      this.map.setUnits(this.$store.live.unitList().filter(u => ids.has(u.id)));
    },
    open() { return this.inc && INCIDENT_OPEN.includes(this.inc.status); },
    // agencies are sent only to an active incident: a resolved one is reopened first (its agencies stood down)
    active() { return this.inc && INCIDENT_ACTIVE.includes(this.inc.status); },
    /* the response plan's proposal for the incident as it now stands; missing agencies pre-selected */
    async loadPlan() {
      const r = await Siaga.api("GET", `/api/v1/incidents/${this.id}/proposal`);
      if (!r.ok) return;
      this.plan = r.data;
      this.planPick = [...r.data.missing_agency_ids];
    },
    sendPlan() {
      return this.act("plan", "POST", `/api/v1/incidents/${this.id}/dispatch`, {agency_ids: this.planPick},
        data => this.show(data));
    },
    assignAgency() {
      if (!this.agencyPick) { this.err = Object.assign({}, this.err, {agency: fieldError("missing")}); return; }
      return this.act("agency", "POST", `/api/v1/incidents/${this.id}/assignments`, {agency_id: Number(this.agencyPick)},
        data => { this.agencyPick = ""; this.show(data); });
    },
    setStatus(status) {
      return this.act("status", "POST", `/api/v1/incidents/${this.id}/status`,
        {status, version: this.inc.version, note: this.statusNote}, data => {
          if (!INCIDENT_OPEN.includes(data.status)) this.statusNote = "";  // resolving keeps it for closing
          this.show(data);
        });
    },

    /* ---- correcting the incident (static/js/correct.js) ------------------------------------------ */
    startCorrection() {
      this.cbase = JSON.parse(JSON.stringify(this.inc));
      this.cform = SiagaCorrect.formOf(this.cbase);
      this.cerr = {}; this.conflict = ""; this.correctedNotice = "";
      this.correcting = true;
      this.loadCorrectQuestions();
    },
    async loadCorrectQuestions() {
      const code = this.cform.category_code;
      const r = await Siaga.api("GET", `/api/v1/categories/${encodeURIComponent(code)}/questions`);
      if (code === this.cform.category_code) this.cquestions = r.ok ? r.data.questions : [];
    },
    correctCategoryChanged() {
      this.cform.subcategory_code = "";
      this.cform.answers = {};
      this.cquestions = [];
      this.loadCorrectQuestions();
    },
    async saveCorrection() {
      if (this.busyKey) return;
      const body = SiagaCorrect.changes(this.cbase, this.cform, this.cquestions);
      if (!Object.keys(body).length) { this.cerr = {form: W.no_change}; return; }
      this.cerr = {}; this.conflict = "";
      this.busyKey = "correct";
      const r = await Siaga.api("PATCH", `/api/v1/incidents/${this.id}`, Object.assign({version: this.cbase.version}, body));
      this.busyKey = "";
      if (!r.ok) {
        if (r.status === 409) { this.conflict = SiagaCorrect.conflictText(r.data); return; }
        const other = Object.entries(r.errors).filter(([f]) => !(f in this.cform) && !f.startsWith("answers."));
        this.cerr = Object.assign({}, r.errors, {form: problemSummary(r.problem.detail, Object.fromEntries(other))});
        return;
      }
      this.correcting = false;
      this.correctedNotice = W.correction_saved;
      this.show(r.data);
    },
    /* take the latest version; what the operator typed stays (correct.js) */
    async reloadCorrection() {
      const r = await Siaga.api("GET", `/api/v1/incidents/${this.id}`);
      if (!r.ok) { this.cerr = {form: r.summary}; return; }
      const category = this.cform.category_code;
      this.cform = SiagaCorrect.merge(this.cbase, this.cform, r.data);
      this.cbase = r.data;
      this.conflict = "";
      this.show(r.data);
      if (category !== this.cform.category_code) this.loadCorrectQuestions();
    },

    /* ---- search sectors ------------------------------------------------------------------------ */
    /* the teams a sector can be given: the agencies still working the incident (and its current team) */
    teams(sector) {
      if (!this.inc) return [];
      return this.inc.assignments.filter(a => !ASSIGNMENT_DONE.includes(a.state) ||
        (sector && a.id === sector.assignment_id));
    },
    teamName(s) {
      const a = this.inc.assignments.find(x => x.id === s.assignment_id);
      return a ? Siaga.agencyName(a.agency_id) : W.no_team;
    },
    fmtArea(m2) {
      const locale = REF.lang === "id" ? "id-ID" : "en-GB";
      if (m2 < 1000) return Math.round(m2).toLocaleString(locale) + " m²";
      return (m2 / 10000).toLocaleString(locale, {maximumFractionDigits: 1}) + " ha";
    },
    showSector(s) { this.map.fitTo(s.polygon); },
    setErrors(values) { this.err = Object.assign({}, this.err, values); },
    /* problem+json → messages next to their fields: `slots` maps a body field to its error slot; what no
       field names goes to `fallback` */
    placeErrors(r, slots, fallback) {
      const out = {[fallback]: ""};
      let placed = false;
      for (const e of (r.data && r.data.errors) || []) {
        const field = String(e.field || "").replace(/^(body|query|path)\./, "").split(".")[0];
        const message = W["sector_err_" + e.code] || fieldError(e.code, e.limit) || e.message;
        const slot = slots[field];
        if (!slot) continue;
        out[slot] = out[slot] ? out[slot] + "; " + message : message;
        placed = true;
      }
      if (!placed) {
        const incidentGone = ((r.data && r.data.errors) || []).find(e => e.code === "incident_closed");
        out[fallback] = incidentGone ? W.sector_err_incident_closed : r.problem.detail;
      }
      this.setErrors(out);
    },
    /* the server's answer replaces our copy unless an event already brought a newer one */
    mergeSector(sector) {
      const list = this.inc.sectors;
      const i = list.findIndex(s => s.id === sector.id);
      if (i < 0) list.push(sector);
      else if (list[i].version <= sector.version) list.splice(i, 1, sector);
      this.map.setSectors(list);
    },
    startDrawing() {
      this.setErrors({sectorPolygon: "", sectorName: "", sectorTeam: "", sector: ""});
      this.drawing = true;
      this.sectorKey = Siaga.idempotencyKey();  // one sector however often the save is retried
      this.map.startDrawing((points, closed) => { this.drawPoints = points; this.drawClosed = closed; });
      this.$nextTick(() => document.getElementById("sector-hint").scrollIntoView({block: "nearest"}));
    },
    finishDrawing() {
      if (!this.map.closeDrawing()) { this.setErrors({sectorPolygon: W.sector_err_too_few_points}); return; }
      this.setErrors({sectorPolygon: ""});
      this.$nextTick(() => document.getElementById("sector-name").focus());
    },
    cancelDrawing() {
      this.map.stopDrawing();
      this.drawing = false;
      this.drawPoints = [];
      this.drawClosed = false;
    },
    async saveSector() {
      const missing = fieldError("missing");
      const errors = {sectorPolygon: this.drawClosed ? "" : W.sector_close_first,
        sectorName: this.sectorName.trim() ? "" : missing, sectorTeam: "", sector: ""};
      this.setErrors(errors);
      if (errors.sectorPolygon || errors.sectorName) return;
      if (this.busyKey) return;
      this.busyKey = "sector";
      const body = {name: this.sectorName.trim(), polygon: this.drawPoints,
        assignment_id: this.sectorTeam ? Number(this.sectorTeam) : null};
      const r = await Siaga.api("POST", `/api/v1/incidents/${this.id}/sectors`, body, {"Idempotency-Key": this.sectorKey});
      this.busyKey = "";
      if (!r.ok) {
        this.placeErrors(r, {polygon: "sectorPolygon", name: "sectorName", assignment_id: "sectorTeam"}, "sector");
        return;
      }
      this.mergeSector(r.data);
      this.cancelDrawing();
      this.sectorName = "";
      this.sectorTeam = "";
    },
    async patchSector(s, body, key) {
      if (this.busyKey) return null;
      this.setErrors({[key]: "", ["secnote" + s.id]: ""});
      this.busyKey = key;
      const r = await Siaga.api("PATCH", `/api/v1/sectors/${s.id}`, Object.assign({version: s.version}, body));
      this.busyKey = "";
      if (!r.ok) {
        this.placeErrors(r, {note: "secnote" + s.id, status: key, assignment_id: key, name: key, polygon: key}, key);
        return null;
      }
      this.mergeSector(r.data);
      return r.data;
    },
    async moveSector(s, status) {
      const key = "sec" + s.id;
      const note = (this.text[key] || "").trim();
      if (status === "cleared" && !note) {
        this.setErrors({["secnote" + s.id]: W.sector_note_needed});
        const el = document.getElementById("sector-note-" + s.id); if (el) el.focus();
        return;
      }
      const body = note ? {status, note} : {status};
      if (await this.patchSector(s, body, key)) this.text[key] = "";
    },
    setTeam(s) {
      const pick = this.sectorTeamPick[s.id];
      return this.patchSector(s, {assignment_id: pick ? Number(pick) : null}, "sec" + s.id);
    },
  });
}
window.incidentPage = incidentPage;
