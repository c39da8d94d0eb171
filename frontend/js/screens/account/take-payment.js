// Taking a payment the debtor makes while on the phone. The balance moves when the
// payment's event arrives, like everyone else's changes.
import { api } from "../../api.js";
import { PAYMENT_METHODS, words } from "../../codes.js";
import { announce, h, submit } from "../../dom.js";

export function takePaymentPanel(id, current) {
  const problem = h("div");
  const amount = h("input", { id: "pay-amount", inputmode: "decimal", required: true });
  const method = h("select", { id: "pay-method" }, PAYMENT_METHODS.map((m) => h("option", { value: m }, words(m))));
  // One key for every retry of one payment: a retry after a lost answer cannot charge twice.
  let key = crypto.randomUUID();
  const form = h("form", { class: "inline-form", "aria-label": "Take a payment", onsubmit: submit(problem, async () => {
    const made = await api(`/accounts/${id}/payments`, { method: "POST", headers: { "Idempotency-Key": key },
      body: { amount: amount.value.trim(), currency: current().currency, method: method.value } });
    key = crypto.randomUUID();
    amount.value = "";
    announce(`Payment of ${made.amount} ${made.currency} recorded`);
  }) },
    h("div", { class: "field" }, h("label", { for: "pay-amount" }, `Amount (${current().currency})`), amount),
    h("div", { class: "field" }, h("label", { for: "pay-method" }, "Method"), method),
    h("button", { type: "submit", class: "primary" }, "Take payment"));
  return [problem, form];
}
