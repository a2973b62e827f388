/* The agency (OPD) console: only this agency's incidents (the server filters the stream), newest and
   most urgent first; acknowledge, send units, add notes, clear with an outcome note. Phone-sized. The map
   (the board's, js/map.js) shows the same incidents and this agency's units. */
"use strict";

function agencyConsole() {
  return Object.assign(incidentActions(), {
    map: null,
    init() {
      this.map = new SiagaMap(document.getElementById("agency-map"));
      let queued = false, fitted = false;
      const draw = () => {
        if (queued) return;
        queued = true;
        requestAnimationFrame(() => {
          queued = false;
          const incidents = this.incidents(), units = this.$store.live.unitList();
          this.map.setIncidents(incidents, i => { window.location.href = "/incident/" + i.id; });
          this.map.setUnits(units);
          // Open on where this agency's work is, once; after that the operator's own pan and zoom stay.
          const points = incidents.map(i => [i.lat, i.lon]).concat(units.map(u => [u.lat, u.lon]))
            .filter(p => p[0] != null && p[1] != null);
          if (!fitted && incidents.some(i => i.lat != null)) { this.map.fitTo(points); fitted = true; }
        });
      };
      Live.on(event => { if (["incident", "unit"].includes(event.entity) || event.kind === "snapshot") draw(); });
      draw();
    },
    incidents() {
      const mine = i => i.assignments.find(a => a.agency_id === REF.me.agency_id);
      const rank = i => { const a = mine(i); return a && a.state === "notified" ? 0 : 1; };
      return this.$store.live.incidentList().sort((a, b) => (rank(a) - rank(b)) || (a.priority - b.priority) || (b.id - a.id));
    },
  });
}
window.agencyConsole = agencyConsole;
