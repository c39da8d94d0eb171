// A link the debtor can pay through on their own phone. It is copied at once, ready to be
// pasted into a message.
import { api } from "../../api.js";
import { formatDateTime, h, submit } from "../../dom.js";

export function paymentLinkPanel(id) {
  const problem = h("div");
  const shown = h("p", { class: "muted", id: "payment-link" });
  const send = h("button", { type: "button", onclick: submit(problem, async () => {
    const link = await api(`/accounts/${id}/payment-links`, { method: "POST", body: {} });
    shown.replaceChildren("Payment link (valid until ", formatDateTime(link.expires_at), "): ",
      h("a", { href: link.url, target: "_blank", rel: "noopener" }, link.url));
    navigator.clipboard?.writeText(link.url).catch(() => {});
  }) }, "Send payment link");
  return [problem, h("div", { class: "inline-form" }, send), shown];
}
