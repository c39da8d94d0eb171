// The account's own facts: where it stands in the collection cycle, and the tenant's custom
// fields of accounts. Its status changes in one place, the status panel (status.js), which
// says what each change does and keeps to the rules the server applies; everyone sees the
// change arrive here.
import { statusBadge } from "../../codes.js";
import { flash, formatDate, h } from "../../dom.js";
import { customFacts } from "./custom.js";

export function detailsPanel(fields = []) {
  const facts = h("dl", { class: "facts", id: "facts" });
  return {
    nodes: [h("h2", {}, "Account"), facts],
    show(current, changed) {
      facts.replaceChildren(...[
        ["Reference", current.external_ref],
        ["Creditor", current.creditor || "—"],
        ["Due date", formatDate(current.due_date)],
        ["Days past due", `${current.days_past_due} (${current.bucket})`],
        ["Status", statusBadge(current.status)],
      ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]), ...customFacts(fields, current.custom));
      if (changed) flash(facts);
    },
  };
}
