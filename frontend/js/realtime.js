// Real-time updates for every screen: one WebSocket, many channel subscriptions.
//
//   const stop = realtime.subscribe("account:42", (event) => { ... });
//
// Handlers receive event frames ({type, id, data, pos, channel}) exactly once each, in
// order; {type: "ready"} once the first subscription is live (a screen that loaded its data
// before then reloads it, so that nothing falls between the two); and {type: "resync"} when
// the server could not replay what was missed (the screen then reloads its data over REST). The socket reconnects by itself with jittered
// backoff and resumes every channel from the last position it saw.
const MAX_BACKOFF_MS = 15000;
const SEEN_PER_CHANNEL = 500;

class Realtime extends EventTarget {
  constructor() {
    super();
    this.handlers = new Map(); // channel -> Set of handlers
    this.positions = new Map(); // channel -> last position seen
    this.seen = new Map(); // channel -> recently seen event ids (de-duplication)
    this.socket = null;
    this.state = "offline";
    this.since = null; // when the connection was lost
    this.attempt = 0;
    this.timer = null;
    this.started = false;
    // Where tickets come from: the signed-in user's session, unless a page says otherwise
    // (the payment page uses its link).
    this.ticket = async () => {
      const { api } = await import("./api.js");
      return (await api("/realtime/ticket", { method: "POST" })).ticket;
    };
  }

  // One handler on several channels (a screen showing what two of them carry); the function
  // returned stops them all.
  subscribeAll(channels, handler) {
    const stops = channels.map((channel) => this.subscribe(channel, handler));
    return () => { for (const stop of stops) stop(); };
  }

  subscribe(channel, handler) {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      this.#send({ op: "subscribe", channel, ...this.#since(channel) });
    }
    set.add(handler);
    this.start();
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        this.positions.delete(channel);
        this.seen.delete(channel);
        this.#send({ op: "unsubscribe", channel });
      }
    };
  }

  start() {
    if (this.started) return;
    this.started = true;
    addEventListener("online", () => this.#reconnectSoon(0));
    this.#connect();
  }

  #since(channel) {
    const pos = this.positions.get(channel);
    return pos ? { since: pos } : {};
  }

  #send(frame) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  #setState(state) {
    if (state === this.state) return;
    if (state !== "live" && this.state === "live") this.since = new Date();
    if (state === "live") this.since = null;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, since: this.since } }));
  }

  async #connect() {
    clearTimeout(this.timer);
    this.#setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let url;
    try {
      const ticket = await this.ticket();
      url = new URL(`/ws?ticket=${encodeURIComponent(ticket)}`, location.href);
      url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    } catch {
      this.#reconnectSoon();
      return;
    }
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.#setState("live");
      for (const channel of this.handlers.keys()) {
        socket.send(JSON.stringify({ op: "subscribe", channel, ...this.#since(channel) }));
      }
    });
    socket.addEventListener("message", (message) => this.#receive(JSON.parse(message.data)));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.#reconnectSoon();
    });
  }

  #reconnectSoon(delay) {
    this.#setState(navigator.onLine === false ? "offline" : "reconnecting");
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
    this.attempt += 1;
    const wait = delay ?? base / 2 + Math.random() * base / 2; // jittered, so clients spread out
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#connect(), wait);
  }

  #receive(frame) {
    const handlers = this.handlers.get(frame.channel);
    if (frame.op === "event") {
      if (!handlers) return;
      let seen = this.seen.get(frame.channel);
      if (!seen) this.seen.set(frame.channel, (seen = new Set()));
      if (seen.has(frame.id)) return; // delivered twice (at least once, de-duplicated here)
      seen.add(frame.id);
      if (seen.size > SEEN_PER_CHANNEL) seen.delete(seen.values().next().value);
      this.positions.set(frame.channel, frame.pos);
      for (const handler of handlers) handler(frame);
    } else if (frame.op === "subscribed") {
      const hadPosition = this.positions.has(frame.channel);
      this.positions.set(frame.channel, frame.pos);
      if (!handlers) return;
      const type = !hadPosition ? "ready" : frame.recovered ? null : "resync";
      if (type) for (const handler of handlers) handler({ type, channel: frame.channel });
    } else if (frame.op === "error") {
      console.warn(`real-time: ${frame.code} ${frame.channel ?? ""}: ${frame.message}`);
      if (frame.code === "unavailable" && frame.channel && this.handlers.has(frame.channel)) {
        setTimeout(() => this.#send({ op: "subscribe", channel: frame.channel, ...this.#since(frame.channel) }), 1000);
      }
    }
  }
}

export const realtime = new Realtime();

// <rc-connection>: the connection state, always visible in a corner.
class RcConnection extends HTMLElement {
  connectedCallback() {
    this.setAttribute("role", "status");
    this.render(realtime.state, realtime.since);
    this.onState = (event) => this.render(event.detail.state, event.detail.since);
    realtime.addEventListener("state", this.onState);
  }

  disconnectedCallback() {
    realtime.removeEventListener("state", this.onState);
  }

  render(state, since) {
    const time = since ? since.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
    const label = {
      live: "Live",
      connecting: "Connecting…",
      reconnecting: time ? `Reconnecting (since ${time})…` : "Reconnecting…",
      offline: time ? `Offline since ${time}` : "Offline",
    }[state];
    this.dataset.state = state;
    this.textContent = label;
    this.title = state === "live" ? "Updates arrive as they happen" : "Updates will resume by themselves";
  }
}

customElements.define("rc-connection", RcConnection);
