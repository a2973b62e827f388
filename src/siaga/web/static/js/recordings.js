// The call recordings of a call or an incident: one HTML5 player each (seek through HTTP Range, speed), the state of
// a recording that cannot be played, and a download link for supervisors. Playback is audited server-side.
function recordingsPanel(listUrl) {
  return {
    recordings: [], loaded: false, error: "",
    async load() {
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
    setSpeed(ev, rec) {
      const player = document.getElementById(`rec-audio-${rec.id}`);
      if (player) player.playbackRate = parseFloat(ev.target.value) || 1;
    },
  };
}
