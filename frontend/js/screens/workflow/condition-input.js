// A CEL condition, checked by the server as it is typed: where it is wrong (a caret under
// the line and column), or how many accounts it holds for now.
import { api } from "../../api.js";
import { h, problemBox } from "../../dom.js";
import { debounce, field } from "../../forms.js";

function pointer(source, line, column) {
  const text = source.split("\n")[line - 1] ?? "";
  return h("pre", { class: "pointer", "aria-hidden": "true" }, `${text}\n${" ".repeat(Math.max(column - 1, 0))}^`);
}

// `trigger()` gives the workflow's trigger type now (it shapes `event`); `onchange(text)`
// hears every edit.
export function conditionInput({ value, label, path, trigger, onchange, hint }) {
  const input = h("textarea", { class: "code", rows: 2, maxlength: 2000, spellcheck: "false",
    autocapitalize: "off", autocomplete: "off", placeholder: "account.days_past_due >= 30" });
  input.value = value ?? "";
  const result = h("div", { class: "check", "aria-live": "polite" });
  let asked = 0;

  async function check() {
    const source = input.value;
    const mine = ++asked;
    if (!source.trim()) {
      result.dataset.state = "empty";
      result.replaceChildren(h("p", { class: "muted" }, "Write a condition, or remove it."));
      return;
    }
    result.dataset.state = "checking";
    try {
      const found = await api("/workflows/check-condition", { method: "POST", body: { condition: source, trigger: trigger() } });
      if (mine !== asked) return;
      result.dataset.state = found.valid ? "valid" : "invalid";
      if (found.valid) input.removeAttribute("aria-invalid");
      else input.setAttribute("aria-invalid", "true");
      result.replaceChildren(...(found.valid
        ? [h("p", { class: "check-ok" }, "✓ Valid · holds for ", h("strong", {}, String(found.matches)),
          ` of ${found.accounts} account${found.accounts === 1 ? "" : "s"} now`)]
        : [h("p", { class: "error-text" }, `✕ ${found.error}`), pointer(source, found.line || 1, found.column || 1)]));
    } catch (error) {
      if (mine !== asked) return;
      result.dataset.state = "invalid";
      result.replaceChildren(problemBox(error));
    }
  }
  const later = debounce(check, 350);
  input.addEventListener("input", () => {
    onchange(input.value);
    result.dataset.state = "checking";
    later();
  });
  check();
  const node = field(label, input, { path, hint });
  node.append(result);
  return { node, input, check };
}
