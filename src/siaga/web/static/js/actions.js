/* What an operator can do to an incident and its assignments, shared by the incident page and the
   agency console. Every action goes through the JSON API; errors show next to the control. */
"use strict";

function incidentActions() {
  return {
    err: {},        // key → message shown next to the control that failed
    busyKey: "",
    text: {},       // key → what the user typed (notes, reasons), kept on failure
    unitPick: {},   // assignment id → unit id
    recs: {},       // assignment id → the server's road-time ranking of the agency's units
    recsKey: {},
    async act(key, method, url, body, after) {
      if (this.busyKey) return;
      this.err = Object.assign({}, this.err, {[key]: ""});
      this.busyKey = key;
      const r = await Siaga.api(method, url, body);
      this.busyKey = "";
      if (!r.ok) {
        this.err = Object.assign({}, this.err, {[key]: r.summary});
        return null;
      }
      if (r.data && r.data.number && r.data.assignments) {
        const store = this.$store.live;
        if (INCIDENT_OPEN.includes(r.data.status)) store.incidents[String(r.data.id)] = r.data;
        else delete store.incidents[String(r.data.id)];
        if (this.show && r.data.id === this.id) this.show(r.data);
      }
      if (after) after(r.data);
      return r.data;
    },
    canAct(a) { return Siaga.isStaff ? ["dispatcher", "supervisor"].includes(REF.me.role) : a.agency_id === REF.me.agency_id; },
    mayDispatch() { return ["dispatcher", "supervisor"].includes(REF.me.role); },
    mayNote() { return REF.me.role !== "admin"; },
    canMove(a, target) {
      const t = {notified: ["acknowledged", "declined", "cancelled"],
        acknowledged: ["units_assigned", "on_scene", "cleared", "declined", "cancelled"],
        units_assigned: ["on_scene", "cleared", "cancelled"], on_scene: ["cleared", "cancelled"]};
      return (t[a.state] || []).includes(target) && this.canAct(a) && (target !== "cancelled" || this.mayDispatch());
    },
    moveAssignment(a, state, needsText) {
      const key = "as" + a.id + state;
      const reason = (this.text["as" + a.id] || "").trim();
      if (needsText && !reason) {
        this.err = Object.assign({}, this.err, {[key]: fieldError("missing") + " — " +
          (state === "declined" ? W.decline_reason : W.outcome_note)});
        const el = document.getElementById("text-as" + a.id); if (el) el.focus();
        return;
      }
      return this.act(key, "POST", `/api/v1/assignments/${a.id}/state`, {state, version: a.version, reason},
        () => { this.text["as" + a.id] = ""; });
    },
    freeUnits(a) {
      return this.$store.live.unitList().filter(u => u.agency_id === a.agency_id && u.active &&
        (u.status === "available" || u.status === "returning"));
    },
    /* ranked by travel time over the road network when the server could rank them, else by callsign */
    async loadRecs(a) {
      if (!this.canAct(a) || ASSIGNMENT_DONE.includes(a.state)) return;
      const key = a.version + ":" + this.$store.live.version;
      if (this.recsKey[a.id] === key) return;
      this.recsKey[a.id] = key;
      const r = await Siaga.api("GET", `/api/v1/assignments/${a.id}/recommendations?limit=10`);
      if (r.ok) this.recs = Object.assign({}, this.recs, {[a.id]: r.data});
    },
    unitOptions(a) {
      const free = this.freeUnits(a);
      const ranked = (this.recs[a.id] || []).filter(r => r.offered && free.some(u => u.id === r.unit_id));
      const rest = free.filter(u => !ranked.some(r => r.unit_id === u.id));
      const eta = r => r.eta_s != null ? ` — ${Math.max(1, Math.round(r.eta_s / 60))} ${W.minutes} · ${Siaga.fmtDistance(r.distance_m)}` : "";
      return ranked.map(r => ({id: r.unit_id, label: `${r.callsign} (${Siaga.word("unit_type", r.vehicle_type)})${eta(r)}`}))
        .concat(rest.map(u => ({id: u.id, label: `${u.callsign} (${Siaga.word("unit_type", u.type)})`})));
    },
    notOffered(a) { return (this.recs[a.id] || []).filter(r => !r.offered); },
    unitsOf(a) {
      return a.units.filter(ua => ua.active).map(ua => this.$store.live.units[String(ua.unit_id)] ||
        {id: ua.unit_id, callsign: "#" + ua.unit_id, status: "assigned", agency_id: a.agency_id});
    },
    assignUnit(a) {
      const unitId = Number(this.unitPick[a.id] || 0);
      const key = "unit" + a.id;
      if (!unitId) { this.err = Object.assign({}, this.err, {[key]: W.no_free_units}); return; }
      const unit = this.$store.live.units[String(unitId)];
      return this.act(key, "POST", `/api/v1/assignments/${a.id}/units`,
        {unit_id: unitId, unit_version: unit ? unit.version : null}, () => { this.unitPick[a.id] = ""; });
    },
    addNote(incident) {
      const key = "note" + incident.id;
      const text = (this.text[key] || "").trim();
      if (!text) { this.err = Object.assign({}, this.err, {[key]: fieldError("missing")}); return; }
      return this.act(key, "POST", `/api/v1/incidents/${incident.id}/notes`, {text}, () => { this.text[key] = ""; });
    },
  };
}
window.incidentActions = incidentActions;
