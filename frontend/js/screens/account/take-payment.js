// Taking a payment the debtor makes while on the phone, one of two ways, said outright:
// recording money already received elsewhere (a transfer, cash, a card terminal), which
// counts as paid at once and so is confirmed first, amount and method; or taking a card
// through the provider's checkout on the debtor's payment page, which stays pending until
// the provider confirms it. The balance moves when the payment's event arrives, like
// everyone else's changes.
import { api } from "../../api.js";
import { PAYMENT_METHODS, words } from "../../codes.js";
import { announce, currencyDecimals, decimalsOf, exampleAmount, formatMoney, h, pending, submit } from "../../dom.js";

export function takePaymentPanel(id, current) {
  const problem = h("div");
  const amount = h("input", { id: "pay-amount", inputmode: "decimal", required: true });
  const method = h("select", { id: "pay-method" }, PAYMENT_METHODS.map((m) => h("option", { value: m }, words(m))));
  const how = h("fieldset", { class: "pay-how", id: "pay-how", hidden: true },
    h("legend", {}, "How is the card paid?"),
    h("label", {}, h("input", { type: "radio", name: "pay-how", value: "received", id: "pay-how-received" }),
      " Already charged elsewhere (a card terminal): record it"),
    h("label", {}, h("input", { type: "radio", name: "pay-how", value: "checkout", id: "pay-how-checkout" }),
      " Take the card now through the checkout (pending until the provider confirms)"));
  const confirm = h("div", { id: "pay-confirm", class: "pay-confirm", hidden: true });
  const result = h("div", { id: "pay-result", "aria-live": "polite" });
  // One key for every retry of one payment: a retry after a lost answer cannot charge twice.
  let key = crypto.randomUUID();

  const chosen = () => how.querySelector("input:checked")?.value;
  method.addEventListener("change", () => {
    how.hidden = method.value !== "card";
    confirm.hidden = true;
  });
  amount.addEventListener("input", () => { confirm.hidden = true; });

  async function record(button) {
    const made = await pending(button, problem, () => api(`/accounts/${id}/payments`, { method: "POST",
      headers: { "Idempotency-Key": key },
      body: { amount: amount.value.trim(), currency: current().currency, method: method.value } }));
    confirm.hidden = true;
    if (!made) return;
    key = crypto.randomUUID();
    amount.value = "";
    const said = `${formatMoney(made.amount, made.currency)} by ${words(made.method).toLowerCase()} recorded as paid.`;
    result.replaceChildren(h("p", { class: "muted" }, said));
    announce(said);
    amount.focus();
  }

  // The debtor's payment page, where the provider's checkout takes the card; the payment is
  // pending there until the provider's confirmation arrives (its event moves the balance).
  async function checkout() {
    const link = await api(`/accounts/${id}/payment-links`, { method: "POST", body: {} });
    window.open(link.url, "_blank", "noopener");
    result.replaceChildren(h("p", {}, "The checkout opened in a new tab: enter the card there. ",
      "The payment shows as pending until the provider confirms it. ",
      h("a", { href: link.url, target: "_blank", rel: "noopener" }, "Open it again")));
  }

  function ask() {
    const text = `${formatMoney(amount.value.trim(), current().currency)} by ${words(method.value).toLowerCase()}`;
    const yes = h("button", { type: "button", class: "primary", id: "pay-confirm-yes",
      onclick: (event) => record(event.currentTarget) }, "Record as paid");
    const back = h("button", { type: "button", onclick: () => { confirm.hidden = true; amount.focus(); } }, "Back");
    confirm.replaceChildren(
      h("p", {}, h("strong", {}, `Record ${text}, received elsewhere?`),
        " It counts as paid at once."),
      h("div", { class: "inline-form" }, yes, back));
    confirm.hidden = false;
    yes.focus();
  }

  const form = h("form", { class: "inline-form", "aria-label": "Take a payment", onsubmit: submit(problem, async () => {
    result.replaceChildren();
    const currency = current().currency;
    if (!/^\d+(\.\d+)?$/.test(amount.value.trim())) throw new Error(`Enter the amount in figures, such as ${exampleAmount(currency)}.`);
    const places = currencyDecimals(currency);
    if (decimalsOf(amount.value.trim()) > places) {
      throw new Error(places ? `${currency} amounts have at most ${places} decimals.` : `${currency} amounts have no decimals.`);
    }
    if (method.value === "card" && !chosen()) {
      how.querySelector("input").focus();
      throw new Error("Choose how the card is paid: already charged elsewhere, or through the checkout.");
    }
    if (method.value === "card" && chosen() === "checkout") return checkout();
    return ask();
  }) },
    h("div", { class: "field" }, h("label", { for: "pay-amount" }, `Amount (${current().currency})`), amount),
    h("div", { class: "field" }, h("label", { for: "pay-method" }, "Method"), method),
    h("button", { type: "submit", class: "primary" }, "Take payment"));
  how.hidden = method.value !== "card";
  return [problem, form, how, confirm, result];
}
