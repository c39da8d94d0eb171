// Something the server shows only once (a webhook's signing secret, an API key): copy it
// now, for the server keeps it sealed or hashed and never shows it again. `id` names the
// text box (focused by the screen that shows it); `warning` and `note` are what to say.
import { announce, h } from "./dom.js";

export function shownOnce({ id, title, label, value, warning, note = null, spoken, done }) {
  const input = h("input", { type: "text", id, readonly: true, value,
    "aria-label": label, spellcheck: "false", onfocus: (event) => event.target.select() });
  const said = h("span", { role: "status", class: "muted" });
  const copy = h("button", { type: "button", onclick: async () => {
    try {
      await navigator.clipboard.writeText(value);
      said.textContent = "Copied.";
    } catch {
      input.focus();
      said.textContent = "Press Ctrl+C to copy.";
    }
  } }, "Copy");
  const titleId = `${id}-title`;
  const box = h("div", { class: "card secret-box", role: "region", "aria-labelledby": titleId },
    h("h2", { id: titleId }, title),
    h("p", { class: "secret-warning" }, h("strong", {}, "Copy it now: you will not see this again."), " ", warning),
    note,
    h("div", { class: "link-row" }, input, copy),
    h("p", { class: "save-row" }, said, h("span", { class: "spacer" }),
      h("button", { type: "button", onclick: () => { box.remove(); done?.(); } }, "I have stored it")));
  announce(spoken);
  return box;
}
