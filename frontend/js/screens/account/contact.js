// What may be done now, in the debtor's own time: one summary (allowed now, or why not and
// until when, per channel), and a banner above the account while a dispute, a cease request
// or do-not-contact stops contact. It changes with every contact logged, so it is reloaded
// then.
import { api } from "../../api.js";
import { formatDateTime, h, problemBox } from "../../dom.js";

// The blocks only a person lifts, in the order the banner names them.
const STOPS = [
  ["dispute_open", "Disputed", "contact is paused while the dispute is open; a payment the debtor makes is still taken."],
  ["cease_requested", "Cease requested", "the debtor asked that contact cease: no calls, texts or e-mails."],
  ["do_not_contact", "Do not contact", "the debtor is marked do-not-contact."],
];

function channelItem(c) {
  return h("li", {},
    h("span", { class: "badge", "data-tone": c.allowed ? "ok" : "bad" }, c.channel),
    c.allowed ? "" : ` ${c.reasons[0]?.message ?? ""}${c.opens_at ? ` — opens ${formatDateTime(c.opens_at)}` : ""}`);
}

function summary(channels) {
  const open = channels.filter((c) => c.allowed).map((c) => c.channel);
  if (open.length === channels.length) return "Every channel is allowed now.";
  if (!open.length) return "No contact now on any channel.";
  return `Allowed now: ${open.join(", ")}; not now: ${channels.filter((c) => !c.allowed).map((c) => c.channel).join(", ")}.`;
}

// `onStatus` hears each status read (the payment link offers the channels open now).
export function contactPanel(id, { onStatus } = {}) {
  const contact = h("div", { id: "contact-status", class: "contact" });
  const banner = h("div", { id: "contact-banner", hidden: true });
  return {
    nodes: [h("h2", {}, "Contact"), contact],
    banner,
    async load() {
      try {
        const status = await api(`/accounts/${id}/contact-status`);
        const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: status.time_zone })
          .format(new Date(status.debtor_local_time));
        contact.replaceChildren(
          h("p", { id: "contact-summary" }, summary(status.channels)),
          h("p", { class: "muted" }, `Debtor local ${time} (${status.time_zone})`),
          h("ul", { class: "chips" }, status.channels.map(channelItem)));
        const rules = new Set(status.channels.flatMap((c) => c.reasons.map((r) => r.rule)));
        const stops = STOPS.filter(([rule]) => rules.has(rule));
        banner.hidden = !stops.length;
        banner.replaceChildren(...stops.map(([rule, title, text]) =>
          h("p", { class: "stop-banner", "data-rule": rule }, h("strong", {}, `${title}: `), text)));
        onStatus?.(status);
      } catch (error) {
        contact.replaceChildren(problemBox(error));
      }
    },
  };
}
