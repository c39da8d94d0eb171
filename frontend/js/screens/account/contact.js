// What may be done now, in the debtor's own time: one summary (allowed now, or why not and
// until when, per channel), and a banner above the account while a dispute, a cease request
// or do-not-contact stops contact. It changes with every contact logged, so it is reloaded
// then.
import { api } from "../../api.js";
import { formatDebtorTime, h, problemBox } from "../../dom.js";

// The blocks only a person lifts, in the order the banner names them.
const STOPS = [
  ["dispute_open", "Disputed", "contact is paused while the dispute is open; a payment the debtor makes is still taken."],
  ["cease_requested", "Cease requested", "the debtor asked that contact cease: no calls, texts or e-mails."],
  ["do_not_contact", "Do not contact", "the debtor is marked do-not-contact."],
];

function channelItem(c, zone) {
  return h("li", {},
    h("span", { class: "badge", "data-tone": c.allowed ? "ok" : "bad" }, c.channel),
    c.allowed ? "" : ` ${c.reasons[0]?.message ?? ""}${c.opens_at ? ` — opens ${formatDebtorTime(c.opens_at, zone)}` : ""}`);
}

function summary(channels) {
  const open = channels.filter((c) => c.allowed).map((c) => c.channel);
  if (open.length === channels.length) return "Every channel is allowed now.";
  if (!open.length) return "No contact now on any channel.";
  return `Allowed now: ${open.join(", ")}; not now: ${channels.filter((c) => !c.allowed).map((c) => c.channel).join(", ")}.`;
}

// The debtor's clock now, on the 24-hour dial the contact hours are set on ("20:41").
const debtorClock = (status) => new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit",
  hourCycle: "h23", timeZone: status.time_zone }).format(new Date(status.debtor_local_time));

const PLURAL = { call: "calls", sms: "texts", email: "e-mails", letter: "letters" };
// When the contact hours next change on the debtor's clock: " — calls close at 21:00".
function hours(status) {
  const bound = status.window_channels ?? [];
  if (!bound.length || !status.window_start) return "";
  const now = debtorClock(status);
  const what = bound.map((c) => PLURAL[c] ?? c).join(" and ");
  const open = status.window_start <= now && now < status.window_end;
  return open ? ` — ${what} close at ${status.window_end}` : ` — ${what} open at ${status.window_start}`;
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
        const time = debtorClock(status);
        contact.replaceChildren(
          h("p", { id: "contact-summary" }, summary(status.channels)),
          h("p", { class: "muted", id: "debtor-local" }, `Debtor local ${time} (${status.time_zone})${hours(status)}`),
          h("ul", { class: "chips" }, status.channels.map((c) => channelItem(c, status.time_zone))));
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
