/* The response plan screen: rules (admins add and switch them on/off), what to check, guided questions
   (admins add, reword, reorder or retire them; call-takers ask what is saved here), deadline policies. */
"use strict";

function emptyRule() {
  return {name: "", kind: "base", category_code: "", subcategory_code: "", max_priority: "", kode_wilayah: "",
    hour_from: "", hour_to: "", agency_codes: [], units_text: "", answers: {}};
}

function planAdmin() {
  return {
    isAdmin: REF.me.role === "admin", rules: [], findings: [], policies: [], form: emptyRule(), errors: {},
    formError: "", err: {}, policy: {agency_id: "", priority: "", step: "acknowledge", seconds: 60},
    questions: [], qErrors: {}, qSaved: {}, busy: false, newQ: null, newErrors: {}, newError: "",
    qCategory: (REF.categories.find(c => !c.parent) || {}).code || "",
    allQuestions: {}, ruleQuestions: [],  // every question by id (rules' answers in words); the rule form's category's
    async init() {
      this.newQ = this.emptyQuestion();
      await Promise.all([this.load(), this.loadQuestions(), this.loadAllQuestions()]);
    },
    async loadAllQuestions() {
      const r = await Siaga.api("GET", "/api/v1/guided-questions");
      if (!r.ok) return;
      this.allQuestions = Object.fromEntries(r.data.filter(row => row.active).map(row => [row.id, row.question]));
      this.questionCategory = Object.fromEntries(r.data.map(row => [row.id, row.category_code]));
    },
    /* a rule's answer conditions in words: "Berapa orang korban? = 1 orang" */
    answerWords(answers) {
      const lang = REF.lang === "id" ? "text_id" : "text_en";
      return Object.entries(answers || {}).map(([id, v]) => {
        const q = this.allQuestions[id];
        if (!q) return id + " = " + v;
        const o = (q.options || []).find(o => o.value === v);
        const shown = v === true ? W.yes : v === false ? W.no : o ? o[lang] : String(v);
        return q[lang] + " = " + shown;
      }).join("; ");
    },
    /* the rule form's category: its questions become conditions an answer can meet */
    ruleCategoryChanged() {
      this.form.subcategory_code = "";
      this.form.answers = {};
      const code = this.form.category_code;
      this.ruleQuestions = code ? Object.entries(this.allQuestions).filter(([id]) => this.categoryOf(id) === code)
        .map(([id, q]) => ({...q, id})).filter(q => q.kind !== "text") : [];
    },
    answerOptions(q) {
      if (q.kind === "yesno") return [{value: "yes", label: W.yes}, {value: "no", label: W.no}];
      return (q.options || []).map(o => ({value: o.value, label: REF.lang === "id" ? o.text_id : o.text_en}));
    },
    categoryOf(qid) { return this.questionCategory[qid]; },
    questionCategory: {},
    emptyOption() { return {value: "", text_id: "", text_en: "", raises_priority_to: ""}; },
    emptyQuestion() {
      return {id: this.qCategory ? this.qCategory + "." : "", kind: "yesno", text_id: "", text_en: "",
        raises_priority_to: "", raises_on: "yes", options: []};
    },
    kindChanged() {
      if (this.newQ.kind === "choice" && this.newQ.options.length < 2) this.newQ.options = [this.emptyOption(), this.emptyOption()];
      if (this.newQ.kind !== "choice") this.newQ.options = [];
    },
    /* a question as the form edits it (priorities as strings for the selects; saved option codes locked) */
    editable(row) {
      const q = JSON.parse(JSON.stringify(row.question));
      q.raises_priority_to = q.raises_priority_to == null ? "" : String(q.raises_priority_to);
      q.options = (q.options || []).map(o => ({...o, saved: true,
        raises_priority_to: o.raises_priority_to == null ? "" : String(o.raises_priority_to)}));
      return {...row, question: q, loaded: JSON.stringify([row.question, row.active])};
    },
    /* the form's question as the API takes it */
    questionBody(q) {
      const prio = v => (v === "" || v == null ? null : Number(v));
      const body = {id: q.id.trim(), kind: q.kind, text_id: q.text_id, text_en: q.text_en, raises_on: q.raises_on || "yes",
        raises_priority_to: q.kind === "yesno" ? prio(q.raises_priority_to) : null, options: []};
      if (q.kind === "choice") {
        body.options = q.options.map(o => ({value: o.value.trim(), text_id: o.text_id, text_en: o.text_en,
          raises_priority_to: prio(o.raises_priority_to)}));
      }
      return body;
    },
    problemText(r) { return r.summary; },
    async loadQuestions() {
      if (!this.qCategory) return;
      const code = this.qCategory;
      const r = await Siaga.api("GET", "/api/v1/guided-questions?" + new URLSearchParams({category_code: code}));
      if (!r.ok || code !== this.qCategory) return;
      this.questions = r.data.map(row => this.editable(row));
      this.qErrors = {}; this.qSaved = {};
      if (!this.newQ || !this.newQ.text_id) this.newQ = this.emptyQuestion();
    },
    async saveQuestion(q) {
      this.busy = true;
      const r = await Siaga.api("PUT", `/api/v1/guided-questions/${encodeURIComponent(q.id)}`,
        {version: q.version, question: this.questionBody(q.question), active: q.active});
      this.busy = false;
      this.qErrors = {...this.qErrors, [q.id]: r.ok ? "" : this.problemText(r)};
      this.qSaved = {...this.qSaved, [q.id]: r.ok};
      if (r.ok) Object.assign(q, this.editable(r.data));
    },
    /* move a question up or down: the whole order is sent at once (the server refuses a list that misses a
       question added meanwhile); words being edited in other rows are kept */
    async move(i, step) {
      const ids = this.questions.map(q => q.id);
      [ids[i], ids[i + step]] = [ids[i + step], ids[i]];
      this.busy = true;
      const r = await Siaga.api("PUT", `/api/v1/categories/${encodeURIComponent(this.qCategory)}/questions/order`, {ids});
      this.busy = false;
      this.qErrors = {...this.qErrors, _order: r.ok ? "" : this.problemText(r)};
      if (!r.ok) return;
      const mine = Object.fromEntries(this.questions.map(q => [q.id, q]));
      this.questions = r.data.map(row => {
        const local = mine[row.id];
        if (!local) return this.editable(row);
        // Only the place moved: keep what is being typed with the new version and place. If someone else
        // changed the question meanwhile, keep the version seen, so saving over their words is refused.
        const same = JSON.stringify([row.question, row.active]) === local.loaded;
        return Object.assign(local, same ? {position: row.position, version: row.version} : {position: row.position});
      });
    },
    async addQuestion() {
      this.newErrors = {}; this.newError = "";
      const body = {category_code: this.qCategory, question: this.questionBody(this.newQ), active: true};
      const r = await Siaga.api("POST", "/api/v1/guided-questions", body);
      if (!r.ok) {
        this.newErrors = r.errors;
        this.newError = this.problemText(r);
        return;
      }
      this.newQ = this.emptyQuestion();
      // added to the list as saved; what is being typed in the other questions stays
      if (r.data.category_code === this.qCategory) {
        this.questions = [...this.questions, this.editable(r.data)].sort((a, b) => a.position - b.position || a.id.localeCompare(b.id));
      }
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
      this.err = {toggle: r.ok ? "" : r.summary};
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
        agency_codes: this.form.agency_codes, units, answers: {}};
      for (const [id, v] of Object.entries(this.form.answers)) {
        if (v === "" || v == null) continue;
        body.answers[id] = v === "yes" ? true : v === "no" ? false : v;
      }
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
      this.err = {policy: r.ok ? "" : r.summary};
      await this.load();
    },
  };
}
window.planAdmin = planAdmin;
