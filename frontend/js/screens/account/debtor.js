// Who the debtor is and how they may be reached, as the account was opened.
import { h, problemBox } from "../../dom.js";

function reach(debtor) {
  if (debtor.do_not_contact) return "Do not contact";
  return [debtor.opt_out_call && "no calls", debtor.opt_out_sms && "no SMS", debtor.opt_out_email && "no e-mail"]
    .filter(Boolean).join(", ") || "Allowed";
}

export function debtorPanel(debtor) {
  if (!debtor) return [h("h2", {}, "Debtor"), problemBox(new Error("Debtor details are not available."))];
  return [h("h2", {}, "Debtor"), h("dl", { class: "facts" },
    [["Name", `${debtor.first_name} ${debtor.last_name}`], ["Phone", debtor.phone || "—"],
      ["E-mail", debtor.email || "—"], ["Time zone", debtor.time_zone], ["Contact", reach(debtor)]]
      .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))];
}
