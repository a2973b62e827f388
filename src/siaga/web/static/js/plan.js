/* The response plan screen: rules (admins add and switch them on/off), what to check, guided questions
   (admins reword, reorder or retire them; call-takers ask what is saved here), deadline policies. */
"use strict";

function emptyRule() {
  return {name: "", kind: "base", category_code: "", subcategory_code: "", max_priority: "", kode_wilayah: "",
    hour_from: "", hour_to: "", agency_codes: [], units_text: ""};
}

function planAdmin() {
  return {
    isAdmin: REF.me.role === "admin", rules: [], findings: [], policies: [], form: emptyRule(), errors: {},
    formError: "", err: {}, policy: {agency_id: "", priority: "", step: "acknowledge", seconds: 60},
    questions: [], qErrors: {}, qCategory: (REF.categories.find(c => !c.parent) || {}).code || "",
    async init() { await Promise.all([this.load(), this.loadQuestions()]); },
    async loadQuestions() {
      if (!this.qCategory) return;
      const r = await Siaga.api("GET", "/api/v1/guided-questions?" + new URLSearchParams({category_code: this.qCategory}));
      if (r.ok) this.questions = r.data;
    },
    async saveQuestion(q) {
      const r = await Siaga.api("PUT", `/api/v1/guided-questions/${encodeURIComponent(q.id)}`,
        {version: q.version, question: q.question, active: q.active, position: q.position});
      this.qErrors = {...this.qErrors, [q.id]: r.ok ? "" : [r.problem.detail, ...Object.values(r.errors)].filter(Boolean).join(" ")};
      if (r.ok) Object.assign(q, r.data);
    },
    async load() {
      const [rules, findings, policies] = await Promise.all([Siaga.api("GET", "/api/v1/response-rules"),
        Siaga.api("GET", "/api/v1/response-rules/check"), Siaga.api("GET", "/api/v1/deadline-policies")]);
      if (rules.ok) this.rules = rules.data;
      if (findings.ok) this.findings = findings.data;
      if (policies.ok) this.policies = policies.data;
    },
    body(rule) {
      const keys = ["name", "kind", "category_code", "subcategory_code", "max_priority", "kode_wilayah", "hour_from",
        "hour_to", "answers", "agency_codes", "units", "note", "active"];
      return Object.fromEntries(keys.map(k => [k, rule[k]]));
    },
    async toggle(rule, active) {
      const r = await Siaga.api("PUT", `/api/v1/response-rules/${rule.id}`, {...this.body(rule), active, version: rule.version});
      this.err = {toggle: r.ok ? "" : r.problem.detail};
      await this.load();
    },
    async addRule() {
      this.errors = {}; this.formError = "";
      const units = [];
      for (const part of this.form.units_text.split(",").map(x => x.trim()).filter(Boolean)) {
        const [type, count] = part.split(":").map(x => x.trim());
        units.push({type, count: Number(count || 1)});
      }
      const num = v => (v === "" || v == null ? null : Number(v));
      const body = {name: this.form.name, kind: this.form.kind, category_code: this.form.category_code || null,
        subcategory_code: this.form.subcategory_code || null, max_priority: num(this.form.max_priority),
        kode_wilayah: this.form.kode_wilayah || null, hour_from: num(this.form.hour_from), hour_to: num(this.form.hour_to),
        agency_codes: this.form.agency_codes, units};
      const r = await Siaga.api("POST", "/api/v1/response-rules", body, {"Idempotency-Key": Siaga.idempotencyKey()});
      if (!r.ok) {
        this.errors = Object.fromEntries(Object.entries(r.errors).map(([f, m]) => [f.split(".")[0], m]));
        this.formError = r.problem.detail;
        return;
      }
      this.form = emptyRule();
      await this.load();
    },
    async setPolicy() {
      const p = this.policy;
      const r = await Siaga.api("PUT", "/api/v1/deadline-policies", {agency_id: p.agency_id ? Number(p.agency_id) : null,
        priority: p.priority ? Number(p.priority) : null, step: p.step, seconds: Number(p.seconds)});
      this.err = {policy: r.ok ? "" : r.problem.detail + " " + Object.values(r.errors).join("; ")};
      await this.load();
    },
  };
}
window.planAdmin = planAdmin;
