// Adding a user: name, e-mail, role, group, capacity and the first password (which the
// admin hands over; the password policy applies). E-mail shape and password length are
// checked as the admin types; whatever the server refuses shows beside its field.
import { api } from "../../../api.js";
import { announce, h } from "../../../dom.js";
import { clearFieldErrors, field, showProblem } from "../../../forms.js";
import {
  CAPACITY_HINT, PASSWORD_HINT, PASSWORD_MAX, emailProblem, groupSelect, groupValue, liveCheck,
  passwordProblem, roleSelect,
} from "./words.js";

export function userForm({ groups, saved }) {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 200, autocomplete: "off" });
  const email = h("input", { type: "email", name: "email", required: true, maxlength: 254,
    autocomplete: "off", spellcheck: "false" });
  const role = roleSelect("collector", { name: "role" });
  const group = groupSelect(groups, null, { name: "group_id" });
  const capacity = h("input", { type: "number", name: "capacity", value: 25, inputmode: "numeric", step: 1 });
  const password = h("input", { type: "password", name: "password", required: true,
    maxlength: PASSWORD_MAX + 1, autocomplete: "new-password" });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit", class: "primary" }, "Add user");
  const form = h("form", { class: "user-form", novalidate: true },
    h("div", { class: "row" },
      field("Name", name, { path: "name" }),
      field("E-mail", email, { path: "email", hint: "They sign in with it." })),
    h("div", { class: "row" },
      field("Role", role, { path: "role" }),
      field("Group", group, { path: "group_id" }),
      field("Capacity", capacity, { path: "capacity", hint: CAPACITY_HINT })),
    h("div", { class: "row" },
      field("First password", password, { path: "password", hint: PASSWORD_HINT })),
    problem,
    h("div", { class: "save-row" }, button));
  const checks = [liveCheck(email, emailProblem), liveCheck(password, passwordProblem)];

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.getAttribute("aria-busy") === "true") return;
    clearFieldErrors(form);
    problem.replaceChildren();
    const passing = checks.map((check) => check());
    if (passing.includes(false)) {
      form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    const body = {
      name: name.value.trim(),
      email: email.value.trim(),
      role: role.value,
      group_id: groupValue(group),
      // What was typed goes as typed: a capacity the server refuses is said beside it.
      capacity: capacity.value === "" ? 25 : Number(capacity.value),
      password: password.value,
    };
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      const made = await api("/users", { method: "POST", body });
      form.reset();
      announce(`${made.name} added`);
      await saved(made);
    } catch (error) {
      showProblem(form, problem, error);
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  });
  // Groups added or renamed elsewhere show in the choice; what was chosen stays chosen.
  form.setGroups = (latest) => {
    const chosen = group.value;
    group.replaceChildren(...groupSelect(latest, null).children);
    group.value = latest.some((g) => String(g.id) === chosen) ? chosen : "";
  };
  return form;
}
