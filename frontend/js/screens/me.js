// My account, for everyone who signs in: their name and time zone (the e-mail they sign in
// with is shown, not changed), a new password (the current one first; it ends every session
// of theirs, this one too) and signing out everywhere. Lengths and the repeat are checked as
// they type; what the server refuses (a wrong current password, a password too easy to
// guess) shows beside its field.
import { api } from "../api.js";
import { announce, h } from "../dom.js";
import { clearFieldErrors, confirmButton, field, showProblem } from "../forms.js";
import { SIGNED_OUT_NOTE } from "../session.js";
import { PASSWORD_HINT, PASSWORD_MAX, liveCheck, passwordProblem, roleLabel } from "./admin/users/words.js";

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}

// Runs `action` for `form`'s button; a refusal lands beside its field, or in `problem`.
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

// This session has ended too (its refresh token with every other): the sign-in page says
// why, and they sign in again there.
function leave(note) {
  sessionStorage.setItem(SIGNED_OUT_NOTE, note);
  location.replace("/login");
}

function detailsForm(me) {
  const known = new Set(["UTC", ...zones()]);
  const name = h("input", { type: "text", name: "name", value: me.name, required: true, maxlength: 200,
    autocomplete: "name" });
  const zone = h("input", { type: "text", name: "time_zone", value: me.time_zone, required: true,
    list: "my-zones", autocomplete: "off", spellcheck: "false" });
  const email = h("input", { type: "email", name: "email", value: me.email, readonly: true });
  const said = h("p", { class: "me-said", role: "status" });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit", class: "primary" }, "Save details");
  const form = h("form", { id: "my-details", novalidate: true, "aria-labelledby": "my-details-title" },
    h("div", { class: "row" },
      field("Name", name, { path: "name", hint: "As your team sees it: in the top bar, on tasks and in the audit log." }),
      field("Time zone", zone, { path: "time_zone",
        hint: "An IANA time zone, such as America/Chicago. Start typing to choose one." }),
      h("datalist", { id: "my-zones" }, [...known].sort().map((z) => h("option", { value: z })))),
    h("div", { class: "row" },
      field("E-mail", email, { path: "email",
        hint: "You sign in with it. It cannot be changed." })),
    problem, h("div", { class: "save-row" }, button, said));
  const checks = [
    liveCheck(name, (value) => (value.trim() ? null : "A name is needed.")),
    liveCheck(zone, (value) => {
      const z = value.trim();
      if (!z) return "A time zone is needed.";
      return known.size > 1 && !known.has(z) ? `${z} is not a time zone this browser knows.` : null;
    }),
  ];
  form.addEventListener("input", () => { said.textContent = ""; });
  form.addEventListener("submit", sending(form, problem, button, async () => {
    said.textContent = "";
    if (checks.map((check) => check()).includes(false)) {
      form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    const body = {};
    if (name.value.trim() !== me.name) body.name = name.value.trim();
    if (zone.value.trim() !== me.time_zone) body.time_zone = zone.value.trim();
    if (!Object.keys(body).length) {
      said.textContent = "Nothing to change.";
      return;
    }
    const after = await api("/users/me", { method: "PATCH", body });
    Object.assign(me, after);
    name.value = after.name;
    zone.value = after.time_zone;
    document.querySelector("#who").textContent = `${after.name} · ${after.role}`;
    said.textContent = "Saved.";
    announce("Your details are saved");
  }));
  return form;
}

function passwordForm() {
  const current = h("input", { type: "password", name: "current_password", required: true,
    maxlength: PASSWORD_MAX + 1, autocomplete: "current-password" });
  const password = h("input", { type: "password", name: "password", required: true,
    maxlength: PASSWORD_MAX + 1, autocomplete: "new-password" });
  const repeat = h("input", { type: "password", name: "password_repeat", required: true,
    maxlength: PASSWORD_MAX + 1, autocomplete: "new-password" });
  const said = h("p", { class: "me-said", role: "status" });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit" }, "Change password");
  const form = h("form", { id: "my-password", novalidate: true, "aria-labelledby": "my-password-title" },
    h("div", { class: "row" }, field("Current password", current, { path: "current_password" })),
    h("div", { class: "row" },
      field("New password", password, { path: "password", hint: PASSWORD_HINT }),
      field("Repeat the new password", repeat, { path: "password_repeat" })),
    problem, h("div", { class: "save-row" }, button, said));
  const checks = [
    liveCheck(current, (value) => (value ? null : "Your current password is needed.")),
    liveCheck(password, passwordProblem),
    liveCheck(repeat, (value) => (value === password.value ? null : "This is not the same as the new password.")),
  ];
  // The repeat is checked again as the new password changes, once there is one to compare.
  password.addEventListener("input", () => { if (repeat.value) checks[2](); });
  form.addEventListener("submit", sending(form, problem, button, async () => {
    if (checks.map((check) => check()).includes(false)) {
      form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    await api("/users/me", { method: "PATCH", body: { current_password: current.value, password: password.value } });
    form.reset();
    const note = "Your password is changed, and every session of yours has ended, this one too: "
      + "sign in with the new password.";
    said.textContent = note;
    announce("Password changed");
    leave(note);
  }));
  return form;
}

function signOutEverywhere() {
  const problem = h("div");
  return h("div", { class: "me-sign-out" },
    confirmButton("Sign out everywhere",
      "Sign out everywhere? Every page and device signed in as you signs out, this one too.",
      problem, async () => {
        await api("/users/me/sign-out-everywhere", { method: "POST" });
        announce("Signed out everywhere");
        leave("You signed out everywhere: every session of yours has ended. Sign in to go on.");
      }),
    problem);
}

function card(id, title, intro, ...body) {
  return h("section", { class: "card me-card", "aria-labelledby": id },
    h("h2", { id }, title), intro ? h("p", { class: "muted small" }, intro) : null, ...body);
}

export async function meScreen() {
  const me = await api("/users/me");
  return h("div", { class: "me-screen" },
    h("h1", {}, "My account"),
    h("p", { class: "muted" }, `Signed in as ${me.email}, ${roleLabel(me.role).toLowerCase()}.`),
    card("my-details-title", "Your details", null, detailsForm(me)),
    card("my-password-title", "Password",
      "A new password ends every session of yours, on every device, this one too: you sign in again with it.",
      passwordForm()),
    card("my-sign-out-title", "Sign out everywhere",
      "Lost a phone, or signed in on a shared computer? This ends every session of yours at once: "
      + "open pages go to the sign-in page and nothing signed in as you works until you sign in again.",
      signOutEverywhere()));
}
