// One agent group: its name and description, its members (a user is added or taken out
// by changing their group, so a user is in one group at most) and removing it, which the
// server refuses while a task queue or rule still uses the group.
import { api } from "../../../api.js";
import { announce, h, pending } from "../../../dom.js";
import { clearFieldErrors, confirmButton, field, showProblem } from "../../../forms.js";
import { roleLabel, stateBadge } from "./words.js";

// The fields of a group, for a new one (`group` null) or a change. `saved(group)`.
export function groupForm({ group = null, saved }) {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 100,
    value: group?.name ?? "", autocomplete: "off" });
  const description = h("input", { type: "text", name: "description", maxlength: 2000,
    value: group?.description ?? "", autocomplete: "off" });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit", class: "primary" }, group ? "Save changes" : "Add group");
  const form = h("form", { class: "group-form", novalidate: true,
    "aria-label": group ? `Details of ${group.name}` : "A new group" },
  h("div", { class: "row" },
    field(group ? "Name" : "Group name", name, { path: "name", hint: "Up to 100 characters; no two groups share a name." }),
    field("Description", description, { path: "description" })),
  problem, h("div", { class: "save-row" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.getAttribute("aria-busy") === "true") return;
    clearFieldErrors(form);
    problem.replaceChildren();
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    const body = { name: name.value.trim(), description: description.value.trim() };
    try {
      const answer = group
        ? await api(`/agent-groups/${group.id}`, { method: "PATCH", body })
        : await api("/agent-groups", { method: "POST", body });
      if (!group) form.reset();
      announce(group ? `${answer.name} saved` : `${answer.name} added`);
      await saved(answer);
    } catch (error) {
      showProblem(form, problem, error);
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  });
  return form;
}

function membersPanel(group, users, changed, busy) {
  const members = users.filter((u) => u.group_id === group.id);
  const others = users.filter((u) => u.group_id !== group.id && u.active);
  // A user being chosen to add stays chosen, with the refusals' place beside it.
  const adding = busy.get("add") || addMember(group, others, changed);
  const problem = adding.querySelector(".members-problem");
  const list = members.length
    ? h("ul", { class: "members" }, members.map((user) => {
      const remove = h("button", { type: "button", class: "quiet" }, "Take out",
        h("span", { class: "visually-hidden" }, ` ${user.name}`));
      remove.addEventListener("click", () => pending(remove, problem, async () => {
        const after = await api(`/users/${user.id}`, { method: "PATCH", body: { group_id: null } });
        announce(`${after.name} taken out of ${group.name}`);
        await changed();
      }));
      return h("li", { dataset: { id: user.id } },
        h("span", { class: "member-name" }, user.name),
        h("span", { class: "muted small" }, roleLabel(user.role)),
        user.active ? null : stateBadge(user),
        remove);
    }))
    : h("p", { class: "muted" }, "No members yet.");
  return h("div", { class: "group-members" }, h("h3", {}, `Members (${members.length})`), list, adding);
}

function addMember(group, others, changed) {
  const problem = h("div", { class: "members-problem" });
  const choice = h("select", { name: "user" },
    h("option", { value: "" }, "Choose a user…"),
    others.map((u) => h("option", { value: u.id }, u.group_id ? `${u.name} (moves from another group)` : u.name)));
  const add = h("button", { type: "submit" }, "Add to group");
  const addForm = h("form", { class: "inline-form add-member", novalidate: true, "aria-label": `Add a member to ${group.name}` },
    field("User", choice, { path: "group_id" }), add);
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!choice.value) {
      choice.focus();
      return;
    }
    pending(add, problem, async () => {
      const after = await api(`/users/${choice.value}`, { method: "PATCH", body: { group_id: group.id } });
      announce(`${after.name} added to ${group.name}`);
      await changed();
    });
  });
  return h("div", { "data-row": "add" }, addForm, problem);
}

// `changed()` after any change the server took; `removed()` once the group is gone. `busy`:
// the parts of the editor drawn before that the admin is in the middle of (redrawKeeping),
// put back as they are.
export function groupEditor(group, users, { changed, removed, close, busy = new Map() }) {
  const details = busy.get("details") || groupForm({ group, saved: changed });
  details.dataset.row = "details";
  return h("section", { class: "card group-editor", "aria-labelledby": "group-editor-title",
    dataset: { id: group.id, updated: group.updated_at } },
  h("div", { class: "editor-head" },
    h("h2", { id: "group-editor-title", tabindex: -1 }, group.name),
    h("button", { type: "button", class: "quiet", onclick: close }, "Close")),
  details,
  membersPanel(group, users, changed, busy),
  h("h3", {}, "Remove"),
  busy.get("remove") || removeTool(group, removed));
}

function removeTool(group, removed) {
  const problem = h("div");
  const remove = confirmButton("Remove group", `Remove ${group.name}? Its members keep working, without a group.`,
    problem, async () => {
      await api(`/agent-groups/${group.id}`, { method: "DELETE" });
      announce(`${group.name} removed`);
      await removed();
    });
  return h("div", { class: "group-remove", "data-row": "remove" }, remove, problem);
}
