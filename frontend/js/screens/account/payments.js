// What the debtor has paid and what they have promised, reloaded whenever an event says
// either changed. Managers refund or reverse a payment that went through: asked first, the
// amount in the account's currency and a reason; the balance moves when its event arrives.
import { money } from "../../../components/rc-money.js";
import { api, everything } from "../../api.js";
import { formatDate, formatDateTime, formatMoney, h, pending, redrawKeeping } from "../../dom.js";

const PAYMENT_TONE = { succeeded: "ok", pending: "warn" };
const PROMISE_TONE = { kept: "ok", broken: "bad" };
// Refunded: money given back; reversed: a chargeback or a bounced transfer.
const UNDO = {
  refund: { label: "Refund", done: "refunded", does: "The money goes back to the debtor and the balance grows by it." },
  reverse: { label: "Reverse", done: "reversed", does: "It did not go through after all (a chargeback, a bounced transfer): the balance grows by it." },
};

function undoControls(p) {
  const problem = h("div");
  const box = h("div", { class: "pay-confirm", hidden: true, "data-question": "" });
  const ask = (kind) => () => {
    const what = UNDO[kind];
    const reason = h("input", { id: `undo-reason-${p.id}`, maxlength: 500 });
    // One key for every retry of this one undo: a retry after a lost answer cannot repeat it.
    const key = crypto.randomUUID();
    const yes = h("button", { type: "button", class: "danger", "data-undo-yes": kind }, `${what.label} ${formatMoney(p.amount, p.currency)}`);
    yes.addEventListener("click", async () => {
      const done = await pending(yes, problem, () => api(`/payments/${p.id}/${kind}`, {
        method: "POST", headers: { "Idempotency-Key": key }, body: { reason: reason.value.trim() } }));
      if (done) box.hidden = true;
    });
    const back = h("button", { type: "button", onclick: () => { box.hidden = true; } }, "Back");
    box.replaceChildren(
      h("p", {}, h("strong", {}, `${what.label} ${formatMoney(p.amount, p.currency)}?`), ` ${what.does}`),
      h("div", { class: "field" }, h("label", { for: reason.id }, "Reason"), reason),
      h("div", { class: "inline-form" }, yes, back));
    box.hidden = false;
    reason.focus();
  };
  return [
    h("div", { class: "inline-form" },
      h("button", { type: "button", class: "quiet", "data-undo": "refund", onclick: ask("refund") }, "Refund…"),
      h("button", { type: "button", class: "quiet", "data-undo": "reverse", onclick: ask("reverse") }, "Reverse…")),
    problem, box,
  ];
}

function paymentItem(p, managers) {
  const when = p.received_at || p.created_at;
  return h("li", { "data-payment": p.id, "data-row": p.id },
    money(p.amount, p.currency), ` · ${p.method} · `,
    h("span", { class: "badge", "data-tone": PAYMENT_TONE[p.status] || "bad" }, p.status),
    h("br"), h("time", { datetime: when }, formatDateTime(when)),
    managers && p.status === "succeeded" ? undoControls(p) : null);
}

function promiseItem(p) {
  return h("li", {},
    money(p.amount, p.currency), ` by ${formatDate(p.due_date)}`,
    p.instalments > 1 ? ` (${p.instalment}/${p.instalments})` : "", " · ",
    h("span", { class: "badge", "data-tone": PROMISE_TONE[p.status] || "info" }, p.status));
}

export function paymentsPanel(id, { managers = false } = {}) {
  const payments = h("ol", { class: "timeline", id: "payments" });
  const promises = h("ol", { class: "timeline", id: "promises" });
  return {
    nodes: [h("h2", {}, "Payments"), payments, h("h2", {}, "Promises"), promises],
    async load() {
      const [paid, promised] = await Promise.all([
        api(`/accounts/${id}/payments`, { query: { limit: 10 } }).catch(() => ({ items: [] })),
        everything(`/accounts/${id}/promises`).catch(() => []),
      ]);
      // A payment whose refund or reversal is being asked about keeps its row as it is
      // (the reason typed, the focus) while it still stands: an event arriving meanwhile
      // reloads the list, and must not close the question under the manager's hands.
      redrawKeeping(payments, (asking) => payments.replaceChildren(...(paid.items.length
        ? paid.items.map((p) => (p.status === "succeeded" && asking.get(String(p.id))) || paymentItem(p, managers))
        : [h("li", { class: "muted" }, "No payments yet.")])));
      promises.replaceChildren(...(promised.length ? promised.map(promiseItem)
        : [h("li", { class: "muted" }, "No promises.")]));
    },
  };
}
