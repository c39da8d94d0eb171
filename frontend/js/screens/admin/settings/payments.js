// Payments: what happens to money paid beyond an account's balance.
import { settingsForm, switchField } from "./section.js";

export function paymentsSection() {
  const credit = switchField("Hold overpayments as credit", "payments.hold_overpayment_as_credit",
    "On: a payment larger than the balance is taken whole, and what is over is kept as the account's credit. "
    + "Off (the default): a payment may not exceed the balance.");
  return settingsForm({
    id: "payments",
    title: "Payments",
    controls: [credit.node],
    part: (t) => t.settings.payments,
    fill: (t) => { credit.value = t.settings.payments.hold_overpayment_as_credit; },
    body: () => ({ payments: { hold_overpayment_as_credit: credit.value } }),
  });
}
