// The conditions, all of which must hold for a run to start, each checked as it is typed.
import { h } from "../../dom.js";
import { conditionInput } from "./condition-input.js";

const MAX_CONDITIONS = 20;

const VARIABLES = [
  ["account", "id, external_ref, creditor, currency, status, days_past_due, bucket, due_date, owner_id, balance_minor, principal_minor, interest_minor, fees_minor, credit_minor, custom"],
  ["debtor", "id, first_name, last_name, country, region, time_zone, has_email, has_phone, flags, custom"],
  ["event", "id, type, data, amount_minor"],
  ["tenant", "id, name, time_zone"],
];

export function conditionsPanel(model, ctx) {
  const list = h("ol", { class: "conditions" });
  const add = h("button", { type: "button", onclick: () => {
    model.conditions.push("");
    ctx.changed();
    render();
    list.lastElementChild?.querySelector("textarea")?.focus();
  } }, "Add a condition");

  function render() {
    if (!Array.isArray(model.conditions)) model.conditions = [];
    list.replaceChildren(...model.conditions.map((source, i) => {
      const check = conditionInput({ value: source, label: `Condition ${i + 1}`, path: `conditions[${i}]`, trigger: ctx.trigger,
        onchange: (text) => { model.conditions[i] = text; ctx.changed(); } });
      ctx.checks.add(check);
      const remove = h("button", { type: "button", class: "icon", "aria-label": `Remove condition ${i + 1}`, onclick: () => {
        model.conditions.splice(i, 1);
        ctx.changed();
        render();
        (list.children[Math.min(i, model.conditions.length - 1)]?.querySelector("textarea") || add).focus();
      } }, "✕");
      return h("li", { class: "condition" }, check.node, remove);
    }));
    add.disabled = model.conditions.length >= MAX_CONDITIONS;
  }
  render();
  return {
    nodes: [
      h("p", { class: "hint" }, "Every condition must hold (CEL). Money is in minor units: ",
        h("code", {}, "account.balance_minor >= 50000"), " is 500.00."),
      list, add,
      h("details", { class: "help" }, h("summary", {}, "What a condition can use"),
        h("dl", { class: "facts" }, VARIABLES.flatMap(([name, fields]) => [h("dt", {}, h("code", {}, name)), h("dd", {}, fields)])),
        h("p", { class: "hint" }, "Test a key of custom or event.data first: ", h("code", {}, "has(account.custom.tier)"),
          ". Flags: ", h("code", {}, "!(\"vip\" in debtor.flags)"), ".")),
    ],
    render,
  };
}
