// Recording what the debtor promises to pay, and by when.
import { api } from "../../api.js";
import { h, submit } from "../../dom.js";

export function recordPromisePanel(id) {
  const problem = h("div");
  const amount = h("input", { id: "promise-amount", inputmode: "decimal", required: true });
  const date = h("input", { id: "promise-date", type: "date", required: true });
  const form = h("form", { class: "inline-form", "aria-label": "Record a promise", onsubmit: submit(problem, async () => {
    // "1,250.50" as people write it; words rather than the API's when it is not figures.
    const text = amount.value.trim().replace(/,(?=\d{3}(\D|$))/g, "");
    if (!/^\d+(\.\d+)?$/.test(text)) {
      amount.setAttribute("aria-invalid", "true");
      throw new Error("Enter the promised amount in figures, such as 120.50.");
    }
    amount.removeAttribute("aria-invalid");
    await api(`/accounts/${id}/promises`, { method: "POST", body: { amount: text, due_date: date.value } });
    amount.value = "";
  }) },
    h("div", { class: "field" }, h("label", { for: "promise-amount" }, "Promised amount"), amount),
    h("div", { class: "field" }, h("label", { for: "promise-date" }, "By"), date),
    h("button", { type: "submit" }, "Record promise"));
  return [problem, form];
}
