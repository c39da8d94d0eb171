// What the Users and Agent groups sections share: the roles in words, a user's state and
// when they were last seen, and the checks made as the admin types (what the server would
// refuse anyway, said before the round trip: e-mail shape, password length).
import { formatDateTime, h } from "../../../dom.js";
import { uid } from "../../../forms.js";

export const ROLES = [
  ["admin", "Admin"],
  ["supervisor", "Supervisor"],
  ["collector", "Collector"],
  ["readonly", "Read-only"],
];
export const roleLabel = (role) => ROLES.find(([value]) => value === role)?.[1] ?? role;

// As the server checks it (domain/validation.py): something@somewhere.tld.
const EMAIL = /^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;
export const CAPACITY_HINT = "Tasks they may hold at once, 0 to 10,000.";
export const PASSWORD_HINT = "8 to 256 characters, hard to guess: a few uncommon words together.";

export function emailProblem(value) {
  const text = value.trim();
  if (text.length > 254) return "An e-mail address is at most 254 characters.";
  return EMAIL.test(text) ? null : "This is not an e-mail address (name@example.com).";
}

export function passwordProblem(value) {
  if (value.length < PASSWORD_MIN) return `At least ${PASSWORD_MIN} characters (${value.length} so far).`;
  if (value.length > PASSWORD_MAX) return `At most ${PASSWORD_MAX} characters (${value.length} now).`;
  return null;
}

// Checks `control` as the admin types, once they have left it once (or pressed the form's
// button): what is wrong shows beside the field, and goes as soon as it is right. A refusal
// the server sent for the field goes too when the field changes. Returns `now()`, which
// checks at once and says whether the value passes.
export function liveCheck(control, problem) {
  let touched = false;
  const described = control.getAttribute("aria-describedby");
  const show = () => {
    const holder = control.closest(".field");
    for (const note of holder.querySelectorAll(".field-error")) note.remove();
    const wrong = control.value === "" && !control.required ? null : problem(control.value);
    if (!wrong) {
      control.removeAttribute("aria-invalid");
      if (described) control.setAttribute("aria-describedby", described);
      else control.removeAttribute("aria-describedby");
      return true;
    }
    const note = h("p", { class: "error-text field-error", id: uid("error") }, wrong);
    holder.append(note);
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", described ? `${described} ${note.id}` : note.id);
    return false;
  };
  control.addEventListener("input", () => { if (touched) show(); });
  control.addEventListener("change", () => { touched = true; show(); });
  control.addEventListener("blur", () => { if (control.value !== "") touched = true; if (touched) show(); });
  return () => { touched = true; return show(); };
}

// A select of the tenant's groups, "No group" first.
export function groupSelect(groups, chosen, attrs = {}) {
  return h("select", attrs,
    h("option", { value: "", selected: chosen == null }, "No group"),
    groups.map((g) => h("option", { value: g.id, selected: g.id === chosen }, g.name)));
}

export const groupValue = (select) => (select.value === "" ? null : Number(select.value));

export function roleSelect(chosen, attrs = {}) {
  return h("select", attrs, ROLES.map(([value, label]) => h("option", { value, selected: value === chosen }, label)));
}

// Active or deactivated, and for an active one whether they are at work now.
export function stateBadge(user) {
  if (!user.active) return h("span", { class: "badge", "data-tone": "bad" }, "deactivated");
  const tone = user.status === "available" ? "ok" : user.status === "away" ? "warn" : undefined;
  return h("span", { class: "badge", "data-tone": tone }, user.status);
}

// The later of their last sign-in and the last time the app was open for them.
export function lastSeen(user) {
  const times = [user.last_seen_at, user.last_login_at].filter(Boolean);
  if (!times.length) return h("span", { class: "muted" }, "never");
  const latest = times.reduce((a, b) => (new Date(a) > new Date(b) ? a : b));
  return h("time", { datetime: latest }, formatDateTime(latest));
}
