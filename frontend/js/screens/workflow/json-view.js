// The workflow as JSON, for those who prefer it: it follows every change in the form, and
// a valid edit here goes back to the form at once. What does not parse stays here, named.
import { h } from "../../dom.js";

function shapeError(value) {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "The workflow is a JSON object.";
  if (!value.trigger || typeof value.trigger !== "object") return "trigger is an object, like {\"type\": \"promise.broken\"}.";
  if (value.conditions !== undefined && (!Array.isArray(value.conditions) || value.conditions.some((c) => typeof c !== "string"))) {
    return "conditions is a list of strings.";
  }
  if (value.steps !== undefined && (!Array.isArray(value.steps) || value.steps.some((s) => !s || typeof s !== "object"))) {
    return "steps is a list of objects, each with a kind.";
  }
  return null;
}

export function jsonView(onModel) {
  const text = h("textarea", { id: "workflow-json", class: "code json", rows: 24, spellcheck: "false", autocapitalize: "off",
    "aria-describedby": "workflow-json-state" });
  const state = h("p", { id: "workflow-json-state", class: "hint", "aria-live": "polite" }, "In step with the form.");
  let valid = true;
  const refuse = (why) => {
    valid = false;
    state.className = "error-text";
    state.textContent = `${why} The form keeps the last valid version.`;
  };
  text.addEventListener("input", () => {
    let value;
    try {
      value = JSON.parse(text.value);
    } catch (error) {
      refuse(`Not valid JSON: ${error.message}.`);
      return;
    }
    const wrong = shapeError(value);
    if (wrong) {
      refuse(wrong);
      return;
    }
    valid = true;
    value.conditions ??= [];
    value.steps ??= [];
    state.className = "hint";
    state.textContent = "In step with the form.";
    onModel(value);
  });
  return {
    nodes: [h("label", { for: text.id }, "Workflow as JSON"), text, state],
    // Whether the text is what the form holds (a save of anything else would surprise).
    valid: () => valid,
    focus: () => text.focus(),
    // While someone types here, the form follows the text, not the other way round.
    show(model) {
      if (document.activeElement === text) return;
      text.value = JSON.stringify(model, null, 2);
      valid = true;
      state.className = "hint";
      state.textContent = "In step with the form.";
    },
  };
}
