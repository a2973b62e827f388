/* The field unit's phone screen: its current assignment, where to go (with a link that opens the
   phone's navigation), and big buttons for en route / on scene / cleared / available. The phone's
   position is sent with each status when the crew allows it. */
"use strict";

const UNIT_MOVES = {available: ["out_of_service"], assigned: ["en_route", "on_scene", "out_of_service"],
  en_route: ["on_scene", "returning", "out_of_service"], on_scene: ["returning", "out_of_service"],
  returning: ["available", "out_of_service"], out_of_service: ["available"]};

function fieldUnit() {
  return {
    unitId: null, error: "", noteText: "", busy: false,
    init() {
      const fromUrl = new URLSearchParams(location.search).get("unit");
      this.unitId = fromUrl ? Number(fromUrl) : Number(localStorage.getItem("siaga.unit." + REF.me.user_id) || 0) || null;
      Live.on(event => {
        if (event.entity === "timeline" && event.payload.incident_id === this.incidentId()) this.loadTimeline();
      });
    },
    choose(id) {
      this.unitId = id;
      if (id) localStorage.setItem("siaga.unit." + REF.me.user_id, String(id));
      else localStorage.removeItem("siaga.unit." + REF.me.user_id);
      history.replaceState(null, "", id ? "/field?unit=" + id : "/field");
    },
    unit() { return this.unitId ? this.$store.live.units[String(this.unitId)] || null : null; },
    incident() {
      for (const i of this.$store.live.incidentList()) {
        for (const a of i.assignments) if (a.units.some(u => u.active && u.unit_id === this.unitId)) return i;
      }
      return null;
    },
    incidentId() { const i = this.incident(); return i ? i.id : null; },
    can(target) { const u = this.unit(); return !!u && (UNIT_MOVES[u.status] || []).includes(target); },
    /* geo: (RFC 5870) opens the phone's own map app — Organic Maps, OsmAnd, Google Maps with offline areas —
       which navigates without internet; the web map is offered beside it for a phone with none. */
    navUrl() {
      const i = this.incident();
      return `geo:${i.lat},${i.lon}?q=${i.lat},${i.lon}(${encodeURIComponent(i.number)})`;
    },
    webNavUrl() {
      const i = this.incident();
      return `https://www.google.com/maps/dir/?api=1&destination=${i.lat},${i.lon}`;
    },
    /* The phone's position if the crew has allowed it; never holds up a status for more than 2.5 s
       (an unanswered permission prompt would otherwise wait forever). */
    position() {
      return new Promise(resolve => {
        if (!navigator.geolocation) return resolve(null);
        const timer = setTimeout(() => resolve(null), 2500);
        navigator.geolocation.getCurrentPosition(p => { clearTimeout(timer); resolve(p.coords); },
          () => { clearTimeout(timer); resolve(null); }, {timeout: 2500, maximumAge: 60000});
      });
    },
    async report(status) {
      const u = this.unit();
      if (!u || this.busy) return;
      this.busy = true; this.error = "";
      const coords = await this.position();
      const body = {status, version: u.version};
      if (coords) { body.lat = +coords.latitude.toFixed(6); body.lon = +coords.longitude.toFixed(6); }
      const r = await Siaga.api("POST", `/api/v1/units/${u.id}/status`, body);
      this.busy = false;
      if (!r.ok) { this.error = r.summary; return; }
      this.$store.live.units[String(r.data.id)] = r.data;
    },
    async note() {
      const i = this.incident();
      const text = this.noteText.trim();
      if (!i || !text) return;
      const r = await Siaga.api("POST", `/api/v1/incidents/${i.id}/notes`, {text});
      if (!r.ok) { this.error = r.summary; return; }
      this.noteText = "";
    },
    loadTimeline() {
      const id = this.incidentId();
      const el = document.getElementById("field-timeline");
      if (id && el) htmx.ajax("GET", `/incident/${id}/timeline`, {target: el, swap: "innerHTML"});
    },
  };
}
window.fieldUnit = fieldUnit;
