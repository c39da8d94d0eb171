// A span of time as people say it (3 days, 2 hours) held as the minutes the API wants.
import { h } from "../../dom.js";
import { uid } from "../../forms.js";

const UNITS = [["days", 1440], ["hours", 60], ["minutes", 1]];

// `minutes` may be null (no duration); `onchange(minutes or null)`.
export function durationInput({ label, minutes, path, onchange, optional = false }) {
  const [unitName, size] = UNITS.find(([, s]) => minutes && minutes % s === 0) || UNITS[0];
  const amount = h("input", { type: "number", min: optional ? 0 : 1, step: 1, inputmode: "numeric", id: uid(),
    value: minutes ? String(minutes / size) : "", placeholder: optional ? "none" : "" });
  const unit = h("select", { "aria-label": `${label}: unit` },
    UNITS.map(([name]) => h("option", { value: name, selected: name === unitName }, name)));
  const update = () => {
    const count = amount.value.trim() === "" ? null : Number(amount.value);
    const perUnit = UNITS.find(([name]) => name === unit.value)[1];
    onchange(count === null || Number.isNaN(count) ? null : Math.round(count * perUnit));
  };
  amount.addEventListener("input", update);
  unit.addEventListener("change", update);
  return h("div", { class: "field duration", dataset: path ? { field: path } : undefined },
    h("label", { for: amount.id }, label), amount, " ", unit);
}
