// A plan of instalments: so much every week, fortnight or month from a first date, as many
// times as agreed. The dates are worked out here and shown before it is made; the server
// holds them to the promise rules (how far ahead, how many, never past the balance) and
// says why in words when it refuses. The instalments arrive in the promises list.
import { api } from "../../api.js";
import { formatDate, formatMoney, h, pending, submit } from "../../dom.js";

const EVERY = { weekly: "Every week", fortnightly: "Every two weeks", monthly: "Every month" };

function iso(date) {
  return date.toISOString().slice(0, 10);
}

// The n-th date from `first` (YYYY-MM-DD); monthly keeps the day, or the month's last one.
export function planDates(first, frequency, count) {
  const [y, m, d] = first.split("-").map(Number);
  return Array.from({ length: count }, (_, n) => {
    if (frequency === "monthly") {
      const last = new Date(Date.UTC(y, m + n, 0)).getUTCDate();
      return iso(new Date(Date.UTC(y, m - 1 + n, Math.min(d, last))));
    }
    return iso(new Date(Date.UTC(y, m - 1, d + n * (frequency === "weekly" ? 7 : 14))));
  });
}

export function planPanel(id, current) {
  const problem = h("div");
  const amount = h("input", { id: "plan-amount", inputmode: "decimal", required: true });
  const count = h("input", { id: "plan-count", type: "number", min: 2, max: 120, value: 3, required: true });
  const frequency = h("select", { id: "plan-frequency" },
    Object.entries(EVERY).map(([value, label]) => h("option", { value }, label)));
  const first = h("input", { id: "plan-first", type: "date", required: true });
  const confirm = h("div", { id: "plan-confirm", class: "pay-confirm", hidden: true });
  for (const input of [amount, count, frequency, first]) input.addEventListener("input", () => { confirm.hidden = true; });

  function ask() {
    const each = amount.value.trim();
    const dates = planDates(first.value, frequency.value, Number(count.value));
    const money = formatMoney(each, current().currency);
    const yes = h("button", { type: "button", class: "primary", id: "plan-confirm-yes" }, "Make the plan");
    yes.addEventListener("click", async () => {
      const made = await pending(yes, problem, () => api(`/accounts/${id}/promises`, { method: "POST",
        body: { instalments: dates.map((due_date) => ({ amount: each, due_date })) } }));
      if (!made) return;
      confirm.hidden = true;
      amount.value = "";
    });
    const back = h("button", { type: "button", onclick: () => { confirm.hidden = true; amount.focus(); } }, "Back");
    confirm.replaceChildren(
      h("p", {}, h("strong", {}, `${dates.length} instalments of ${money}?`), ` ${EVERY[frequency.value].toLowerCase()}:`),
      h("ol", { class: "plan-dates" }, dates.map((d) => h("li", {}, `${formatDate(d)} · ${money}`))),
      h("div", { class: "inline-form" }, yes, back));
    confirm.hidden = false;
    yes.focus();
  }

  const form = h("form", { class: "inline-form", "aria-label": "Make a plan", onsubmit: submit(problem, async () => {
    if (!/^\d+(\.\d+)?$/.test(amount.value.trim())) throw new Error("Enter the amount as a number, such as 50.00.");
    const n = Number(count.value);
    if (!Number.isInteger(n) || n < 2 || n > 120) throw new Error("A plan has from 2 to 120 instalments.");
    ask();
  }) },
    h("div", { class: "field" }, h("label", { for: "plan-amount" }, `Each (${current().currency})`), amount),
    h("div", { class: "field" }, h("label", { for: "plan-count" }, "Instalments"), count),
    h("div", { class: "field" }, h("label", { for: "plan-frequency" }, "How often"), frequency),
    h("div", { class: "field" }, h("label", { for: "plan-first" }, "First on"), first),
    h("button", { type: "submit" }, "Plan…"));
  return [h("h3", {}, "Plan of instalments"), problem, form, confirm];
}
