// The call recordings of a call or an incident: one HTML5 player each (seek through HTTP Range, speed), the state of
// a recording that cannot be played, and a download link for supervisors. Playback is audited server-side.
function recordingsPanel(listUrl) {
  return {
    recordings: [], loaded: false, error: "", listening: false,
    // A recording attached while the page is open (the ticker writes it a few seconds after the call ends)
    // arrives as an entry in its incident's timeline: the list reloads then, for this call or this incident.
    follow() {
      if (this.listening || !window.Live) return;
      this.listening = true;
      const [, what, id] = listUrl.match(/\/(calls|incidents)\/(\d+)\//) || [];
      window.Live.on(event => {
        if (event.entity !== "timeline" || event.payload.kind !== "recording") return;
        const data = event.payload.data || {};
        const mine = what === "calls" ? String(data.call_id) === id : String(event.payload.incident_id) === id;
        if (mine) this.load();
      });
    },
    async load() {
      this.follow();
      const r = await Siaga.api("GET", listUrl);
      if (r.ok) { this.recordings = r.data; this.error = ""; } else { this.error = (r.data && r.data.title) || String(r.status); }
      this.loaded = true;
    },
    audioUrl(rec) { return `/api/v1/recordings/${rec.id}/audio`; },
    downloadUrl(rec) { return `/api/v1/recordings/${rec.id}/download`; },
    length(rec) {
      const s = Math.round(rec.duration_s || 0);
      return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    },
    // The waveform: the caller above the line, the operator below; a click seeks there.
    async drawWave(rec, canvas) {
      const r = await Siaga.api("GET", `/api/v1/recordings/${rec.id}/peaks?points=${canvas.width}`);
      if (!r.ok) return;
      const g = canvas.getContext("2d"), mid = canvas.height / 2;
      g.clearRect(0, 0, canvas.width, canvas.height);
      r.data.caller.forEach((v, x) => { g.fillStyle = "#1f6fb2"; g.fillRect(x, mid - v * mid, 1, v * mid); });
      r.data.operator.forEach((v, x) => { g.fillStyle = "#2e8540"; g.fillRect(x, mid, 1, v * mid); });
      canvas.dataset.drawn = "1";
    },
    seekTo(ev, rec) {
      const player = document.getElementById(`rec-audio-${rec.id}`);
      const canvas = ev.currentTarget;
      if (!player || !rec.duration_s) return;
      player.currentTime = Math.max(0, Math.min(1, ev.offsetX / canvas.clientWidth)) * rec.duration_s;
    },
    setSpeed(ev, rec) {
      const player = document.getElementById(`rec-audio-${rec.id}`);
      if (player) player.playbackRate = parseFloat(ev.target.value) || 1;
    },
  };
}
