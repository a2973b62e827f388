/* Quality review: a supervisor's review of one call, and the administrator's checklist. Every change is a
   call to /api/v1/qa; a 409 (someone reviewed or edited meanwhile) is said in words with a reload. */
(() => {
  "use strict";

  const review = document.getElementById("qa-review");
  if (review) {
    const form = document.getElementById("qa-form");
    const saved = document.getElementById("qa-saved");
    const conflict = document.getElementById("qa-conflict");
    const error = document.getElementById("qa-error");
    document.getElementById("qa-reload").addEventListener("click", () => window.location.reload());
    form.addEventListener("submit", async ev => {
      ev.preventDefault();
      saved.hidden = true;
      conflict.hidden = true;
      error.textContent = "";
      form.querySelectorAll("[data-error-for]").forEach(el => { el.textContent = ""; });
      const results = {};
      form.querySelectorAll("tr[data-item]").forEach(row => {
        const checked = row.querySelector("input[type=radio]:checked");
        if (checked && row.dataset.active === "true") results[row.dataset.item] = checked.value;
      });
      const body = {results, comment: document.getElementById("qa-comment").value};
      if (review.dataset.version) body.version = Number(review.dataset.version);
      const r = await Siaga.api("PUT", "/api/v1/qa/reviews/" + review.dataset.callId, body);
      if (r.ok) {
        review.dataset.version = String(r.data.version);
        document.getElementById("qa-comment").value = r.data.comment;
        const score = r.data.score === null ? "—" : r.data.score.toLocaleString(REF.lang === "en" ? "en-GB" : "id-ID",
        {minimumFractionDigits: 1, maximumFractionDigits: 1}) + "%";
        document.getElementById("qa-reviewed-by").textContent =
          `${W.qa_reviewer}: ${r.data.reviewer_name} · ${W.qa_score}: ${score}`;
        saved.hidden = false;
        return;
      }
      if (r.status === 409 && r.data && r.data.code === "stale_version") {
        conflict.hidden = false;
        return;
      }
      for (const [field, message] of Object.entries(r.errors)) {
        const el = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
        if (el) el.textContent = message;
      }
      error.textContent = r.problem.title || r.problem.detail;
    });
  }

  const checklist = document.getElementById("qa-checklist");
  if (checklist) {
    const update = async (row, change) => {
      const err = row.querySelector(".qa-row-error");
      err.textContent = "";
      const r = await Siaga.api("PUT", "/api/v1/qa/checklist/" + encodeURIComponent(row.dataset.item),
                                {version: Number(row.dataset.version), ...change});
      if (r.ok) { window.location.reload(); return; }
      err.textContent = Object.values(r.errors)[0] || r.problem.title || r.problem.detail;
    };
    checklist.querySelectorAll("tr.qa-check").forEach(row => {
      row.querySelector(".qa-rename").addEventListener("click", () => update(row, {
        label_id: row.querySelector(".qa-label-id").value, label_en: row.querySelector(".qa-label-en").value}));
      const retire = row.querySelector(".qa-retire");
      if (retire) retire.addEventListener("click", () => update(row, {active: false}));
      const restore = row.querySelector(".qa-restore");
      if (restore) restore.addEventListener("click", () => update(row, {active: true}));
    });
    const add = document.getElementById("qa-add");
    add.addEventListener("submit", async ev => {
      ev.preventDefault();
      const err = document.getElementById("qa-add-error");
      err.textContent = "";
      const r = await Siaga.api("POST", "/api/v1/qa/checklist", {
        id: document.getElementById("qa-new-id").value.trim(),
        label_id: document.getElementById("qa-new-label-id").value,
        label_en: document.getElementById("qa-new-label-en").value});
      if (r.ok) { window.location.reload(); return; }
      err.textContent = Object.values(r.errors)[0] || r.problem.title || r.problem.detail;
    });
  }
})();
