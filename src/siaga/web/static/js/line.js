/* The call-taker's line in the browser (templates/_line.html, on the call-taker console — and on the agency
   console for an agency operator's line, issue 17: answer, decline, mute, hang up; never a 112 call): SIP over WebSocket
   to the edge with JsSIP (static/vendor/jssip@3.13.8), WebRTC audio that rtpengine bridges to the trunk.

   - The console asks the service for this session's SIP password (POST /api/v1/telephony/browser-credential:
     made now, given once, only its digest kept; opening the console elsewhere takes the line over).
   - The microphone is asked for first: a blocked or missing microphone is shown (with what to do) and the
     line is not registered, so no call waits on a console that cannot speak.
   - A call the call-taker claimed on the console arrives with Call-Info answer-after=0 and is answered at
     once; another ringing call shows an Answer button.
   - Controls: answer, hang up, mute, hold, key tones (RFC 4733), microphone and speaker choice (setSinkId),
     a level meter of the microphone (WebAudio AnalyserNode). Every state is visible and read out (aria-live).
   - Joining an agency (issue 17, docs/telephony.md 1d): the console asks the service for the agency's number
     (POST /api/v1/calls/{id}/agency-calls) and this UA places a second call to it through the edge; once the
     agency answers, the browser mixes the conference itself (WebAudio): the caller is sent the call-taker and
     the agency, the agency the call-taker and the caller, the call-taker hears both. Leaving takes the
     microphone out of both mixes and silences the speaker; the browser keeps bridging until one side hangs up
     (closing the console ends the bridge). Transfers are the caller's call's REFER, to the trunk. */
// The microphone and speaker chosen on this PC (localStorage; nothing if the browser refuses storage).
function remembered(key) {
  try { return localStorage.getItem(`siaga.line.${key}`) || ""; } catch (e) { return ""; }
}
function remember(key, value) {
  try {
    if (value) localStorage.setItem(`siaga.line.${key}`, value); else localStorage.removeItem(`siaga.line.${key}`);
  } catch (e) { /* private mode: the choice lasts this page */ }
}

