/* The incident page: facts, each agency's assignment, notes, status, the timeline (an htmx fragment
   that reloads when the incident changes) and the map. Works for closed incidents too. */
"use strict";

function incidentPage(id) {
  return Object.assign(incidentActions(), {
    id, inc: null, loadError: "", agencyPick: "", statusNote: "", map: null, plan: null, planPick: [],
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
        this.inc.assignments.length !== inc.assignments.length;
      this.inc = inc;
      if (recategorised && this.mayDispatch()) this.loadPlan();
      this.map.setIncidents([inc]);
      if (inc.lat != null) this.map.focus(inc.lat, inc.lon, 13);
      this.drawUnits();
    },
    drawUnits() {
      if (!this.inc) return;
      const ids = new Set(this.inc.assignments.flatMap(a => a.units.filter(u => u.active).map(u => u.unit_id)));
      this.map.setUnits(this.$store.live.unitList().filter(u => ids.has(u.id)));
    },
    open() { return this.inc && INCIDENT_OPEN.includes(this.inc.status); },
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
      if (!this.agencyPick) { this.err = Object.assign({}, this.err, {agency: FIELD_ERRORS.missing[REF.lang === "id" ? 0 : 1]}); return; }
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
  });
}
window.incidentPage = incidentPage;
