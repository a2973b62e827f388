/* Correcting an incident after it was created (issue #15), shared by the incident page and the call-taker's
   screen. A correction sends only what the operator changed, with the version they saw (PATCH). When
   someone else changed the incident meanwhile (409 stale_version) it says who and what in words, and a
   reload takes the latest version while keeping every value the operator typed: fields they did not touch
   take the new values, fields they changed keep theirs. */
"use strict";

const SiagaCorrect = {
  FIELDS: ["category_code", "subcategory_code", "priority", "lat", "lon", "kode_wilayah", "landmark_id",
    "address_text", "patokan", "description"],
  /* the incident's values as a form holds them (answers as the radio buttons hold yes/no) */
  formOf(inc) {
    const form = {};
    for (const f of this.FIELDS) form[f] = inc[f] == null ? (["lat", "lon", "kode_wilayah", "landmark_id", "priority"].includes(f) ? null : "") : inc[f];
    form.answers = {};
    for (const [k, v] of Object.entries(inc.answers || {})) form.answers[k] = v === true ? "yes" : v === false ? "no" : (v == null ? "" : v);
    return form;
  },
  /* the form's answers as the API takes them: yes/no as booleans, unanswered left out */
  answersOf(form, questions) {
    const kinds = Object.fromEntries((questions || []).map(q => [q.id, q.kind]));
    const out = {};
    for (const [k, v] of Object.entries(form.answers || {})) {
      if (v === "" || v == null || !(k in kinds)) continue;
      out[k] = kinds[k] === "yesno" ? v === "yes" : v;
    }
    return out;
  },
  same(a, b) {
    const norm = v => (v === "" || v === undefined ? null : v);
    return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
  },
  /* the PATCH body: what differs from the incident as the operator saw it (`base`) */
  changes(base, form, questions) {
    const body = {};
    for (const f of this.FIELDS) if (!this.same(form[f], base[f])) body[f] = form[f] === "" && f !== "address_text" && f !== "patokan" && f !== "description" ? null : form[f];
    if (questions) {
      const answers = this.answersOf(form, questions);
      const before = base.answers || {};
      if (JSON.stringify(Object.entries(answers).sort()) !== JSON.stringify(Object.entries(before).sort())) body.answers = answers;
    }
    return body;
  },
  /* the 409 in words: who changed the incident and what, and that the operator's values are kept */
  conflictText(problem) {
    const params = (problem && problem.params) || {};
    const fields = String(params.changed || "").split(",").filter(Boolean).map(f => W["field_" + f] || f);
    return W.correction_conflict.replace("{by}", params.changed_by || W.someone_else)
      .replace("{fields}", fields.length ? fields.join(", ") : W.field_other) + " " + W.correction_conflict_keep;
  },
  /* after a reload: the latest values, except where the operator typed something else than they had seen */
  merge(base, form, fresh) {
    const out = Object.assign({}, form);
    const latest = this.formOf(fresh);
    const seen = this.formOf(base);
    for (const f of this.FIELDS) if (this.same(form[f], seen[f])) out[f] = latest[f];
    if (this.same(form.answers, seen.answers)) out.answers = latest.answers;
    return out;
  },
};
window.SiagaCorrect = SiagaCorrect;