function browserLine() {
  // The SIP stack, the call and the media stay out of Alpine's reactive data: Alpine would wrap them in
  // proxies (identity checks fail, and JsSIP's and WebRTC's objects are not meant to be proxied).
  const my = {ua: null, session: null, stream: null, meter: null, retry: null,
              agency: null, mix: null};  // the second call (to the agency) and the conference's WebAudio graph
  return {
    device: "",          // "browser" | "phone" | "" (no line)
    state: "off",        // off | mic_blocked | no_mic | registering | registered | failed
    call: "idle",        // idle | ringing | connecting | active | ended
    muted: false,
    held: false,
    level: 0,
    reinvites: 0,        // session refreshes from the trunk answered during this call
    mics: [],
    speakers: [],
    mic: remembered("mic"),          // the devices chosen on this PC, kept for the next console (a headset)
    speaker: remembered("speaker"),
    error: "",
    extension: "",
    // Joining an agency: the chooser, the agency's leg and its state, the conference, the call-taker gone.
    joinOpen: false,
    joinCallId: null,
    choices: [],         // [{id, label}]: agencies with a number or an operator line, the incident's first
    choice: "",
    joinError: "",
    leg: null,           // {id, agency_id, name, state: ringing|talking|ended|failed, reason}
    conference: false,
    left: false,
    transfer: "",        // "" | asking | refused | failed | done
    transferText: "",

    async start() {
      await this.loadLine();
      const hook = () => {
        if (!window.Live) return setTimeout(hook, 100);
        window.Live.on(ev => {
          if (ev.kind === "telephony.line" && ev.entity_id === REF.me.user_id) this.loadLine();
        });
      };
      hook();
      window.addEventListener("beforeunload", () => this.stop());
    },
    async loadLine() {
      const r = await Siaga.api("GET", "/api/v1/telephony/line");  // my own line (an agency operator's too)
      if (!r.ok) return;
      const line = r.data;
      const device = line ? line.device : "";
      this.extension = line ? line.extension : "";
      if (device === this.device) return;
      this.device = device;
      if (device === "browser") this.connect(); else this.stop();
    },
    async choose(device) {
      this.error = "";
      const r = await Siaga.api("PUT", `/api/v1/telephony/lines/${REF.me.user_id}/device`, {device});
      if (!r.ok) { this.error = r.summary; return; }
      await this.loadLine();
    },

    // --- the microphone -----------------------------------------------------------------------------------
    async openMic() {
      if (my.stream) my.stream.getTracks().forEach(t => t.stop());
      my.stream = null;
      try {
        my.stream = await navigator.mediaDevices.getUserMedia(
          {audio: this.mic ? {deviceId: {exact: this.mic}} : true, video: false});
      } catch (e) {
        // The microphone chosen earlier is gone (a headset unplugged): the default one, rather than none.
        if (this.mic && e && (e.name === "OverconstrainedError" || e.name === "NotFoundError")) {
          this.mic = "";
          return this.openMic();
        }
        this.state = (e && e.name === "NotFoundError") ? "no_mic" : "mic_blocked";
        return false;
      }
      this.meter(my.stream);
      await this.listDevices();
      return true;
    },
    async listDevices() {
      const all = await navigator.mediaDevices.enumerateDevices();
      this.mics = all.filter(d => d.kind === "audioinput").map(d => ({id: d.deviceId, label: d.label || d.deviceId}));
      this.speakers = all.filter(d => d.kind === "audiooutput").map(d => ({id: d.deviceId, label: d.label || d.deviceId}));
      if (this.speaker && !this.speakers.some(d => d.id === this.speaker)) this.speaker = "";  // gone: the default
      await this.applySpeaker();
    },
    meter(stream) {
      if (my.meter) { my.meter.ctx.close(); my.meter = null; }
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      const ctx = new Ctx();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      ctx.createMediaStreamSource(stream).connect(analyser);
      const data = new Float32Array(analyser.fftSize);
      my.meter = {ctx, analyser};
      const tick = () => {
        if (!my.meter || my.meter.analyser !== analyser) return;
        analyser.getFloatTimeDomainData(data);
        let sum = 0;
        for (const x of data) sum += x * x;
        const rms = Math.sqrt(sum / data.length);
        this.level = (this.muted || this.held) ? 0 : Math.min(100, Math.round(rms * 300));
        setTimeout(tick, 100);
      };
      ctx.resume().finally(tick);
    },
    async chooseMic() {
      remember("mic", this.mic);
      await this.openMic();
      if (!my.stream) return;
      const track = my.stream.getAudioTracks()[0];
      if (my.mix) {  // in a conference the senders carry the mixes: the new microphone goes into both
        my.mix.mic.disconnect();
        my.mix.mic = my.mix.ctx.createMediaStreamSource(my.stream);
        my.mix.mic.connect(my.mix.micGain);
      } else {
        for (const s of [my.session, my.agency]) {
          const pc = s && s.connection;
          if (pc) await sendTrack(pc, track);
        }
      }
      this.applyMic();
    },
    async chooseSpeaker() {
      remember("speaker", this.speaker);
      await this.applySpeaker();
    },
    // Both outputs: the caller's and, in a conference, the agency's (heard from the same headset).
    async applySpeaker() {
      for (const ref of ["audio", "agencyAudio"]) {
        const el = this.$refs[ref];
        if (!el || !el.setSinkId || el.sinkId === this.speaker) continue;
        try { await el.setSinkId(this.speaker); } catch (e) { this.error = W.line_speaker_failed; }
      }
    },

    // --- registration ---------------------------------------------------------------------------------------
    async connect() {
      this.stop();
      this.error = "";
      if (!window.JsSIP) { this.state = "failed"; return; }
      if (!(await this.openMic())) return;  // blocked: not registered, said so
      this.state = "registering";
      const r = await Siaga.api("POST", "/api/v1/telephony/browser-credential");
      if (!r.ok) { this.state = "off"; this.error = r.summary; return; }  // e.g. browser lines not enabled
      const cred = r.data;
      const ua = new JsSIP.UA({
        sockets: [new JsSIP.WebSocketInterface(cred.ws_url)],
        uri: `sip:${cred.extension}@${cred.domain}`, authorization_user: cred.extension, password: cred.password,
        realm: cred.domain, register: true, register_expires: cred.expires_s, session_timers: false,
        user_agent: "Siaga112-console", connection_recovery_min_interval: 2, connection_recovery_max_interval: 30,
      });
      my.ua = ua;
      ua.on("registered", () => { if (my.ua === ua) this.state = "registered"; });
      ua.on("unregistered", () => { if (my.ua === ua && this.state === "registered") this.state = "off"; });
      ua.on("disconnected", () => { if (my.ua === ua && this.state === "registered") this.state = "registering"; });
      let wait = 1000;
      ua.on("registered", () => { wait = 1000; });
      ua.on("registrationFailed", () => {
        if (my.ua !== ua) return;
        // The edge learns this session's password within half a second of its making: the first REGISTER
        // may come before. Try again with the same password, less and less often (another console that took
        // the line over made a new one: this one stays "not registered" and says so).
        this.state = "failed";
        clearTimeout(my.retry);
        my.retry = setTimeout(() => { if (my.ua === ua) { this.state = "registering"; ua.register(); } }, wait);
        wait = Math.min(wait * 2, 30000);
      });
      ua.on("newRTCSession", e => this.incoming(e));
      ua.start();
    },
    stop() {
      clearTimeout(my.retry);
      const ua = my.ua;
      my.ua = null;
      for (const s of [my.agency, my.session]) if (s) { try { s.terminate(); } catch (e) { /* already over */ } }
      my.session = null;
      my.agency = null;
      this.unmix();
      if (ua) { try { ua.stop(); } catch (e) { /* gone */ } }
      if (my.stream) my.stream.getTracks().forEach(t => t.stop());
      my.stream = null;
      if (my.meter) { my.meter.ctx.close(); my.meter = null; }
      this.state = "off";
      this.call = "idle";
    },

    // --- calls -----------------------------------------------------------------------------------------------
    incoming(e) {
      if (e.originator !== "remote") return;
      const session = e.session;
      if (my.session && !my.session.isEnded()) { session.terminate({status_code: 486}); return; }
      my.session = session;
      this.muted = false;
      this.held = false;
      this.left = false;
      this.reinvites = 0;
      this.transfer = "";
      this.call = "ringing";
      const el = this.$refs.audio;
      if (el) el.muted = false;
      if (my.stream) my.stream.getAudioTracks().forEach(t => { t.enabled = true; });
      const auto = /answer-after=0/.test(e.request.getHeader("Call-Info") || "");
      session.on("peerconnection", ev => this.attach(ev.peerconnection));
      session.on("reinvite", () => { if (my.session === session) this.reinvites += 1; });
      session.on("accepted", () => { if (my.session === session) this.call = "active"; });
      session.on("confirmed", () => { if (my.session === session) this.call = "active"; });
      const over = () => {
        if (my.session !== session) return;
        my.session = null;
        this.call = "ended";
        this.joinOpen = false;
        // The caller is gone: a bridge the call-taker left has no one to bridge; else the call-taker stays
        // with the agency, as a two-party call.
        if (my.agency && this.left) this.dropAgency();
        else this.unmix();
        setTimeout(() => { if (!my.session) this.call = "idle"; }, 3000);
      };
      session.on("ended", over);
      session.on("failed", over);
      if (auto) this.answer();
    },
    attach(pc, ref = "audio") {
      pc.addEventListener("track", ev => {
        const el = this.$refs[ref];
        if (el) { el.srcObject = ev.streams[0] || new MediaStream([ev.track]); el.play().catch(() => {}); }
      });
    },
    answer() {
      const session = my.session;
      if (!session || this.call !== "ringing") return;
      this.call = "connecting";
      session.answer({mediaStream: my.stream, pcConfig: {iceServers: []},
                      rtcOfferConstraints: {offerToReceiveAudio: true}});
    },
    // What the browser receives from the caller (RTCPeerConnection statistics): packets and audio energy;
    // inbound("agency"): from the agency joined to the call.
    async inbound(leg) {
      const s = leg === "agency" ? my.agency : my.session;
      const pc = s && s.connection;
      if (!pc) return {packets: 0, energy: 0};
      let out = {packets: 0, energy: 0};
      (await pc.getStats()).forEach(r => {
        if (r.type === "inbound-rtp" && r.kind === "audio") out = {packets: r.packetsReceived || 0, energy: r.totalAudioEnergy || 0};
      });
      return out;
    },
    hangup() { if (my.session) my.session.terminate(); },
    // Refuse a ringing call (the agency console's "Tolak"): the caller's line hears 603 Decline.
    decline() {
      if (my.session && this.call === "ringing") my.session.terminate({status_code: 603, reason_phrase: "Decline"});
    },
    // The microphone: off when muted, on hold or gone from the conference (the track itself, so that the
    // call and both mixes fall silent, and the level meter with them).
    applyMic() {
      const on = !this.muted && !this.held && !this.left;
      if (my.stream) my.stream.getAudioTracks().forEach(t => { t.enabled = on; });
      if (my.mix) my.mix.micGain.gain.value = on ? 1 : 0;
    },
    toggleMute() {
      if (!my.session || this.call !== "active") return;
      this.muted = !this.muted;
      this.applyMic();
    },
    // Hold keeps the caller connected and silent both ways, here in the browser: nothing is sent to the trunk
    // (no re-INVITE: no music on hold yet, and a telco trunk need not support it). The recording goes on.
    toggleHold() {
      if (!my.session || this.call !== "active" || this.conference) return;
      this.held = !this.held;
      this.applyMic();
      const el = this.$refs.audio;
      if (el) el.muted = this.held;
    },
    dtmf(key) {
      if (my.session && this.call === "active") my.session.sendDTMF(key, {transportType: "RFC2833"});
    },

    // --- joining an agency (issue 17) -----------------------------------------------------------------------
    // The chooser: the agencies that can be called (a number, or an operator's line), the ones assigned to the
    // call's incident first. `callId` is the console's current call (the one this line is talking on).
    async openJoin(callId) {
      this.joinError = "";
      this.transferText = "";
      if (!callId || !my.session || this.call !== "active") return;
      this.joinCallId = callId;
      let assigned = [];
      const r = await Siaga.api("GET", `/api/v1/calls/${callId}`);
      if (r.ok && r.data.incident_id) {
        const i = await Siaga.api("GET", `/api/v1/incidents/${r.data.incident_id}`);
        if (i.ok) assigned = i.data.assignments.map(a => a.agency_id);
      }
      const dialable = REF.agencies.filter(a => a.dialable);
      const first = dialable.filter(a => assigned.includes(a.id));
      // An agency with both a desk number and an operator's line is offered twice: the call-taker chooses.
      this.choices = [...first, ...dialable.filter(a => !assigned.includes(a.id))].flatMap(a => {
        const label = a.short_name + (assigned.includes(a.id) ? ` (${W.line_agency_assigned})` : "");
        if (!(a.by_number && a.by_line)) return [{id: String(a.id), label}];
        return [{id: `${a.id}:number`, label: `${label} — ${W.line_via_number}`},
                {id: `${a.id}:line`, label: `${label} — ${W.line_via_line}`}];
      });
      this.choice = this.choices.length ? String(this.choices[0].id) : "";
      this.joinOpen = true;
      // Focus the choice once it is shown (x-show applies after this tick).
      this.$nextTick(() => requestAnimationFrame(() => { const el = document.getElementById("line-agency"); if (el) el.focus(); }));
    },
    // Ask the service (the intent is recorded, the answer says what to dial), then call the agency from this
    // UA with the same microphone. The caller keeps hearing the call-taker while the agency's phone rings.
    async joinAgency() {
      if (!this.choice || my.agency || !my.session) return;
      this.joinError = "";
      const [agencyId, target] = this.choice.split(":");
      const r = await Siaga.api("POST", `/api/v1/calls/${this.joinCallId}/agency-calls`,
                                {agency_id: Number(agencyId), kind: "conference", target: target || "auto"});
      if (!r.ok) { this.joinError = r.summary; return; }
      if (!my.session || !my.ua) return;  // the caller hung up meanwhile
      const row = r.data;
      this.joinOpen = false;
      this.leg = {id: row.id, agency_id: row.agency_id, name: row.agency_name, uri: row.dial_uri,
                  state: "ringing", reason: ""};
      const leg = this.leg;
      const session = my.ua.call(row.dial_uri, {
        mediaStream: my.stream, pcConfig: {iceServers: []}, rtcOfferConstraints: {offerToReceiveAudio: true},
        eventHandlers: {
          peerconnection: ev => this.attach(ev.peerconnection, "agencyAudio"),
          progress: () => { if (this.leg === leg) leg.state = "ringing"; },
          accepted: () => { if (this.leg === leg) { leg.state = "talking"; this.startConference(); } },
          failed: ev => {  // not answered: refused, busy, no audio …, or given up here (Akhiri instansi)
            if (this.leg === leg) this.legOver(ev.originator === "local" ? "ended" : "failed", reasonOf(ev));
          },
          ended: ev => { if (this.leg === leg) this.legOver("ended", ev.originator === "remote" ? W.line_leg_hung_up : ""); },
        }});
      my.agency = session;
    },
    legOver(state, reason) {
      my.agency = null;
      this.leg.state = state;
      this.leg.reason = reason || "";
      this.unmix();
    },
    // The conference: a WebAudio graph of the microphone, the caller and the agency, sent in place of the
    // microphone on each call (RTCRtpSender.replaceTrack). The remote streams also play in their <audio>
    // elements: that is how the call-taker hears both, and older Chrome fed WebAudio silence from a remote
    // WebRTC stream that played nowhere (Chromium 156 does not: checked with the element left out).
    async startConference() {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      const a = my.session && my.session.connection, b = my.agency && my.agency.connection;
      if (!Ctx || !a || !b || my.mix) return;
      const ctx = new Ctx();
      const micGain = ctx.createGain();
      const mic = ctx.createMediaStreamSource(my.stream);
      mic.connect(micGain);
      const caller = ctx.createMediaStreamSource(received(a));
      const agency = ctx.createMediaStreamSource(received(b));
      const toCaller = ctx.createMediaStreamDestination(), toAgency = ctx.createMediaStreamDestination();
      micGain.connect(toCaller);
      micGain.connect(toAgency);
      agency.connect(toCaller);
      caller.connect(toAgency);
      my.mix = {ctx, mic, micGain, caller, agency, toCaller, toAgency};
      await ctx.resume();
      await sendTrack(a, toCaller.stream.getAudioTracks()[0]);
      await sendTrack(b, toAgency.stream.getAudioTracks()[0]);
      this.conference = true;
      this.applyMic();
      await this.step("conference_started");
    },
    // Back to the microphone alone on whichever call is left; the graph closed.
    unmix() {
      const mix = my.mix;
      my.mix = null;
      this.conference = false;
      if (this.left) {
        this.left = false;
        for (const ref of ["audio", "agencyAudio"]) if (this.$refs[ref]) this.$refs[ref].muted = false;
      }
      const track = my.stream && my.stream.getAudioTracks()[0];
      if (track) for (const s of [my.session, my.agency]) if (s && s.connection) sendTrack(s.connection, track);
      if (mix) mix.ctx.close();
      this.applyMic();
    },
    // What the edge cannot see, into the incident's timeline. The edge's report that the agency answered may
    // reach the service a moment after the browser heard it: a 409 then is tried again, for ten seconds.
    async step(name) {
      if (!this.leg) return;
      const leg = this.leg;
      for (let wait = 250; ; wait *= 2) {
        const r = await Siaga.api("POST", `/api/v1/agency-calls/${leg.id}/steps`, {step: name});
        if (r.ok || r.status !== 409 || wait > 4000 || leg.state !== "talking") {
          if (!r.ok && leg.state === "talking") this.error = r.summary;
          return;
        }
        await new Promise(done => setTimeout(done, wait));
      }
    },
    // Leave the caller and the agency talking: the microphone leaves both mixes and the speaker stops; this
    // browser keeps bridging them (closing the console ends it).
    async leave() {
      if (!this.conference || this.left) return;
      this.left = true;
      this.applyMic();
      for (const ref of ["audio", "agencyAudio"]) if (this.$refs[ref]) this.$refs[ref].muted = true;
      await this.step("operator_left");
    },
    rejoin() {
      if (!this.left) return;
      this.left = false;
      for (const ref of ["audio", "agencyAudio"]) if (this.$refs[ref]) this.$refs[ref].muted = false;
      this.applyMic();
    },
    dropAgency() { if (my.agency) { try { my.agency.terminate(); } catch (e) { /* already over */ } } },
    hangupAll() {
      this.dropAgency();
      this.hangup();
    },
    // A transfer: the trunk connects the caller to the agency (REFER within the caller's call). Blind, to the
    // agency chosen; attended, to the agency on the line now (Replaces: the trunk takes over that call). A trunk
    // that does not transfer (405/501, or the service already knows it refused) leaves the call as it was.
    async transferTo(kind) {
      const attended = kind === "attended_transfer";
      const agencyId = attended ? (this.leg && this.leg.agency_id) : Number(this.choice.split(":")[0]);
      if (!my.session || this.call !== "active" || !agencyId || (attended && !my.agency)) return;
      this.transfer = "asking";
      this.transferText = W.line_transfer_asking;
      this.joinError = "";
      const known = await Siaga.api("GET", `/api/v1/calls/${this.joinCallId}/agency-calls`);
      if (known.ok && known.data.some(x => x.use_conference)) return this.transferRefused();
      const r = await Siaga.api("POST", `/api/v1/calls/${this.joinCallId}/agency-calls`, {agency_id: agencyId, kind});
      if (!r.ok) { this.transfer = "failed"; this.transferText = r.summary; return; }
      if (r.data.use_conference) return this.transferRefused();
      const session = my.session;
      const options = {eventHandlers: {
        requestFailed: ev => {
          const code = ev && ev.response ? ev.response.status_code : 0;
          if (code === 405 || code === 501) this.transferRefused();
          else { this.transfer = "failed"; this.transferText = W.line_transfer_failed + (code ? ` (${code})` : ""); }
        },
        accepted: () => {  // the trunk connected the caller to the agency: this console is out of both calls
          this.transfer = "done";
          this.transferText = W.line_transfer_done;
          this.dropAgency();
          if (my.session === session) session.terminate();
        },
        failed: ev => {
          const code = ev && ev.status_line ? ev.status_line.status_code : 0;
          this.transfer = "failed";
          this.transferText = W.line_transfer_failed + (code ? ` (${code})` : "");
        },
      }};
      if (attended) options.replaces = my.agency;
      this.joinOpen = false;
      session.refer(attended ? this.leg.uri : r.data.dial_uri, options);
    },
    transferRefused() {
      this.transfer = "refused";
      this.transferText = W.line_transfer_refused;
    },
    legText() {
      if (!this.leg) return "";
      const state = W["line_leg_" + this.leg.state] || this.leg.state;
      return `${this.leg.name}: ${state}${this.leg.reason ? " — " + this.leg.reason : ""}`;
    },

    // --- words -----------------------------------------------------------------------------------------------
    stateText() { return W["line_state_" + this.state] || this.state; },
    helpText() {
      return {mic_blocked: W.line_help_mic_blocked, no_mic: W.line_help_no_mic, failed: W.line_help_failed,
              off: W.line_help_off}[this.state] || "";
    },
    callText() { return this.held && this.call === "active" ? W.line_call_held : W["line_call_" + this.call]; },
  };
}

