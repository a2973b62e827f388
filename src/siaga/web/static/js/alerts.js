/* People notice what needs them: a sound (WebAudio, generated here: no file, no internet), a desktop
   notification (Notification API) and a line in the console for what is NEW to this console and needs its
   role — a ringing call for a call-taker, a new incident or an escalation for a dispatcher or supervisor, a
   new assignment for an agency. What a snapshot shows is known, never announced: the first snapshot of a
   page, and the snapshot a reconnect reloads, only announce what this console had not seen before.
   The volume and mute are the user's, stored on the server (PUT /api/v1/me/alerts), so they follow an
   operator to another desk. A browser that blocks audio until a click (autoplay policy) is said so in a
   banner with the click to give; desktop notifications are asked for from a click, and a refusal is shown. */
"use strict";

const ALERT_ROLES = {
  call: ["call_taker"],
  incident: ["dispatcher", "supervisor"],
  escalation: ["dispatcher", "supervisor"],
  assignment: ["agency_operator"],
};
/* Each kind's tones: [frequency Hz, start s, length s]; a ring is two-tone, an escalation fast and high. */
const ALERT_TONES = {
  call: [[880, 0, 0.25], [660, 0.3, 0.25], [880, 0.6, 0.25], [660, 0.9, 0.25]],
  incident: [[740, 0, 0.18], [740, 0.25, 0.18], [988, 0.5, 0.3]],
  escalation: [[1175, 0, 0.12], [1175, 0.16, 0.12], [1175, 0.32, 0.12], [1175, 0.48, 0.12], [1397, 0.64, 0.3]],
  assignment: [[660, 0, 0.2], [990, 0.28, 0.35]],
};
const ALERT_TITLES = {call: "alert_new_call", incident: "alert_new_incident", escalation: "alert_escalation",
  assignment: "alert_new_assignment"};

