/* Measures on callers' numbers: supervisors approve (a second supervisor, with a legal basis), reject or
   lift them; a number's history; proposing a measure. Nothing here can block a call. */
"use strict";

function callersPage() {
  return {
    mayDecide: REF.me.role === "supervisor", measures: [], basis: {}, notes: {}, err: {}, number: "", found: null,
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
      this.err = Object.assign({}, this.err, {[m.id]: r.ok ? "" : r.problem.detail + " " + Object.values(r.errors).join("; ")});
      if (r.ok) await this.load();
    },
    async lookup(number) {
      this.number = number;
      const enc = encodeURIComponent(number.trim());
      const [summary, history] = await Promise.all([Siaga.api("GET", `/api/v1/callers/${enc}/summary`),
        Siaga.api("GET", `/api/v1/callers/${enc}/history`)]);
      this.found = summary.ok && history.ok ? {summary: summary.data.summary, history: history.data} : null;
    },
    async propose() {
      const r = await Siaga.api("POST", `/api/v1/callers/${encodeURIComponent(this.number.trim())}/measures`,
        this.proposal, {"Idempotency-Key": Siaga.idempotencyKey()});
      this.proposalError = r.ok ? "" : r.problem.detail + " " + Object.values(r.errors).join("; ");
      if (r.ok) { this.proposal = {kind: "flag", reason: "", legal_basis: "", duration_hours: 24}; await this.load(); }
    },
  };
}
window.callersPage = callersPage;