// The audio a call receives, as a stream WebAudio can take.
function received(pc) {
  return new MediaStream(pc.getReceivers().map(r => r.track).filter(t => t && t.kind === "audio"));
}

// Send `track` on a call in place of whatever audio it sends.
async function sendTrack(pc, track) {
  for (const sender of pc.getSenders()) {
    if (sender.track ? sender.track.kind === "audio" : true) {
      try { await sender.replaceTrack(track); } catch (e) { /* the call is over */ }
    }
  }
}

// Why a call failed, in words: the SIP answer (404, 480, 486 …) or JsSIP's cause.
function reasonOf(ev) {
  const code = ev && ev.message && ev.message.status_code >= 300 ? ev.message.status_code : 0;
  const words = {486: W.line_reason_busy, 480: W.line_reason_unavailable, 403: W.line_reason_refused,
                 404: W.line_reason_not_found, 503: W.line_reason_unavailable, 408: W.line_reason_no_answer};
  if (code) return `${words[code] || ev.message.reason_phrase || ""} (${code})`;
  const causes = {"Bad Media Description": W.line_reason_media, "Incompatible SDP": W.line_reason_media,
                  "User Denied Media Access": W.line_reason_media, "Canceled": ""};
  const cause = (ev && ev.cause) || "";
  return cause in causes ? causes[cause] : cause;
}
window.browserLine = browserLine;
