// What may be done now, in the debtor's own time: each channel allowed, or why not and
// until when. It changes with every contact logged, so it is reloaded then.
import { api } from "../../api.js";
import { formatDateTime, h, problemBox } from "../../dom.js";

function channelItem(c) {
  return h("li", {},
    h("span", { class: "badge", "data-tone": c.allowed ? "ok" : "bad" }, c.channel),
    c.allowed ? "" : ` ${c.reasons[0]?.message ?? ""}${c.opens_at ? ` — opens ${formatDateTime(c.opens_at)}` : ""}`);
}

// `onStatus` hears each status read (the payment link offers the channels open now).
export function contactPanel(id, { onStatus } = {}) {
  const contact = h("div", { id: "contact-status", class: "contact" });
  return {
    nodes: [h("h2", {}, "Contact"), contact],
    async load() {
      try {
        const status = await api(`/accounts/${id}/contact-status`);
        const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: status.time_zone })
          .format(new Date(status.debtor_local_time));
        contact.replaceChildren(
          h("p", { class: "muted" }, `Debtor local ${time} (${status.time_zone})`),
          h("ul", { class: "chips" }, status.channels.map(channelItem)));
        onStatus?.(status);
      } catch (error) {
        contact.replaceChildren(problemBox(error));
      }
    },
  };
}
