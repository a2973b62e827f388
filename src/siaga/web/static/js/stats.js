/* The statistics page: the KPIs of a period (days in the site's zone) from /api/v1/reports/kpis — the same definitions as
   the reports (siaga.domains.kpi.definitions) — drawn with Chart.js (vendored). Fetched again when calls or
   incidents change (the live store's version) and every minute, so the page stays current. */
"use strict";

const ST_LOCALE = REF.lang === "id" ? "id-ID" : "en-GB";
const ST_TREND = {day: "st_trend_day", week: "st_trend_week", month: "st_trend_month"};
const ST_OUTCOMES = ["missed_out_of_hours", "abandoned", "unclassified", "emergency", "information", "prank", "ghost",
  "wrong_number", "test"];
const ST_STAGES = ["acknowledge", "dispatch", "travel"];
const ST_COLORS = {grey: "#9aa5b1", blue: "#1f5fa8", green: "#2e8b57", red: "#c0392b", amber: "#e0a800"};

/* Today in the site's zone (REF.zone) as "YYYY-MM-DD", whatever the browser's own time zone */
function siteToday() {
  return new Intl.DateTimeFormat("en-CA", {timeZone: REF.zone.name, year: "numeric", month: "2-digit",
    day: "2-digit"}).format(new Date(Siaga.now()));
}
function addDays(iso, n) {
  const d = new Date(iso + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
function monthStart(iso, delta) {
  const d = new Date(iso.slice(0, 7) + "-01T00:00:00Z");
  d.setUTCMonth(d.getUTCMonth() + (delta || 0));
  return d.toISOString().slice(0, 10);
}
function daysBetween(a, b) { return Math.round((Date.parse(b) - Date.parse(a)) / 86400000); }

const charts = {};  // Chart.js instances, kept out of Alpine's reactive state

function drawChart(id, config) {
  const canvas = document.getElementById(id);
  if (!canvas || !window.Chart) return;
  if (charts[id]) {
    charts[id].data = config.data;
    charts[id].options = config.options;
    charts[id].update();
    return;
  }
  config.options = Object.assign({animation: false, responsive: true, maintainAspectRatio: false}, config.options);
  charts[id] = new Chart(canvas, config);
}

function statsPage() {
  const today = siteToday();
  return {
    preset: "this_month", month: today.slice(0, 7), quarter: String(Math.floor((Number(today.slice(5, 7)) - 1) / 3) + 1),
    year: today.slice(0, 4), customFrom: monthStart(today), customUntil: today,
    from: "", to: "", trendBy: "day", groups: {}, simulated: null, loaded: false, loading: false, error: "", pending: null, seq: 0,

    init() {
      this.load();
      this.$watch("$store.live.version", () => this.soon());
      setInterval(() => this.load(true), 60000);
    },
    soon() {
      if (this.pending) return;
      this.pending = setTimeout(() => { this.pending = null; this.load(true); }, 3000);
    },
    period() {
      const t = siteToday();
      switch (this.preset) {
        case "today": return [t, addDays(t, 1)];
        case "last7": return [addDays(t, -6), addDays(t, 1)];
        case "last_month": return [monthStart(t, -1), monthStart(t)];
        case "month": return this.month ? [this.month + "-01", monthStart(this.month + "-01", 1)] : [null, null];
        case "quarter": {
          const first = `${this.year}-${String(3 * Number(this.quarter) - 2).padStart(2, "0")}-01`;
          return [first, monthStart(first, 3)];
        }
        case "custom": return [this.customFrom, this.customUntil ? addDays(this.customUntil, 1) : null];
        default: return [monthStart(t), monthStart(t, 1)];
      }
    },
    async load(quiet) {
      const [from, to] = this.period();
      if (!from || !to) { this.error = W.st_error_period; return; }
      const days = daysBetween(from, to);
      const trendBy = days <= 62 ? "day" : days <= 190 ? "week" : "month";
      const by = ["total", "hour", trendBy, "category", "agency"].map(b => "by=" + b).join("&");
      if (!quiet) this.loading = true;
      const seq = ++this.seq;
      const r = await Siaga.api("GET", `/api/v1/reports/kpis?from=${from}&to=${to}&${by}&lang=${REF.lang}`);
      // A newer request went out meanwhile (the user chose another period, or a live refresh): only the
      // newest answer is shown, so a slow earlier one never overwrites it or clears its error.
      if (seq !== this.seq) return;
      this.loading = false;
      if (!r.ok) {
        const detail = (r.data && r.data.errors || []).map(e => e.message).join("; ");
        this.error = W.st_error_period + ": " + (detail || r.problem.detail);
        return;
      }
      this.error = "";
      this.from = from; this.to = to; this.trendBy = trendBy; this.groups = r.data.groups;
      this.simulated = r.data.simulated || null;
      this.draw();
      this.loaded = true;
    },

    fmtInt(v) { return v == null ? "—" : new Intl.NumberFormat(ST_LOCALE).format(v); },
    fmtPct(v) { return v == null ? "—" : new Intl.NumberFormat(ST_LOCALE, {maximumFractionDigits: 1}).format(v) + "%"; },
    fmtDur(s) {
      if (s == null) return "—";
      const f = new Intl.NumberFormat(ST_LOCALE, {maximumFractionDigits: 1, minimumFractionDigits: 1});
      return Math.abs(s) < 100 ? f.format(s) + " s" : f.format(s / 60) + " " + W.minutes;
    },
    rangeText() {
      if (!this.from) return "";
      const f = new Intl.DateTimeFormat(ST_LOCALE, {timeZone: "UTC", day: "numeric", month: "long", year: "numeric"});
      const last = addDays(this.to, -1);
      const a = f.format(new Date(this.from + "T00:00:00Z")), b = f.format(new Date(last + "T00:00:00Z"));
      return a === b ? a : `${a} – ${b}`;
    },
    simulatedText() {
      const s = this.simulated;  // rows made by `siaga simulate`, left out of every figure on this page
      if (!s || s.included || !(s.calls || s.incidents)) return "";
      return W.st_simulated.replace("{calls}", this.fmtInt(s.calls)).replace("{incidents}", this.fmtInt(s.incidents));
    },
    trendTitle() { return W[ST_TREND[this.trendBy]] || ""; },
    query(extra) { return `from=${this.from}&to=${this.to}&${extra}`; },
    reportUrl(format) { return this.from ? `/api/v1/reports/period?${this.query("format=" + format)}&lang=${REF.lang}` : "#"; },
    monitoringUrl(format) { return this.from ? `/api/v1/reports/monitoring?${this.query("format=" + format)}` : "#"; },

    total() { return ((this.groups.total || {}).calls || [])[0] || null; },
    totalIncidents() { return ((this.groups.total || {}).incidents || [])[0] || null; },
    tiles() {
      const c = this.total(), p = this.totalIncidents();
      if (!c) return [];
      const target = (v, goal) => v == null ? "" : (v >= goal ? "met" : "notmet");
      return [
        {key: "offered", label: W.st_calls_offered, value: this.fmtInt(c.offered), sub: ""},
        {key: "answered", label: W.st_calls_answered, value: this.fmtInt(c.answered), sub: this.fmtPct(c.answer_rate)},
        {key: "sl15", label: W.kpi_pct_answered_15s, value: this.fmtPct(c.pct_answered_15s), sub: W.st_target + " 90% · NENA",
          cls: target(c.pct_answered_15s, 90)},
        {key: "sl10", label: W.kpi_pct_answered_10s, value: this.fmtPct(c.pct_answered_10s), sub: W.st_target + " 90% · NFPA 1225",
          cls: target(c.pct_answered_10s, 90)},
        {key: "avg", label: W.kpi_avg_answer_s, value: this.fmtDur(c.avg_answer_s), sub: "EU COCOM"},
        {key: "slowest", label: W.kpi_slowest_10pct_avg_s, value: this.fmtDur(c.slowest_10pct_avg_s), sub: "EU COCOM"},
        {key: "pickup", label: W.kpi_pickup_median_s, value: this.fmtDur(c.pickup_median_s),
         sub: (W.kpi_pickup_p90_s || "p90") + ": " + this.fmtDur(c.pickup_p90_s)},
        {key: "abandon", label: W.kpi_abandon_rate, value: this.fmtPct(c.abandon_rate), sub: this.fmtInt(c.abandoned)},
        {key: "false", label: W.kpi_false_call_share, value: this.fmtPct(c.false_call_share), sub: this.fmtInt(c.false_calls)},
        {key: "ooh", label: W.kpi_out_of_hours_share, value: this.fmtPct(c.out_of_hours_share), sub: this.fmtInt(c.out_of_hours)},
        {key: "incidents", label: W.st_incidents, value: this.fmtInt(p ? p.incidents : null), sub: ""},
        {key: "nfpa", label: W.kpi_pct_processed_60s, value: this.fmtPct(p ? p.pct_processed_60s : null),
          sub: W.st_target + " 90% · NFPA 1225", cls: target(p ? p.pct_processed_60s : null, 90)},
      ];
    },
    stageRows() { return ((this.groups.agency || {}).stages || []).filter(r => r.assignments > 0); },

    draw() {
      const hours = (this.groups.hour || {}).calls || [];
      drawChart("chart-hour", {type: "bar", data: {labels: hours.map(h => String(h.key).padStart(2, "0")), datasets: [
        {label: W.st_calls_offered, data: hours.map(h => h.offered), backgroundColor: ST_COLORS.grey},
        {label: W.st_calls_answered, data: hours.map(h => h.answered), backgroundColor: ST_COLORS.blue}]},
        options: {scales: {y: {beginAtZero: true, ticks: {precision: 0}}}}});
      const trend = (this.groups[this.trendBy] || {}).calls || [];
      const short = new Intl.DateTimeFormat(ST_LOCALE, this.trendBy === "month" ? {timeZone: "UTC", month: "short",
        year: "numeric"} : {timeZone: "UTC", day: "numeric", month: "short"});
      drawChart("chart-trend", {type: "bar", data: {labels: trend.map(t => short.format(new Date(t.key + "T00:00:00Z"))),
        datasets: [
        {type: "line", label: W.kpi_pct_answered_15s, data: trend.map(t => t.pct_answered_15s), yAxisID: "pct",
          borderColor: ST_COLORS.green, backgroundColor: ST_COLORS.green, spanGaps: false},
        {type: "line", label: W.st_target + " 90%", data: trend.map(() => 90), yAxisID: "pct", pointRadius: 0,
          borderColor: ST_COLORS.red, borderDash: [5, 4], borderWidth: 1},
        {label: W.st_calls_offered, data: trend.map(t => t.offered), backgroundColor: ST_COLORS.grey, yAxisID: "y"}]},
        options: {scales: {y: {beginAtZero: true, position: "left", ticks: {precision: 0}},
          pct: {min: 0, max: 100, position: "right", grid: {drawOnChartArea: false}}}}});
      const c = this.total() || {outcomes: {}};
      drawChart("chart-outcomes", {type: "bar", data: {labels: ST_OUTCOMES.map(o => W["outcome_" + o]), datasets: [
        {label: W.st_count, data: ST_OUTCOMES.map(o => (c.outcomes || {})[o] || 0),
          backgroundColor: ST_OUTCOMES.map(o => ["missed_out_of_hours", "abandoned", "unclassified"].includes(o)
            ? ST_COLORS.amber : o === "emergency" ? ST_COLORS.red : ST_COLORS.blue)}]},
        options: {indexAxis: "y", plugins: {legend: {display: false}}, scales: {x: {beginAtZero: true, ticks: {precision: 0}}}}});
      const cats = ((this.groups.category || {}).incidents || []).filter(r => r.incidents > 0)
        .sort((a, b) => b.incidents - a.incidents);
      drawChart("chart-category", {type: "bar", data: {labels: cats.map(r => r.label), datasets: [
        {label: W.st_incidents, data: cats.map(r => r.incidents), backgroundColor: ST_COLORS.green}]},
        options: {indexAxis: "y", plugins: {legend: {display: false}}, scales: {x: {beginAtZero: true, ticks: {precision: 0}}}}});
      const stages = this.stageRows();
      const palette = [ST_COLORS.amber, ST_COLORS.blue, ST_COLORS.green];
      drawChart("chart-stages", {type: "bar", data: {labels: stages.map(r => r.label), datasets: ST_STAGES.map((s, i) => ({
        label: W["stage_" + s] + " (" + W.st_median + ", " + W.minutes + ")",
        data: stages.map(r => r.stages[s].median_s == null ? null : r.stages[s].median_s / 60),
        backgroundColor: palette[i]}))}, options: {scales: {y: {beginAtZero: true}}}});
    },
  };
}
window.statsPage = statsPage;
