// The agent's SIP line over WebSocket: the only module that speaks to the SIP library (vendored
// sip.js 0.21.2, see scripts/vendor-sip.sh), so that replacing the library touches this file only.
// It registers the endpoint, hands incoming calls to the phone, and does what a call can do:
// answer, decline, hang up, mute, hold, DTMF (RFC 4733), blind transfer (REFER) and media stats.

import { Web } from "../vendor/sip.js/index.js";

// How long a call's incoming audio may stand still before the agent is warned (seconds).
export const MEDIA_SILENCE_S = 4;

// Registration states shown in the header.
export const LINE = Object.freeze({
  OFF: "unregistered",
  CONNECTING: "connecting",
  REGISTERED: "registered",
});

export class Line extends EventTarget {
  // `account` is what GET /auth/me/sip answers: the WebSocket URL, the SIP URI (address of
  // record), the user and secret to authenticate with, and any ICE servers (none on a LAN).
  constructor(account, audioElement) {
    super();
    this.account = account;
    this.state = LINE.OFF;
    this.call = null;
    this.manager = new Web.SessionManager(websocketUrl(account.ws_url), {
      aor: account.uri,
      media: { remote: { audio: audioElement } },
      // RFC 4733 events in the RTP stream, as the IVR and the queues expect (not SIP INFO).
      sendDTMFUsingSessionDescriptionHandler: true,
      maxSimultaneousSessions: 1,
      reconnectionAttempts: 1000,
      reconnectionDelay: 5,
      registrationRetry: true,
      registrationRetryInterval: 5,
      userAgentOptions: {
        authorizationUsername: account.user,
        authorizationPassword: account.password,
        // SIP messages in the browser's console when support asks for them:
        // localStorage.setItem("tawasul.sipLog", "on") and reload.
        logBuiltinEnabled: localStorage.getItem("tawasul.sipLog") === "on",
        sessionDescriptionHandlerFactoryOptions: {
          // The library's default asks a public STUN server: the page must not reach outside the
          // deployment, so only the ICE servers the server configured (none on a LAN).
          peerConnectionConfiguration: { iceServers: account.ice_servers || [] },
          iceGatheringTimeout: 1000,
        },
      },
      delegate: {
        onServerConnect: () => this.setState(LINE.CONNECTING),
        onServerDisconnect: () => this.setState(LINE.OFF),
        onRegistered: () => this.setState(LINE.REGISTERED),
        onUnregistered: () => this.setState(LINE.OFF),
        onCallReceived: (session) => this.received(session),
        onCallAnswered: (session) => this.emit("answered", { call: this.callOf(session) }),
        onCallHangup: (session) => this.ended(session),
        onCallHold: (session, held) => this.emit("held", { call: this.callOf(session), held }),
      },
    });
  }

  async start() {
    this.setState(LINE.CONNECTING);
    await this.manager.connect();
    await this.manager.register();
  }

  async stop() {
    try {
      if (this.call) await this.call.hangup();
      await this.manager.unregister();
    } finally {
      await this.manager.disconnect();
      this.setState(LINE.OFF);
    }
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  received(session) {
    this.call = new Call(this.manager, session);
    this.emit("ringing", { call: this.call });
  }

  callOf(session) {
    return this.call && this.call.session === session ? this.call : null;
  }

  ended(session) {
    const call = this.callOf(session);
    if (!call) return;
    call.stopWatching();
    this.call = null;
    this.emit("ended", { call });
  }
}

// One call on the line, as the phone sees it.
export class Call {
  constructor(manager, session) {
    this.manager = manager;
    this.session = session;
    this.answeredAt = null;
    this.watch = null;
  }

  // The caller as Asterisk presents it (the queue sets the caller ID; masked by the server
  // wherever it is stored, shown here because the agent is talking to them).
  get remote() {
    const identity = this.session.remoteIdentity;
    return {
      name: identity.displayName || "",
      user: identity.uri ? identity.uri.user : "",
    };
  }

  // A header of the INVITE (the server marks calls the agent asked for, to answer them at once).
  header(name) {
    const request = this.session.request;
    return request && request.hasHeader(name) ? request.getHeader(name) : "";
  }

  async answer() {
    await this.manager.answer(this.session, {
      sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
    });
    this.answeredAt = Date.now();
  }

  decline() {
    return this.manager.decline(this.session);
  }

  hangup() {
    return this.manager.hangup(this.session);
  }

  setMuted(muted) {
    if (muted) this.manager.mute(this.session);
    else this.manager.unmute(this.session);
  }

  get muted() {
    return this.manager.isMuted(this.session);
  }

  setHeld(held) {
    return held ? this.manager.hold(this.session) : this.manager.unhold(this.session);
  }

  get held() {
    return this.manager.isHeld(this.session);
  }

  dtmf(tone) {
    return this.manager.sendDTMF(this.session, tone);
  }

  // Blind transfer: a REFER to a SIP URI (an agent's extension, a branch queue), which
  // Asterisk turns into a new call from the caller to the target. Its NOTIFYs report how that
  // call goes (RFC 3515); once it is answered (a final 2xx) this leg is hung up, as a desk
  // phone does; a failure leaves the agent with the caller.
  transfer(target, onOutcome = () => {}) {
    return this.manager.transfer(this.session, target, {
      onNotify: (notification) => {
        notification.accept();
        const status = /^SIP\/2\.0 (\d{3})/.exec(notification.request.body || "");
        const code = status ? Number(status[1]) : 0;
        if (code < 200) return;
        onOutcome(code < 300);
        if (code < 300) this.hangup().catch(() => {});
      },
    });
  }

  peerConnection() {
    const handler = this.session.sessionDescriptionHandler;
    return handler ? handler.peerConnection : null;
  }

  // Packets and bytes received and sent on the call's audio, from WebRTC's getStats().
  async stats() {
    const connection = this.peerConnection();
    const totals = { packetsReceived: 0, bytesReceived: 0, packetsSent: 0 };
    if (!connection) return totals;
    const report = await connection.getStats();
    report.forEach((entry) => {
      if (entry.type === "inbound-rtp" && entry.kind === "audio") {
        totals.packetsReceived += entry.packetsReceived || 0;
        totals.bytesReceived += entry.bytesReceived || 0;
      }
      if (entry.type === "outbound-rtp" && entry.kind === "audio") {
        totals.packetsSent += entry.packetsSent || 0;
      }
    });
    return totals;
  }

  // Calls `onChange(flowing)` when incoming audio stops or starts again: inbound packets that
  // do not grow for MEDIA_SILENCE_S mean the media path broke (a NAT, a network change), while
  // the signalling still says the call is up. On hold nothing is expected, so nothing is missed.
  watchMedia(onChange) {
    let last = -1;
    let stillSince = Date.now();
    let flowing = true;
    this.watch = setInterval(async () => {
      const { packetsReceived } = await this.stats();
      const now = Date.now();
      if (packetsReceived > last || this.held) {
        last = packetsReceived;
        stillSince = now;
      }
      const nowFlowing = now - stillSince < MEDIA_SILENCE_S * 1000;
      if (nowFlowing !== flowing) {
        flowing = nowFlowing;
        onChange(flowing);
      }
    }, 1000);
  }

  stopWatching() {
    if (this.watch) clearInterval(this.watch);
    this.watch = null;
  }
}

// The server may give the WebSocket as a path on the console's own origin (behind the same
// reverse proxy, so wss comes with the page's TLS) or as a full URL.
export function websocketUrl(configured) {
  if (/^wss?:\/\//.test(configured)) return configured;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${configured}`;
}
