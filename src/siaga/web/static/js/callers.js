/* Measures on callers' numbers: supervisors approve (a second supervisor, with a legal basis), reject or
   lift them; a number's history; proposing a measure. Nothing here can block a call. Numbers are shown
   masked; a holder of numbers.reveal reveals one (audited, static/js/numbers.js). Looking a number up from
   the list keeps it masked on the screen: `target` is what is asked for, `number` what the field shows. */
"use strict";

function callersPage(mayReveal) {
  return Object.assign(SiagaNumbers.mixin(mayReveal), {
    mayDecide: REF.me.role === "supervisor", measures: [], basis: {}, notes: {}, err: {}, number: "", found: null,
    target: "", shownAs: null,
    proposal: {kind: "flag", reason: "", legal_basis: "", duration_hours: 24}, proposalError: "",
    async init() { await this.load(); },
    async load() {
      const r = await Siaga.api("GET", "/api/v1/measures?limit=200");
      if (r.ok) this.measures = r.data.sort((a, b) => (a.state !== "proposed") - (b.state !== "proposed"));
    },
    async decide(m, action) {
      const body = {action, version: m.version, note: this.notes[m.id] || ""};
      if (action === "approve") body.legal_basis = this.basis[m.id] || m.legal_basis || "";
      const r = await Siaga.api("POST", `/api/v1/measures/${m.id}/decision`, body);
      this.err = Object.assign({}, this.err, {[m.id]: r.ok ? "" : r.summary});
      if (r.ok) await this.load();
    },
    async lookup(number, key) {
      this.target = number;
      this.number = key ? this.shownNumber(key, number) : number;
      this.shownAs = key ? this.number : null;
      const enc = encodeURIComponent(number.trim());
      const [summary, history] = await Promise.all([Siaga.api("GET", `/api/v1/callers/${enc}/summary`),
        Siaga.api("GET", `/api/v1/callers/${enc}/history`)]);
      this.found = summary.ok && history.ok ? {summary: summary.data.summary, history: history.data} : null;
    },
    async propose() {
      const r = await Siaga.api("POST", `/api/v1/callers/${encodeURIComponent(this.target.trim())}/measures`,
        this.proposal, {"Idempotency-Key": Siaga.idempotencyKey()});
      this.proposalError = r.ok ? "" : r.summary;
      if (r.ok) { this.proposal = {kind: "flag", reason: "", legal_basis: "", duration_hours: 24}; await this.load(); }
    },
  });
}
window.callersPage = callersPage;
