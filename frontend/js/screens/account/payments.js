// What the debtor has paid and what they have promised, reloaded whenever an event says
// either changed.
import { money } from "../../../components/rc-money.js";
import { api, everything } from "../../api.js";
import { formatDate, formatDateTime, h } from "../../dom.js";

const PAYMENT_TONE = { succeeded: "ok", pending: "warn" };
const PROMISE_TONE = { kept: "ok", broken: "bad" };

function paymentItem(p) {
  const when = p.received_at || p.created_at;
  return h("li", {},
    money(p.amount, p.currency), ` · ${p.method} · `,
    h("span", { class: "badge", "data-tone": PAYMENT_TONE[p.status] || "bad" }, p.status),
    h("br"), h("time", { datetime: when }, formatDateTime(when)));
}

function promiseItem(p) {
  return h("li", {},
    money(p.amount, p.currency), ` by ${formatDate(p.due_date)}`,
    p.instalments > 1 ? ` (${p.instalment}/${p.instalments})` : "", " · ",
    h("span", { class: "badge", "data-tone": PROMISE_TONE[p.status] || "info" }, p.status));
}

export function paymentsPanel(id) {
  const payments = h("ol", { class: "timeline", id: "payments" });
  const promises = h("ol", { class: "timeline", id: "promises" });
  return {
    nodes: [h("h2", {}, "Payments"), payments, h("h2", {}, "Promises"), promises],
    async load() {
      const [paid, promised] = await Promise.all([
        api(`/accounts/${id}/payments`, { query: { limit: 10 } }).catch(() => ({ items: [] })),
        everything(`/accounts/${id}/promises`).catch(() => []),
      ]);
      payments.replaceChildren(...(paid.items.length ? paid.items.map(paymentItem)
        : [h("li", { class: "muted" }, "No payments yet.")]));
      promises.replaceChildren(...(promised.length ? promised.map(promiseItem)
        : [h("li", { class: "muted" }, "No promises.")]));
    },
  };
}
