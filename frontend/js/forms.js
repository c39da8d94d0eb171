// What the editing screens share: labelled fields that a refusal can point at, and the
// refusal itself shown next to the field it names.
import { h, pending, problemBox } from "./dom.js";

let next = 0;
export const uid = (prefix = "f") => `${prefix}-${++next}`;

// A labelled control. `path` names the field as the server does ("steps[1].template_id"),
// so that a 422 about it lands here.
export function field(label, control, { path, hint, className } = {}) {
  control.id ||= uid();
  let hintNode = null;
  if (hint) {
    hintNode = h("p", { class: "hint", id: uid("hint") }, hint);
    control.setAttribute("aria-describedby", hintNode.id);
  }
  return h("div", { class: className ? `field ${className}` : "field", dataset: path ? { field: path } : undefined },
    h("label", { for: control.id }, label), control, hintNode);
}

export function debounce(action, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => action(...args), ms);
  };
}

export function clearFieldErrors(root) {
  for (const node of root.querySelectorAll(".field-error")) node.remove();
  for (const node of root.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

// "steps[1].arms[0].steps[2].until" -> "steps[1].arms[0].steps[2]" -> ... -> "steps".
const parent = (path) => path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");

// The server says what is wrong with a field without naming it ("must not be empty",
// "is required"): beside the field, that reads as a sentence about it.
function sentence(message) {
  return /^(must|is) /.test(message) ? `This ${message}.` : message;
}

function placeError(root, path, message) {
  for (let at = path; at;) {
    const holder = root.querySelector(`[data-field="${CSS.escape(at)}"]`);
    if (holder) {
      const control = holder.querySelector(":scope > input, :scope > select, :scope > textarea");
      control?.setAttribute("aria-invalid", "true");
      const note = h("p", { class: "error-text field-error", role: "alert" }, sentence(message));
      const head = holder.querySelector(":scope > .head");
      if (holder.classList.contains("field") || !head) holder.append(note);
      else head.after(note);
      return control || holder.querySelector("input, select, textarea, button");
    }
    const up = parent(at);
    if (up === at) break;
    at = up;
  }
  return null;
}

// Shows each field error of a refusal next to its field, and the refusal in `summary`
// (the box beside the button that was pressed). The first field at fault gets the focus.
export function showProblem(root, summary, error, { focus = true } = {}) {
  clearFieldErrors(root);
  summary.replaceChildren(problemBox(error));
  const problem = error.problem || {};
  const errors = problem.errors?.length ? problem.errors
    : problem.field ? [{ field: problem.field, message: error.message }] : [];
  let first = null;
  for (const { field: path, message } of errors) {
    const placed = path ? placeError(root, path, message) : null;
    first ||= placed;
  }
  if (first && focus) {
    first.closest("details")?.setAttribute("open", "");
    first.scrollIntoView?.({ block: "center" });
    if (first.focus) first.focus({ preventScroll: true });
  }
}

// The submit handler of a form whose refusals land beside their fields: its submit button
// busy while `action` runs (pressed again meanwhile, nothing happens), the last refusal's
// marks cleared first, a new one shown with `showProblem`. Resolves to what `action`
// returned, or undefined when it was refused.
export function submitForm(form, problem, action) {
  return async (event) => {
    event.preventDefault();
    const button = event.submitter ?? form.querySelector("[type=submit]");
    if (button.getAttribute("aria-busy") === "true") return undefined;
    clearFieldErrors(form);
    problem.replaceChildren();
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      return await action();
    } catch (error) {
      showProblem(form, problem, error);
      return undefined;
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  };
}

// Moves to another screen of the app frame without a reload (the frame listens to popstate).
export function go(path) {
  history.pushState({}, "", path);
  dispatchEvent(new PopStateEvent("popstate"));
}

// A button for what cannot be undone: it asks first, beside itself, and the question is
// answered with the keyboard as well. `action` runs through `pending` with `problem`.
export function confirmButton(label, question, problem, action) {
  const ask = h("button", { type: "button", class: "quiet" }, `${label}…`);
  const yes = h("button", { type: "button", class: "danger" }, label);
  const no = h("button", { type: "button" }, "Keep it");
  const confirm = h("span", { class: "confirm", role: "group", "aria-label": question, hidden: true, "data-question": "" },
    h("span", {}, question), yes, no);
  ask.addEventListener("click", () => { ask.hidden = true; confirm.hidden = false; no.focus(); });
  no.addEventListener("click", () => { confirm.hidden = true; ask.hidden = false; ask.focus(); });
  yes.addEventListener("click", () => pending(yes, problem, action));
  return h("span", { class: "confirm-button" }, ask, confirm);
}
