// One user, as an admin manages them: role, group and capacity; a new password set for them
// (they sign in again everywhere); deactivate or reactivate (a deactivation ends their
// sessions and open pages at once). Each part has its own button and its own refusal.
import { api } from "../../../api.js";
import { announce, h } from "../../../dom.js";
import { clearFieldErrors, confirmButton, field, showProblem } from "../../../forms.js";
import {
  CAPACITY_HINT, PASSWORD_HINT, PASSWORD_MAX, groupSelect, groupValue, lastSeen, liveCheck,
  passwordProblem, roleSelect, stateBadge,
} from "./words.js";

// Runs `action` for `form`'s button; a refusal lands beside its field.
function sending(form, problem, button, action) {
  return async (event) => {
    event.preventDefault();
    if (button.getAttribute("aria-busy") === "true") return;
    clearFieldErrors(form);
    problem.replaceChildren();
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      showProblem(form, problem, error);
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  };
}

function workForm(user, groups, changed) {
  const role = roleSelect(user.role, { name: "role" });
  const group = groupSelect(groups, user.group_id, { name: "group_id" });
  const capacity = h("input", { type: "number", name: "capacity", value: user.capacity, inputmode: "numeric", step: 1 });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit", class: "primary" }, "Save changes");
  const form = h("form", { class: "user-work", novalidate: true, "aria-label": `Work of ${user.name}`, "data-row": "work" },
    h("div", { class: "row" },
      field("Role", role, { path: "role" }),
      field("Group", group, { path: "group_id" }),
      field("Capacity", capacity, { path: "capacity", hint: CAPACITY_HINT })),
    problem, h("div", { class: "save-row" }, button));
  form.addEventListener("submit", sending(form, problem, button, async () => {
    const body = {};
    if (role.value !== user.role) body.role = role.value;
    if (groupValue(group) !== user.group_id) body.group_id = groupValue(group);
    if (capacity.value === "" || Number(capacity.value) !== user.capacity) {
      body.capacity = capacity.value === "" ? null : Number(capacity.value);
    }
    if (!Object.keys(body).length) {
      announce("Nothing to change");
      return;
    }
    const after = await api(`/users/${user.id}`, { method: "PATCH", body });
    announce(`${after.name} changed`);
    await changed(after, "Saved.");
  }));
  return form;
}

function passwordForm(user, changed) {
  const password = h("input", { type: "password", name: "password", required: true,
    maxlength: PASSWORD_MAX + 1, autocomplete: "new-password" });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit" }, "Set password");
  const form = h("form", { class: "user-password", novalidate: true, "aria-label": `Password of ${user.name}`,
    "data-row": "password" },
    h("div", { class: "row" },
      field("New password", password, { path: "password",
        hint: `${PASSWORD_HINT} Their sessions end: they sign in again with it.` })),
    problem, h("div", { class: "save-row" }, button));
  const check = liveCheck(password, passwordProblem);
  form.addEventListener("submit", sending(form, problem, button, async () => {
    if (!check()) {
      password.focus();
      return;
    }
    const after = await api(`/users/${user.id}`, { method: "PATCH", body: { password: password.value } });
    form.reset();
    announce("Password set");
    await changed(after, `Password set. ${after.name} was signed out everywhere.`);
  }));
  return form;
}

function activeTools(user, changed) {
  const problem = h("div");
  const tool = user.active
    ? confirmButton("Deactivate", `Deactivate ${user.name}? They are signed out at once and cannot sign in.`,
      problem, async () => {
        const after = await api(`/users/${user.id}`, { method: "PATCH", body: { active: false } });
        announce(`${after.name} deactivated`);
        await changed(after, `Deactivated: ${after.name} was signed out everywhere.`);
      })
    : confirmButton("Reactivate", `Reactivate ${user.name}? They can sign in again with their password.`,
      problem, async () => {
        const after = await api(`/users/${user.id}`, { method: "PATCH", body: { active: true } });
        announce(`${after.name} reactivated`);
        await changed(after, "Reactivated.");
      });
  // Named by what it asks: once the user is (de)activated, the other question is drawn.
  return h("div", { class: "user-active", "data-row": `active:${user.active}` }, tool, problem);
}

// `changed(user)` after each change the server took; `close()` when the admin is done.
// `said`: what the last change made here was (shown at the top). `busy`: the parts of the
// editor drawn before that the admin is in the middle of (redrawKeeping), put back as they are.
export function userEditor(user, groups, { changed, close, said, busy = new Map() }) {
  const title = h("h2", { id: "user-editor-title", tabindex: -1 }, user.name);
  return h("section", { class: "card user-editor", "aria-labelledby": "user-editor-title", dataset: { id: user.id } },
    h("div", { class: "editor-head" },
      title,
      h("button", { type: "button", class: "quiet", onclick: close }, "Close")),
    h("p", { class: "user-said", role: "status" }, said || ""),
    h("dl", { class: "facts" },
      h("dt", {}, "E-mail"), h("dd", {}, user.email),
      h("dt", {}, "State"), h("dd", {}, stateBadge(user)),
      h("dt", {}, "Last seen"), h("dd", {}, lastSeen(user))),
    h("h3", {}, "Work"),
    busy.get("work") || workForm(user, groups, changed),
    h("h3", {}, "Password"),
    busy.get("password") || passwordForm(user, changed),
    h("h3", {}, user.active ? "Deactivate" : "Reactivate"),
    h("p", { class: "muted small" }, user.active
      ? "They are signed out at once and cannot sign in; their history stays, and they can be reactivated."
      : "Deactivated: they cannot sign in."),
    busy.get(`active:${user.active}`) || activeTools(user, changed));
}
