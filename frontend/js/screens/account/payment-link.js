// A link the debtor can pay through on their own phone: sent to them by text or e-mail
// (only a channel they have and may receive is offered; the server checks again), or made
// to copy into a message of the collector's own. The result stays in view: sent, waiting
// for the debtor's hours, or refused with the reason.
import { api } from "../../api.js";
import { announce, formatDateTime, formatDebtorTime, h, pending } from "../../dom.js";

const CHANNELS = [
  { channel: "sms", label: "Text", field: "phone", what: "phone number" },
  { channel: "email", label: "E-mail", field: "email", what: "e-mail address" },
];

const BADGES = { ok: "sent", warn: "waiting", info: "sending", bad: "not sent" };

// How long a message being sent is followed before the panel leaves it to the timeline.
const FOLLOW_TRIES = 40;
const FOLLOW_EVERY_MS = 500;

function copyBox(url, expiresAt) {
  const input = h("input", { id: "payment-link-url", type: "text", readonly: true, value: url,
    "aria-label": "Payment link", onfocus: (event) => event.target.select() });
  const said = h("span", { class: "muted", role: "status" });
  const copy = h("button", { type: "button", onclick: async () => {
    try {
      await navigator.clipboard.writeText(url);
      said.textContent = "· Copied";
    } catch {
      input.focus();
      said.textContent = "· Press Ctrl+C to copy";
    }
  } }, "Copy");
  return h("div", { class: "link-box" },
    h("div", { class: "link-row" }, input, copy),
    h("p", { class: "muted small" }, "Valid until ", formatDateTime(expiresAt), " ", said));
}

export function paymentLinkPanel(id, debtor) {
  const problem = h("div");
  const choices = h("div", { class: "inline-form link-choices" });
  const blocked = h("ul", { class: "muted small link-blocked" });
  const result = h("div", { id: "payment-link", "aria-live": "polite" });
  let status = null;
  let following = 0;

  // The badge says the state in words as well as in colour and shape.
  function outcome(tone, text) {
    return h("p", { class: "link-outcome" }, h("span", { class: "badge", "data-tone": tone }, BADGES[tone]), " ", text);
  }

  async function follow(sent, box, turn) {
    // The worker sends it in a moment; its message row says how that went.
    for (let i = 0; i < FOLLOW_TRIES && turn === following; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
      const { items } = await api(`/accounts/${id}/messages`, { query: { limit: 10 } }).catch(() => ({ items: [] }));
      const message = items.find((m) => m.id === sent.message_id);
      if (!message || turn !== following) continue;
      if (message.status === "sent") {
        result.replaceChildren(outcome("ok", `${words(sent.channel)} sent to ${sent.to} at ${formatDateTime(message.sent_at)}.`), box);
        announce(`Payment link sent by ${words(sent.channel).toLowerCase()}`);
        return;
      }
      if (message.status === "skipped" || message.status === "failed") {
        result.replaceChildren(outcome("bad", `Not sent: ${message.error || message.status}.`), box);
        return;
      }
      if (message.error) {
        result.replaceChildren(outcome("warn", `Not sent yet (${message.error}); tried again at ${formatDebtorTime(message.send_at, status?.time_zone)}.`), box);
      }
    }
  }

  async function send(button, channel) {
    // One key per press: a retry after a lost answer sends nothing twice.
    const key = crypto.randomUUID();
    const sent = await pending(button, problem, () => api(`/accounts/${id}/payment-links/send`,
      { method: "POST", headers: { "Idempotency-Key": key }, body: { channel } }));
    if (!sent) {
      result.replaceChildren();
      return;
    }
    const box = copyBox(sent.link.url, sent.link.expires_at);
    following += 1;
    if (sent.outcome === "waiting") {
      result.replaceChildren(outcome("warn",
        `Outside the debtor's hours: ${sent.reason}. The ${words(sent.channel).toLowerCase()} goes at ${formatDebtorTime(sent.send_at, status?.time_zone)} (${formatDateTime(sent.send_at)} your time).`), box);
      announce("Payment link waits for the debtor's hours");
    } else {
      result.replaceChildren(outcome("info", `${words(sent.channel)} to ${sent.to} is on its way…`), box);
      follow(sent, box, following);
    }
  }

  async function makeLink(button) {
    const link = await pending(button, problem, () => api(`/accounts/${id}/payment-links`, { method: "POST", body: {} }));
    if (!link) return;
    following += 1;
    result.replaceChildren(copyBox(link.url, link.expires_at));
    result.querySelector("input")?.focus();
  }

  let shown = null;

  function show() {
    const offered = [];
    const notes = [];
    for (const c of CHANNELS) {
      const address = debtor?.[c.field];
      const state = status?.channels.find((s) => s.channel === c.channel);
      if (debtor && !address) notes.push(`${c.label}: the debtor has no ${c.what}`);
      else if (state && !state.allowed && !state.opens_at) notes.push(`${c.label}: ${state.reasons[0]?.message ?? "not allowed"}`);
      else offered.push({ ...c, address, waits: state && !state.allowed });
    }
    // Drawn again only when the choices change, so that a reload keeps the focus in place.
    const drawn = JSON.stringify([offered, notes]);
    if (drawn === shown) return;
    shown = drawn;
    choices.replaceChildren(
      ...offered.map((c) => h("button", { type: "button", "data-send": c.channel,
        title: c.waits ? "Outside the debtor's hours: it waits for the window" : null,
        onclick: (event) => send(event.currentTarget, c.channel) },
      `${c.label} the link${c.address ? ` to ${c.address}` : ""}`)),
      h("button", { type: "button", "data-copy": "", onclick: (event) => makeLink(event.currentTarget) }, "Make a link to copy"));
    blocked.replaceChildren(...notes.map((n) => h("li", {}, n)));
  }
  show();

  return {
    nodes: [h("h3", { class: "subhead" }, "Payment link"), problem, choices, blocked, result],
    // The contact status as the contact panel last read it: what may be sent now.
    update(next) {
      status = next;
      show();
    },
  };
}

function words(channel) {
  return channel === "sms" ? "Text" : "E-mail";
}
