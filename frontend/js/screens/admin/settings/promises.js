// Promise rules: what a promise to pay may look like when a collector or the debtor's payment
// page takes one, and how long after its date a payment still keeps it.
import { settingsForm, numberField } from "./section.js";

export function promisesSection() {
  const share = numberField("Smallest promise, as a share of the balance", "promises.min_share_percent", {
    min: 0, max: 100, unit: "%", fallback: 10,
    hint: "Each payment of a promise must be at least this share of the balance (the last may be whatever remains)." });
  const ahead = numberField("Furthest promise date", "promises.max_days_ahead", {
    min: 1, max: 3650, unit: "days from today", fallback: 60,
    hint: "How far ahead any payment of a promise may fall." });
  const instalments = numberField("Instalments in one promise, at most", "promises.max_instalments", {
    min: 1, max: 120, fallback: 6, hint: "1 allows only single payments." });
  const grace = numberField("Grace days", "promises.grace_days", {
    min: 0, max: 60, unit: "days", fallback: 3,
    hint: "Payments that arrive up to this many days after a promised date still keep it; after that the promise is broken." });
  const fields = [share, ahead, instalments, grace];
  const keys = ["min_share_percent", "max_days_ahead", "max_instalments", "grace_days"];
  return settingsForm({
    id: "promises",
    title: "Promise rules",
    intro: "What a promise to pay may look like, wherever it is taken: by a collector, or by the debtor on the payment page.",
    controls: fields.map((f) => f.node),
    part: (t) => t.settings.promises,
    fill: (t) => fields.forEach((f, i) => { f.value = t.settings.promises[keys[i]]; }),
    body: () => ({ promises: Object.fromEntries(fields.map((f, i) => [keys[i], f.value])) }),
    check: () => fields.map((f) => ({ field: f.path, message: f.check() })).filter((e) => e.message),
  });
}
