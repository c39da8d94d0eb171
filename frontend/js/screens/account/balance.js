// What the debtor owes now and what it is made of. It lights up when an event moves it, so
// a collector on the phone sees a payment land.
import { money } from "../../../components/rc-money.js";
import { flash, h } from "../../dom.js";

export function balancePanel() {
  const balance = h("div", { class: "big-money", id: "balance" });
  const breakdown = h("dl", { class: "facts", id: "breakdown" });
  return {
    nodes: [h("h2", {}, "Balance"), balance, breakdown],
    text: () => balance.textContent,
    show(account, changed) {
      balance.replaceChildren(money(account.balance, account.currency));
      breakdown.replaceChildren(...[
        ["Principal", money(account.principal, account.currency)],
        ["Interest", money(account.interest, account.currency)],
        ["Fees", money(account.fees, account.currency)],
      ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", { class: "num" }, v)]));
      if (changed) for (const node of [balance, breakdown]) flash(node);
    },
  };
}
