// Users of the tenant: who they are, their role, group, state and when they were last seen;
// one opens to change their role, group and capacity, set them a new password, deactivate
// or reactivate them; a form below adds one. Another admin's change shows without a reload.
import { everything } from "../../api.js";
import { h, redrawKeeping } from "../../dom.js";
import { realtime } from "../../realtime.js";
import { userEditor } from "./users/user-editor.js";
import { userForm } from "./users/user-form.js";
import { lastSeen, roleLabel, stateBadge } from "./users/words.js";

export async function usersSection() {
  let [users, groups] = await Promise.all([everything("/users"), everything("/agent-groups")]);
  let open = null; // the id of the user being changed
  let said = null; // what the editor says of the change just made
  let timer = null;
  const list = h("div", { class: "card", id: "users" });
  const editSlot = h("div");
  const groupName = () => new Map(groups.map((g) => [g.id, g.name]));

  function row(user, names) {
    const manage = h("button", { type: "button", class: "quiet", "aria-expanded": String(open === user.id),
      "aria-controls": "user-editor", onclick: () => show(user.id) },
    "Manage", h("span", { class: "visually-hidden" }, ` ${user.name}`));
    return h("tr", { dataset: { id: user.id }, class: user.active ? undefined : "inactive" },
      h("th", { scope: "row" }, user.name, h("div", { class: "muted small user-email" }, user.email)),
      h("td", { "data-label": "Role" }, roleLabel(user.role)),
      h("td", { "data-label": "Group" }, names.get(user.group_id) || h("span", { class: "muted" }, "—")),
      h("td", { "data-label": "State" }, stateBadge(user)),
      h("td", { "data-label": "Last seen", class: "small" }, lastSeen(user)),
      h("td", { class: "row-tools" }, manage));
  }

  function renderList() {
    const names = groupName();
    list.replaceChildren(h("h2", {}, `Users (${users.length})`),
      h("div", { class: "table-scroll" }, h("table", { class: "data stack users-table" },
        h("thead", {}, h("tr", {}, ["Name", "Role", "Group", "State", "Last seen", ""]
          .map((t) => h("th", { scope: "col" }, t || h("span", { class: "visually-hidden" }, "Actions"))))),
        h("tbody", {}, users.map((u) => row(u, names))))));
  }

  // The open user's editor, drawn again only when they changed (another admin, this one, or
  // their presence); a part the admin is in the middle of (something typed, the question of
  // deactivating them open) stays as it is, focus and all, while it still applies.
  function renderEditor({ force = false } = {}) {
    const user = users.find((u) => u.id === open);
    const current = editSlot.firstElementChild;
    if (!user) {
      editSlot.replaceChildren();
      return;
    }
    const same = current && Number(current.dataset.id) === user.id;
    if (!force && same && current.dataset.updated === user.updated_at) return;
    if (force || !same) {
      draw(user, new Map());
      return;
    }
    redrawKeeping(editSlot, (busy) => draw(user, busy));
  }

  function draw(user, busy) {
    const editor = userEditor(user, groups, {
      said,
      busy,
      changed: async (after, message) => {
        said = message;
        users = users.map((u) => (u.id === after.id ? after : u));
        renderList();
        const focused = editSlot.contains(document.activeElement);
        renderEditor();
        if (focused && !editSlot.contains(document.activeElement)) editSlot.querySelector("#user-editor-title")?.focus();
      },
      close: () => {
        const was = open;
        open = null;
        render();
        list.querySelector(`tr[data-id="${was}"] button`)?.focus();
      },
    });
    editor.id = "user-editor";
    editor.dataset.updated = user.updated_at;
    editSlot.replaceChildren(editor);
    said = null;
  }

  function render() {
    renderList();
    renderEditor();
  }

  function show(id) {
    open = open === id ? null : id;
    renderList();
    renderEditor({ force: true });
    if (open) {
      editSlot.scrollIntoView?.({ block: "start" });
      editSlot.querySelector("#user-editor-title")?.focus();
    }
  }

  async function reload() {
    [users, groups] = await Promise.all([everything("/users"), everything("/agent-groups")]);
    form.setGroups(groups);
    render();
  }

  const form = userForm({
    groups,
    saved: async (made) => {
      users = [...users.filter((u) => u.id !== made.id), made].sort((a, b) => a.id - b.id);
      render();
    },
  });

  render();
  const stop = realtime.subscribeAll(["setup", "tenant"], (event) => {
    if (event.type?.startsWith("user.") || event.type?.startsWith("group.") || event.type === "resync") {
      clearTimeout(timer);
      timer = setTimeout(() => reload().catch(() => {}), 300);
    }
  });
  const node = h("div", { class: "admin-users" },
    list, editSlot,
    h("div", { class: "card", id: "add-user" }, h("h2", {}, "Add a user"), form));
  return { node, leave: () => { stop(); clearTimeout(timer); } };
}
