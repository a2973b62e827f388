/* The staffing page: operators needed per hour of the week (from GET /api/v1/staffing, computed on the
   server from the period's calls) as a day × hour grid, and the suggested 8-hour roster. */
"use strict";

function staffing() {
  return {
    form: {from: "", to: "", target: 90, within: 15, min: 1, simulated: false}, data: null, error: "", busy: false,
    days: W.weekdays_short.split(","), hours: Array.from({length: 24}, (_, h) => h),
    init() { this.load(); },
    async load() {
      this.error = "";
      const q = new URLSearchParams({target: String(Number(this.form.target) / 100), within: String(this.form.within),
        min_operators: String(this.form.min)});
      if (this.form.from) q.set("from", this.form.from);
      if (this.form.to) q.set("to", this.form.to);
      if (this.form.simulated) q.set("include_simulated", "true");  // left out unless asked (calls/marks.py)
      this.busy = true;
      const r = await Siaga.api("GET", "/api/v1/staffing?" + q.toString());
      this.busy = false;
      if (!r.ok) {
        this.error = r.summary;
        return;
      }
      this.data = r.data;
      if (!this.form.from) this.form.from = r.data.period_from;
      if (!this.form.to) this.form.to = r.data.period_to;
    },
    cell(d, h) { return this.data.hours[d * 24 + h]; },
    level(n) {
      const peak = this.data.peak_operators;
      return n <= 0 ? 0 : Math.min(4, Math.ceil((4 * n) / Math.max(4, peak)));
    },
    avgRate(h) {
      let sum = 0;
      for (let d = 0; d < 7; d++) sum += this.cell(d, h).arrivals_per_hour;
      return (sum / 7).toFixed(1);
    },
    tip(c) {
      return `${c.arrivals_per_hour.toFixed(2)} ${W.calls_per_hour} · ${this.pct(c.answered_within)} ≤ ${this.data.within_s} ${W.seconds_short}`;
    },
    shiftLabel(s) {
      const end = (s + this.data.roster.shift_hours) % 24;
      return `${String(s).padStart(2, "0")}:00–${String(end).padStart(2, "0")}:00`;
    },
    shiftCount(d, s) {
      return this.data.roster.shifts.filter(x => x.weekday === d && x.start_hour === s)
        .reduce((n, x) => n + x.operators, 0);
    },
    fmt(n) { return Number(n).toLocaleString(REF.lang === "id" ? "id-ID" : "en-GB"); },
    secs(s) { return s == null ? "—" : Math.round(s) + " " + W.seconds_short; },
    pct(x) { return x == null ? "—" : (100 * x).toFixed(1) + "%"; },
  };
}
window.staffing = staffing;
