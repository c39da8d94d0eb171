// The working panel: the open task's card above its whole account, both kept live while
// the collector works it.
import { api } from "../../api.js";
import { h, problemBox } from "../../dom.js";
import { realtime } from "../../realtime.js";
import { accountScreen } from "../account.js";
import { taskCard } from "./task-card.js";

export function workingPanel({ me, manager, list, belongs }) {
  const card = taskCard({ me, manager });
  const node = h("div", { class: "work-panel", id: "work-panel" },
    h("p", { class: "muted" }, "Open a task (Enter) or take the next one (n)."));
  let current = null;
  let leave = null;

  function show(task) {
    current = task;
    card.show(task);
  }

  function close(text) {
    leave?.();
    leave = null;
    current = null;
    node.replaceChildren(h("p", { class: "muted", id: "panel-message" }, text));
  }

  // A call logged or the debtor changed: the task's contact status may have too.
  async function refreshContact(id) {
    try {
      const task = await api(`/tasks/${id}`);
      if (list.tasks.has(id) && belongs(task)) list.put(task);
      if (current?.id === id) {
        current = task;
        card.showContact(task);
      }
    } catch {
      // The task may have left us meanwhile; its own event says so.
    }
  }

  async function open(task) {
    if (current?.id === task.id && leave) return;
    leave?.();
    leave = null;
    show(task);
    const stopWatch = realtime.subscribe(`account:${task.account_id}`, (event) => {
      if (event.type === "interaction.logged" || event.type?.startsWith("debtor.")
        || event.type === "account.updated") refreshContact(task.id);
    });
    const account = h("div", { id: "panel-account" }, h("p", { class: "muted" }, "Loading the account…"));
    node.replaceChildren(card.node, account);
    try {
      const shown = await accountScreen(task.account_id, { embedded: true });
      // Another task was opened while this one loaded.
      if (current?.id !== task.id) { shown.leave(); stopWatch(); return; }
      account.replaceChildren(shown.node);
      leave = () => { shown.leave(); stopWatch(); };
    } catch (error) {
      account.replaceChildren(problemBox(error));
      leave = stopWatch;
    }
  }

  return { node, open, close, show, current: () => current, leave: () => leave?.() };
}
