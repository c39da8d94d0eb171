// Who the debtor is and where they may be reached: every number, e-mail address and address
// with its consent and the preferred one of each kind, kept current by the account's
// channel. Whether they may be contacted now is the Contact panel's one summary (it weighs
// opt-outs, disputes, hours and calls made).
import { h, problemBox } from "../../dom.js";
import { realtime } from "../../realtime.js";
import { contactDetails } from "./contact-details.js";
import { customFacts } from "./custom.js";

export function debtorPanel(debtor, { accountId, canEdit = false, fields = [] } = {}) {
  if (!debtor) return [h("h2", {}, "Debtor"), problemBox(new Error("Debtor details are not available."))];
  const details = contactDetails(debtor.id, { canEdit });
  const facts = h("dl", { class: "facts" });
  const show = (current) => facts.replaceChildren(
    ...[["Name", `${current.first_name} ${current.last_name}`], ["Time zone", current.time_zone]]
      .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    ...customFacts(fields, current.custom));
  show(debtor);
  const card = h("div", { id: "debtor-card" }, facts, details.nodes);
  details.load();
  if (accountId) {
    // A change made on another screen (or by the API) is read anew; the subscription ends
    // with the card.
    const stop = realtime.subscribe(`account:${accountId}`, (event) => {
      if (!card.isConnected && event.type !== "ready") { stop(); return; }
      if (event.type === "debtor.updated" && event.data?.id === debtor.id) show(event.data);
      if (event.type === "debtor.updated" || event.type === "resync") details.load();
    });
  }
  return [h("h2", {}, "Debtor"), card];
}
