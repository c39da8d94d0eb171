// Agent groups: each with its members; one opens to rename or describe it, see and change
// its members, or remove it; a form below adds one. Changes from elsewhere show live.
import { everything } from "../../api.js";
import { h, redrawKeeping } from "../../dom.js";
import { realtime } from "../../realtime.js";
import { groupEditor, groupForm } from "./users/group-editor.js";

export async function groupsSection() {
  let [groups, users] = await Promise.all([everything("/agent-groups"), everything("/users")]);
  let open = null;
  let timer = null;
  const list = h("div", { class: "card", id: "groups" });
  const editSlot = h("div");

  function row(group) {
    const manage = h("button", { type: "button", class: "quiet", "aria-expanded": String(open === group.id),
      "aria-controls": "group-editor", onclick: () => show(group.id) },
    "Members and name", h("span", { class: "visually-hidden" }, ` of ${group.name}`));
    return h("tr", { dataset: { id: group.id } },
      h("th", { scope: "row" }, group.name),
      h("td", { "data-label": "Description", class: "small" }, group.description || h("span", { class: "muted" }, "—")),
      h("td", { "data-label": "Members", class: "num member-count" }, String(group.member_count)),
      h("td", { class: "row-tools" }, manage));
  }

  function renderList() {
    list.replaceChildren(h("h2", {}, "Agent groups"),
      groups.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack groups-table" },
        h("thead", {}, h("tr", {}, ["Name", "Description", "Members", ""].map((t) => h("th", {
          scope: "col", class: t === "Members" ? "num" : undefined,
        }, t || h("span", { class: "visually-hidden" }, "Actions"))))),
        h("tbody", {}, groups.map(row))))
        : h("p", { class: "muted" }, "No groups yet. A group is a team of collectors that work the same queues."));
  }

  function renderEditor({ force = false } = {}) {
    const group = groups.find((g) => g.id === open);
    const current = editSlot.firstElementChild;
    if (!group) {
      editSlot.replaceChildren();
      return;
    }
    // Drawn again when the group or its members changed (or a user came to choose from); a
    // part the admin is in the middle of (something typed or chosen, the question of removing
    // it open) stays as it is, focus and all.
    const key = `${group.updated_at}|${users.filter((u) => u.group_id === group.id).map((u) => u.id).join(",")}`
      + `|${users.length}`;
    if (!force && current && current.dataset.key === key) return;
    const focused = editSlot.contains(document.activeElement);
    const same = !force && current && Number(current.dataset.id) === group.id;
    if (same) redrawKeeping(editSlot, (busy) => draw(group, key, busy));
    else draw(group, key, new Map());
    if (focused && !force && !editSlot.contains(document.activeElement)) editSlot.querySelector("#group-editor-title").focus();
  }

  function draw(group, key, busy) {
    const editor = groupEditor(group, users, {
      busy,
      changed: reload,
      removed: async () => {
        open = null;
        await reload();
        list.querySelector("h2").setAttribute("tabindex", "-1");
        list.querySelector("h2").focus();
      },
      close: () => {
        const was = open;
        open = null;
        render();
        list.querySelector(`tr[data-id="${was}"] button`)?.focus();
      },
    });
    editor.id = "group-editor";
    editor.dataset.key = key;
    editSlot.replaceChildren(editor);
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
      editSlot.querySelector("#group-editor-title")?.focus();
    }
  }

  async function reload() {
    [groups, users] = await Promise.all([everything("/agent-groups"), everything("/users")]);
    render();
  }

  const form = groupForm({
    saved: async (made) => {
      await reload();
      show(made.id);
    },
  });

  render();
  const stop = realtime.subscribeAll(["setup", "tenant"], (event) => {
    if (event.type?.startsWith("user.") || event.type?.startsWith("group.") || event.type === "resync") {
      clearTimeout(timer);
      timer = setTimeout(() => reload().catch(() => {}), 300);
    }
  });
  const node = h("div", { class: "admin-groups" },
    list, editSlot,
    h("div", { class: "card", id: "add-group" }, h("h2", {}, "Add a group"), form));
  return { node, leave: () => { stop(); clearTimeout(timer); } };
}