const SiagaAlerts = {
  volume: REF.me.alerts.volume,
  muted: REF.me.alerts.muted,
  audioBlocked: false,
  permission: "Notification" in window ? Notification.permission : "unsupported",
  saveError: "",
  shown: [],      // the console's own list of recent alerts (newest first)
  log: [],        // every alert as it was raised: {kind, key, sound, desktop} (read by the browser tests)
  audio: null,
  saving: null,
  seen: null,     // null until the first snapshot: {calls, incidents, assignments, levels}
  nextId: 1,

  wants(kind) { return ALERT_ROLES[kind].includes(REF.me.role); },

  /* The audio context, made at once so the page can tell whether the browser lets it play. */
  ensureAudio() {
    if (this.audio) return this.audio;
    const Ctor = window.AudioContext || window.webkitAudioContext;
    if (!Ctor) return null;
    try { this.audio = new Ctor(); } catch (err) { return null; }
    this.audio.onstatechange = () => { this.audioBlocked = this.audio.state !== "running" && this.needsSound(); };
    return this.audio;
  },
  /* Only a console that alerts by sound worries about the autoplay policy. */
  needsSound() { return Object.keys(ALERT_ROLES).some(k => this.wants(k)); },
  checkAudio() {
    const audio = this.ensureAudio();
    if (!audio || !this.needsSound()) return;
    if (audio.state === "running") { this.audioBlocked = false; return; }
    audio.resume().catch(() => {});
    // A browser that allows autoplay starts it at once; one that blocks it leaves it suspended until a click.
    setTimeout(() => { this.audioBlocked = audio.state !== "running"; }, 250);
  },
  /* The user's click: allowed to start audio under every autoplay policy. */
  async enableSound() {
    const audio = this.ensureAudio();
    if (!audio) return;
    try { await audio.resume(); } catch (err) { /* stays blocked: the banner stays */ }
    this.audioBlocked = audio.state !== "running";
  },
  play(kind) {
    if (this.muted || this.volume <= 0) return false;
    const audio = this.ensureAudio();
    if (!audio) return false;
    if (audio.state !== "running") { this.audioBlocked = true; return false; }
    const t0 = audio.currentTime + 0.02;
    const gain = 0.5 * (this.volume / 100);
    for (const [freq, start, length] of ALERT_TONES[kind]) {
      const osc = audio.createOscillator(), g = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      g.gain.setValueAtTime(0, t0 + start);
      g.gain.linearRampToValueAtTime(gain, t0 + start + 0.01);
      g.gain.linearRampToValueAtTime(0, t0 + start + length);
      osc.connect(g).connect(audio.destination);
      osc.start(t0 + start);
      osc.stop(t0 + start + length + 0.02);
    }
    return true;
  },
  /* Desktop notifications: asked for from the user's click, as browsers require. */
  async askDesktop() {
    if (!("Notification" in window)) { this.permission = "unsupported"; return; }
    try { this.permission = await Notification.requestPermission(); }
    catch (err) { this.permission = Notification.permission; }
  },
  desktop(title, body, tag) {
    if (!("Notification" in window) || Notification.permission !== "granted") return false;
    try {
      const n = new Notification(title, {body, tag, renotify: true, requireInteraction: false});
      n.onclick = () => { window.focus(); n.close(); };
      return true;
    } catch (err) { return false; }
  },
  raise(kind, key, body, href) {
    const title = W[ALERT_TITLES[kind]];
    const sound = this.play(kind);
    const desktop = this.desktop(title, body, kind + ":" + key);
    this.log.push({kind, key, sound, desktop, blocked: this.audioBlocked, muted: this.muted});
    this.shown.unshift({id: this.nextId++, kind, title, body, href, at: Siaga.now()});
    this.shown.splice(5);
  },
  dismiss(id) { this.shown = this.shown.filter(a => a.id !== id); },

  /* One save at a time: a slider sends its change events in quick succession, and two writes of the same
     user at once would conflict (the row is versioned). */
  save() {
    this.saving = (this.saving || Promise.resolve()).then(() => this.saveNow());
    return this.saving;
  },
  async saveNow() {
    const volume = Math.max(0, Math.min(100, Math.round(Number(this.volume) || 0)));
    this.volume = volume;
    const r = await Siaga.api("PUT", "/api/v1/me/alerts", {volume, muted: !!this.muted});
    this.saveError = r.ok ? "" : (r.problem && r.problem.detail) || W.alerts_save_failed;
    if (r.ok) { this.volume = r.data.volume; this.muted = r.data.muted; }
  },
  toggleMute() { this.muted = !this.muted; this.save(); },

  /* ---- what is new -------------------------------------------------------------------------------- */
  incidentLabel(i) {
    return [i.number, Siaga.categoryName(i.subcategory_code || i.category_code), "P" + i.priority,
      Siaga.regionName(i.kode_wilayah)].filter(Boolean).join(" · ");
  },
  /* Compare what the console now holds with what it had seen: announce the new, remember everything. */
  review(announce) {
    const live = window.Live;
    const seen = this.seen || {calls: new Set(), incidents: new Set(), assignments: new Set(), levels: new Map()};
    for (const c of Object.values(live.calls)) {
      if (!["offered", "ringing"].includes(c.status) || seen.calls.has(c.id)) continue;
      seen.calls.add(c.id);
      if (announce && this.wants("call")) this.raise("call", c.id, c.caller_number || "", null);
    }
    for (const i of Object.values(live.incidents)) {
      if (!seen.incidents.has(i.id)) {
        seen.incidents.add(i.id);
        if (announce && this.wants("incident")) this.raise("incident", i.id, this.incidentLabel(i), "/incident/" + i.id);
      }
      for (const a of i.assignments) {
        if (!seen.assignments.has(a.id)) {
          seen.assignments.add(a.id);
          if (announce && this.wants("assignment") && a.agency_id === REF.me.agency_id && a.state === "notified")
            this.raise("assignment", a.id, this.incidentLabel(i), "/incident/" + i.id);
        }
        const before = seen.levels.has(a.id) ? seen.levels.get(a.id) : a.escalation_level;
        seen.levels.set(a.id, a.escalation_level);
        if (announce && this.wants("escalation") && a.escalation_level > before)
          this.raise("escalation", a.id + ":" + a.escalation_level,
            Siaga.agencyName(a.agency_id) + " — " + this.incidentLabel(i), "/incident/" + i.id);
      }
    }
    this.seen = seen;
  },
  follow(event) {
    if (event.kind === "snapshot") {
      // The first snapshot is what the console opens on: known. A later one (a reconnect) may hold what
      // arrived while the stream was down: only that is announced.
      this.review(this.seen !== null);
      return;
    }
    if (this.seen === null) return;
    if (["incident", "call"].includes(event.entity)) this.review(true);
  },
};

document.addEventListener("alpine:init", () => {
  Alpine.store("alerts", SiagaAlerts);
  const alerts = Alpine.store("alerts");
  window.SiagaAlerts = alerts;  // the reactive store
  window.Live.on(event => alerts.follow(event));
  alerts.checkAudio();
});
