// The account's own facts: where it stands in the collection cycle. Supervisors may move
// its status by hand; everyone sees the change arrive.
import { api } from "../../api.js";
import { ACCOUNT_STATUS, statusBadge } from "../../codes.js";
import { flash, formatDate, h, submit } from "../../dom.js";

export function detailsPanel(id, account, { canSetStatus }) {
  const facts = h("dl", { class: "facts", id: "facts" });
  let form = [];
  if (canSetStatus) {
    const problem = h("div");
    const status = h("select", { id: "account-status" },
      Object.entries(ACCOUNT_STATUS).map(([value, label]) => h("option", { value, selected: value === account.status }, label)));
    form = [problem, h("form", { class: "inline-form", "aria-label": "Change the status", onsubmit: submit(problem, () =>
      api(`/accounts/${id}`, { method: "PATCH", body: { status: status.value } })) },
      h("div", { class: "field" }, h("label", { for: "account-status" }, "Status"), status),
      h("button", { type: "submit" }, "Set status"))];
  }
  return {
    nodes: [h("h2", {}, "Account"), facts, ...form],
    show(current, changed) {
      facts.replaceChildren(...[
        ["Reference", current.external_ref],
        ["Creditor", current.creditor || "—"],
        ["Due date", formatDate(current.due_date)],
        ["Days past due", `${current.days_past_due} (${current.bucket})`],
        ["Status", statusBadge(current.status)],
      ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
      if (changed) flash(facts);
    },
  };
}
