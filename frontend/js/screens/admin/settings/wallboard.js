// The wallboard's measures: each day's target per currency, and when a queue's oldest
// waiting task turns it amber, then red.
import { h } from "../../../dom.js";
import { field } from "../../../forms.js";
import { numberField, settingsForm } from "./section.js";

const AMOUNT = /^\d+(\.\d+)?$/;

export function wallboardSection() {
  const warn = numberField("Amber after", "stats.queue_age_warn_minutes", {
    min: 1, max: 10080, unit: "minutes", fallback: 15,
    hint: "A queue whose oldest waiting task has waited this long shows amber." });
  const alert = numberField("Red after", "stats.queue_age_alert_minutes", {
    min: 1, max: 10080, unit: "minutes", fallback: 60, hint: "Longer than amber." });
  const list = h("ul", { class: "targets", id: "daily-targets" });
  let rows = [];

  function row(currency = "", amount = "") {
    const code = h("input", { maxlength: 3, autocomplete: "off", spellcheck: "false", class: "currency",
      value: currency });
    const money = h("input", { inputmode: "decimal", autocomplete: "off", value: amount });
    const item = { code, money };
    item.li = h("li", { class: "target-row" },
      field("Currency", code, { className: "compact" }),
      field("Target a day", money, { className: "compact" }),
      h("button", { type: "button", class: "quiet", onclick: () => {
        rows = rows.filter((r) => r !== item);
        item.li.remove();
        renumber();
        section.markDirty();
        add.focus();
      } }, "Remove"));
    return item;
  }

  // A row's fields are named by its currency, as the server names them.
  function renumber() {
    rows.forEach((r, i) => {
      const key = `stats.daily_targets.${r.code.value.trim().toUpperCase() || `#${i}`}`;
      r.code.closest(".field").dataset.field = key;
      r.money.closest(".field").dataset.field = `${key}.amount`;
      r.li.querySelector("button").setAttribute("aria-label", `Remove the ${r.code.value || "new"} target`);
    });
  }

  const add = h("button", { type: "button", id: "add-target", onclick: () => {
    const made = row();
    rows.push(made);
    list.append(made.li);
    renumber();
    section.markDirty();
    made.code.focus();
  } }, "Add a daily target");

  const section = settingsForm({
    id: "wallboard",
    title: "Wallboard",
    saveLabel: "Save wallboard measures",
    intro: "What the floor's wallboard measures the day against.",
    controls: [
      h("fieldset", { class: "settings-group" }, h("legend", {}, "Daily targets"),
        h("p", { class: "hint" }, "Money to collect each day, per currency (such as USD 5000.00): the wallboard shows "
          + "today's collections against it. None: no target is shown."),
        h("div", { dataset: { field: "stats.daily_targets" } }, list), add),
      h("fieldset", { class: "settings-group" }, h("legend", {}, "Queue age"),
        h("div", { class: "row" }, warn.node, alert.node)),
    ],
    part: (t) => t.settings.stats,
    fill: (t) => {
      const s = t.settings.stats;
      warn.value = s.queue_age_warn_minutes;
      alert.value = s.queue_age_alert_minutes;
      rows = Object.entries(s.daily_targets).map(([c, a]) => row(c, a));
      list.replaceChildren(...rows.map((r) => r.li));
      renumber();
    },
    body: () => ({ stats: {
      queue_age_warn_minutes: warn.value,
      queue_age_alert_minutes: alert.value,
      daily_targets: Object.fromEntries(rows.map((r) => [r.code.value.trim().toUpperCase(), r.money.value.trim()])),
    } }),
    changed: renumber,
    check() {
      const errors = [warn, alert].map((f) => ({ field: f.path, message: f.check() })).filter((e) => e.message);
      if (!errors.length && alert.value <= warn.value) {
        errors.push({ field: alert.path, message: "Red must come after amber: a longer time." });
      }
      const seen = new Set();
      rows.forEach((r, i) => {
        const code = r.code.value.trim().toUpperCase();
        const key = `stats.daily_targets.${code || `#${i}`}`;
        if (!/^[A-Z]{3}$/.test(code)) errors.push({ field: key, message: "A three-letter currency code, such as USD." });
        else if (seen.has(code)) errors.push({ field: key, message: `${code} has a target already.` });
        seen.add(code);
        const amount = r.money.value.trim();
        if (!AMOUNT.test(amount) || Number(amount) <= 0) {
          errors.push({ field: `${key}.amount`, message: "An amount above zero, such as 5000.00." });
        }
      });
      return errors;
    },
  });
  return section;
}
