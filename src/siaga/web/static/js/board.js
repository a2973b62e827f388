/* The dispatcher / supervisor board: every open incident with its age and each agency's assignment
   state, overdue items highlighted, units by status, filters, and the live map. */
"use strict";

// Assignments carry their deadline from the server (deadline policies per agency and priority); an
// incident that no agency has been sent to yet is flagged after 120 s.
const UNASSIGNED_DEADLINE_S = 120;

function assignmentOverdue(a) {
  if (ASSIGNMENT_DONE.includes(a.state)) return a.state === "declined" && a.escalation_level > 0;
  return Siaga.isLate(a) || a.escalation_level > 0;
}

function incidentOverdue(i) {
  if (!INCIDENT_ACTIVE.includes(i.status)) return false;  // resolved: every agency stood down, nothing is late
  if (i.status === "new" && !i.assignments.length) return Siaga.seconds(i.created_at) > UNASSIGNED_DEADLINE_S;
  return i.assignments.some(assignmentOverdue);
}

function board() {
  return {
    f: {category: "", kecamatan: "", agency: ""},
    map: null,
    init() {
      this.map = new SiagaMap(document.getElementById("map"));
      // Redraw the map at most once a frame, and only for changes it shows.
      let queued = false;
      const draw = () => {
        if (queued) return;
        queued = true;
        requestAnimationFrame(() => {
          queued = false;
          this.map.setIncidents(this.incidents(), i => { window.location.href = "/incident/" + i.id; });
          this.map.setUnits(this.units());
        });
      };
      Live.on(event => { if (["incident", "unit"].includes(event.entity) || event.kind === "snapshot") draw(); });
      this.$watch("f", draw, {deep: true});
      draw();
    },
    incidents() {
      this.$store.live.tick;  // re-evaluate overdue as time passes
      return this.$store.live.incidentList().filter(i =>
        (!this.f.category || i.category_code === this.f.category) &&
        (!this.f.kecamatan || Siaga.kecamatanOf(i.kode_wilayah) === this.f.kecamatan) &&
        (!this.f.agency || i.assignments.some(a => String(a.agency_id) === this.f.agency)))
        .sort((a, b) => (incidentOverdue(b) - incidentOverdue(a)) || (a.priority - b.priority) || (b.id - a.id));
    },
    units() {
      return this.$store.live.unitList().filter(u => !this.f.agency || String(u.agency_id) === this.f.agency);
    },
    unitCounts() {
      const counts = {};
      for (const s of Object.keys(S.unit)) counts[s] = 0;
      for (const u of this.units()) counts[u.status] = (counts[u.status] || 0) + 1;
      return counts;
    },
    overdue(i) { this.$store.live.tick; return incidentOverdue(i); },
    assignmentOverdue(a) { this.$store.live.tick; return assignmentOverdue(a); },
  };
}
window.board = board;
