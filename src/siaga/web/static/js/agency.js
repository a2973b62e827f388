/* The agency (OPD) console: only this agency's incidents (the server filters the stream), newest and
   most urgent first; acknowledge, send units, add notes, clear with an outcome note. Phone-sized. */
"use strict";

function agencyConsole() {
  return Object.assign(incidentActions(), {
    init() {},
    incidents() {
      const mine = i => i.assignments.find(a => a.agency_id === REF.me.agency_id);
      const rank = i => { const a = mine(i); return a && a.state === "notified" ? 0 : 1; };
      return this.$store.live.incidentList().sort((a, b) => (rank(a) - rank(b)) || (a.priority - b.priority) || (b.id - a.id));
    },
  });
}
window.agencyConsole = agencyConsole;
