// The admin console: one frame with a section per kind of setting; each section is its own
// module under admin/ and returns a node or { node, leave }.
import { h } from "../dom.js";
import { auditSection } from "./admin/audit.js";
import { fieldsSection } from "./admin/fields.js";
import { groupsSection } from "./admin/groups.js";
import { importSection, importsSection } from "./admin/imports.js";
import { keysSection } from "./admin/keys.js";
import { queuesSection } from "./admin/queues.js";
import { ruleSection } from "./admin/rule.js";
import { rulesSection } from "./admin/rules.js";
import { settingsSection } from "./admin/settings.js";
import { usersSection } from "./admin/users.js";

// Supervisors configure the work (queues and rules); the rest is an admin's. The server
// decides either way: these lists only spare a supervisor the sections they cannot use.
const MANAGERS = ["admin", "supervisor"];
const SECTIONS = [
  ["users", "Users", usersSection, ["admin"]],
  ["groups", "Agent groups", groupsSection, ["admin"]],
  ["api-keys", "API keys", keysSection, ["admin"]],
  ["settings", "Tenant settings", settingsSection, ["admin"]],
  ["queues", "Task queues", queuesSection, MANAGERS],
  ["rules", "Task rules", rulesSection, MANAGERS],
  ["imports", "Imports", importsSection, ["admin"]],
  ["fields", "Custom fields", fieldsSection, ["admin"]],
  ["audit", "Audit log", auditSection, ["admin"]],
];

export async function adminScreen(requested, id) {
  const role = document.body.dataset.role;
  const mine = SECTIONS.filter(([, , , roles]) => roles.includes(role));
  // Anyone else is shown what the API answers them: that they may not.
  const sections = mine.length ? mine : SECTIONS;
  // One item's own page, under the section that lists it.
  const pages = { rule: ["rules", () => ruleSection(id)], import: ["imports", () => importSection(id)] };
  let section = requested;
  if (!pages[section] && !sections.some(([name]) => name === section)) {
    section = sections[0][0];
    history.replaceState({}, "", `/admin/${section}`);
  }
  const current = pages[section] ? pages[section][0] : section;
  const render = pages[section] ? pages[section][1] : sections.find(([name]) => name === section)[2];
  const shown = await render();
  const body = shown instanceof Node ? shown : shown.node;
  const node = h("section", { class: "admin", "aria-labelledby": "admin-title" },
    h("h1", { id: "admin-title" }, "Admin"),
    h("nav", { class: "subnav", "aria-label": "Admin sections" },
      sections.map(([name, label]) => h("a", {
        href: `/admin/${name}`, "aria-current": name === current ? "page" : undefined,
      }, label))),
    body);
  return shown instanceof Node ? node : { node, leave: shown.leave };
}
