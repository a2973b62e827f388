/* The call-taker's line in the browser (templates/_line.html, on the call-taker console): SIP over WebSocket
   to the edge with JsSIP (static/vendor/jssip@3.13.8), WebRTC audio that rtpengine bridges to the trunk.

   - The console asks the service for this session's SIP password (POST /api/v1/telephony/browser-credential:
     made now, given once, only its digest kept; opening the console elsewhere takes the line over).
   - The microphone is asked for first: a blocked or missing microphone is shown (with what to do) and the
     line is not registered, so no call waits on a console that cannot speak.
   - A call the call-taker claimed on the console arrives with Call-Info answer-after=0 and is answered at
     once; another ringing call shows an Answer button.
   - Controls: answer, hang up, mute, hold, key tones (RFC 4733), microphone and speaker choice (setSinkId),
     a level meter of the microphone (WebAudio AnalyserNode). Every state is visible and read out (aria-live). */
function browserLine() {
  // The SIP stack, the call and the media stay out of Alpine's reactive data: Alpine would wrap them in
  // proxies (identity checks fail, and JsSIP's and WebRTC's objects are not meant to be proxied).
  const my = {ua: null, session: null, stream: null, meter: null, retry: null};
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
    mic: "",
    speaker: "",
    error: "",
    extension: "",

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
      const r = await Siaga.api("GET", "/api/v1/telephony/status");
      if (!r.ok) return;
      const line = r.data.lines.find(l => l.user_id === REF.me.user_id);
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
      await this.openMic();
      const pc = my.session && my.session.connection;
      if (pc && my.stream) {
        const track = my.stream.getAudioTracks()[0];
        for (const sender of pc.getSenders()) if (sender.track && sender.track.kind === "audio") await sender.replaceTrack(track);
        track.enabled = !this.muted && !this.held;
      }
    },
    async chooseSpeaker() {
      const el = this.$refs.audio;
      if (el && el.setSinkId) {
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
      if (my.session) { try { my.session.terminate(); } catch (e) { /* already over */ } }
      my.session = null;
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
      this.reinvites = 0;
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
        setTimeout(() => { if (!my.session) this.call = "idle"; }, 3000);
      };
      session.on("ended", over);
      session.on("failed", over);
      if (auto) this.answer();
    },
    attach(pc) {
      pc.addEventListener("track", ev => {
        const el = this.$refs.audio;
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
    // What the browser receives from the caller (RTCPeerConnection statistics): packets and audio energy.
    async inbound() {
      const pc = my.session && my.session.connection;
      if (!pc) return {packets: 0, energy: 0};
      let out = {packets: 0, energy: 0};
      (await pc.getStats()).forEach(r => {
        if (r.type === "inbound-rtp" && r.kind === "audio") out = {packets: r.packetsReceived || 0, energy: r.totalAudioEnergy || 0};
      });
      return out;
    },
    hangup() { if (my.session) my.session.terminate(); },
    toggleMute() {
      if (!my.session || this.call !== "active") return;
      this.muted = !this.muted;
      const pc = my.session.connection;
      if (pc) for (const sender of pc.getSenders()) if (sender.track) sender.track.enabled = !this.held && !this.muted;
    },
    // Hold keeps the caller connected and silent both ways, here in the browser: nothing is sent to the trunk
    // (no re-INVITE: no music on hold yet, and a telco trunk need not support it). The recording goes on.
    toggleHold() {
      if (!my.session || this.call !== "active") return;
      this.held = !this.held;
      const pc = my.session.connection;
      if (pc) for (const sender of pc.getSenders()) if (sender.track) sender.track.enabled = !this.held && !this.muted;
      const el = this.$refs.audio;
      if (el) el.muted = this.held;
    },
    dtmf(key) {
      if (my.session && this.call === "active") my.session.sendDTMF(key, {transportType: "RFC2833"});
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
window.browserLine = browserLine;
