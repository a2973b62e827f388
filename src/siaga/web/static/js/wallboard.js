/* The wallboard for the big screen: calls waiting, longest wait, operators on duty, % answered within
   15 s today, open incidents by category and agency. Figures come from the server (one query, same
   numbers for every screen); they are fetched again on every change and every 5 s. */
"use strict";

function wallboard() {
  return {
    stats: {}, error: "", pending: null, fetchedAt: 0,
    init() {
      this.load();
      this.$watch("$store.live.version", () => this.soon());
      setInterval(() => this.load(), 5000);
    },
    soon() {
      if (this.pending) return;
      this.pending = setTimeout(() => { this.pending = null; this.load(); }, 300);
    },
    async load() {
      const r = await Siaga.api("GET", "/api/v1/stats/wallboard");
      if (!r.ok) { this.error = r.summary; return; }
      this.error = ""; this.stats = r.data; this.fetchedAt = Date.now();
    },
    longestWait() {
      this.$store.live.tick;
      const base = this.stats.longest_wait_s || 0;
      return base ? base + Math.floor((Date.now() - this.fetchedAt) / 1000) : 0;
    },
    /* late and escalated open incidents, by the board's own rules, from the live store */
    lateCount() { this.$store.live.tick; return this.$store.live.incidentList().filter(i => Siaga.incidentOverdue(i)).length; },
    escalatedCount() { this.$store.live.version; return this.$store.live.incidentList().filter(i => Siaga.incidentEscalated(i)).length; },
    byCategory() { return Object.entries(this.stats.open_by_category || {}).sort((a, b) => b[1] - a[1]); },
    byAgency() { return Object.entries(this.stats.open_by_agency || {}).sort((a, b) => b[1] - a[1]); },
  };
}
window.wallboard = wallboard;
