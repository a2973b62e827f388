/* Callers' numbers outside the call-taker's own screen: always shown masked, as the reports mask them
   ('****890': the last three digits); a holder of numbers.reveal reveals one with a click and a reason —
   an audited request (POST /api/v1/calls/{id}/reveal-number or /measures/{id}/reveal-number; the server
   records who, why and which call). The revealed number stays on this page only. */
"use strict";

const SiagaNumbers = {
  mask(n) {
    const s = String(n || "");
    if (s === "anonymised") return W.anonymised;
    if (s.startsWith("*")) return s;  // already masked by the server
    const d = s.replace(/\D/g, "");
    if (!d) return "";
    return d.length <= 3 ? "***" : "****" + d.slice(-3);
  },
  isFull(n) { const s = String(n || ""); return !!s && !s.startsWith("*") && s !== "anonymised"; },
  /* Mixed into a page's Alpine component: revealed numbers by key ('c12' a call, 'm3' a measure). */
  mixin(mayReveal) {
    return {
      mayReveal, revealed: {}, revealing: null, revealReason: "", revealError: "",
      shownNumber(key, number) {
        if (key in this.revealed) return this.revealed[key] || W.withheld;
        return SiagaNumbers.mask(number) || W.withheld;
      },
      startReveal(key) { this.revealing = key; this.revealReason = ""; this.revealError = ""; },
      cancelReveal() { this.revealing = null; this.revealError = ""; },
      async confirmReveal(kind, id, key) {
        const path = kind === "measure" ? `/api/v1/measures/${id}/reveal-number` : `/api/v1/calls/${id}/reveal-number`;
        const r = await Siaga.api("POST", path, {reason: this.revealReason.trim()});
        if (!r.ok) {
          this.revealError = r.summary;
          return;
        }
        this.revealed = Object.assign({}, this.revealed, {[key]: r.data.number});
        this.revealing = null;
      },
    };
  },
};
window.SiagaNumbers = SiagaNumbers;
