// Who the debtor is and where they may be reached. Whether they may be contacted now is the
// Contact panel's one summary (it weighs opt-outs, disputes, hours and calls made).
import { h, problemBox } from "../../dom.js";

export function debtorPanel(debtor) {
  if (!debtor) return [h("h2", {}, "Debtor"), problemBox(new Error("Debtor details are not available."))];
  return [h("h2", {}, "Debtor"), h("dl", { class: "facts" },
    [["Name", `${debtor.first_name} ${debtor.last_name}`], ["Phone", debtor.phone || "—"],
      ["E-mail", debtor.email || "—"], ["Time zone", debtor.time_zone]]
      .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))];
}
