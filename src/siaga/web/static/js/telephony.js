/* The telephony bar (templates/_telephony.html): is the SIP edge up, how many operators are on duty and
   calls waiting, and my own line's presence (available / break / off duty). Refreshed on every
   telephony.* or call event and every 10 s; an edge not heard from for 30 s shows as down. */
function telephonyBar() {
  return {
    status: null,
    error: "",
    async load() {
      const r = await Siaga.api("GET", "/api/v1/telephony/status");
      if (r.ok) this.status = r.data;
    },
    start() {
      this.load();
      setInterval(() => this.load(), 10000);
      const hook = () => {
        if (!window.Live) return setTimeout(hook, 100);
        window.Live.on(ev => {
          if (ev.kind && (ev.kind.startsWith("telephony.") || ev.entity === "call")) this.load();
        });
      };
      hook();
    },
    edgeState() {
      const e = this.status && this.status.edge;
      if (!e || e.state === "unknown") return "unknown";
      const fresh = e.last_seen_at && (Date.now() - Date.parse(e.last_seen_at)) < 30000;
      return e.state === "up" && fresh ? "up" : "down";
    },
    edgeText() {
      const s = this.edgeState();
      return s === "up" ? "● " + W.tel_up : s === "down" ? "⚠ " + W.tel_down : W.tel_unknown;
    },
    mine() {
      return this.status && this.status.lines.find(l => l.user_id === REF.me.user_id) || null;
    },
    async setPresence(state) {
      this.error = "";
      const r = await Siaga.api("PUT", "/api/v1/telephony/presence", {state});
      if (!r.ok) { this.error = (r.problem && (r.problem.title || r.problem.detail)) || "error"; return; }
      this.load();
    },
  };
}
window.telephonyBar = telephonyBar;
