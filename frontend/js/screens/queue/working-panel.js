// The working panel: the open task's card above its whole account, both kept live while
// the collector works it.
import { api } from "../../api.js";
import { h, problemBox } from "../../dom.js";
import { realtime } from "../../realtime.js";
import { MONEY_EVENTS, accountScreen } from "../account.js";
import { taskCard } from "./task-card.js";

// What a collector types into a task and has not saved yet (its completion, the call being
// logged) is kept per task for the tab's life, so moving to another task of theirs and back
// finds it again; saving or completing clears it.
const DRAFT_FIELDS = ["task-outcome", "task-notes", "note-channel", "note-direction", "note-disposition", "note-text"];
const draftKey = (id) => `recoup:task-draft:${id}`;
const drafts = {
  read(id) {
    try { return JSON.parse(sessionStorage.getItem(draftKey(id)) || "{}"); } catch { return {}; }
  },
  write(id, typed) {
    try {
      // The selects always hold a value; a draft is something typed or an outcome chosen.
      if (typed["task-notes"] || typed["note-text"] || typed["task-outcome"]) {
        sessionStorage.setItem(draftKey(id), JSON.stringify(typed));
      } else {
        sessionStorage.removeItem(draftKey(id));
      }
    } catch { /* storage full or off: the draft lives only on screen */ }
  },
  clear(id) {
    try { sessionStorage.removeItem(draftKey(id)); } catch { /* as above */ }
  },
};

export function workingPanel({ me, manager, list, belongs }) {
  const card = taskCard({ me, manager });
  const node = h("div", { class: "work-panel", id: "work-panel" },
    h("p", { class: "muted" }, "Open a task (Enter) or take the next one (n)."));
  let current = null;
  let leave = null;

  // The open task's fields as they stand, kept under its id; a field not on screen yet (the
  // account still loading) keeps what was kept before.
  function saveDraft() {
    if (!current) return;
    const typed = drafts.read(current.id);
    for (const id of DRAFT_FIELDS) {
      const field = node.querySelector(`#${id}`);
      if (!field) continue;
      if (field.value) typed[id] = field.value;
      else delete typed[id];
    }
    drafts.write(current.id, typed);
  }
  node.addEventListener("input", saveDraft);
  node.addEventListener("change", saveDraft);

  function restoreDraft(id, before) {
    const typed = drafts.read(id);
    for (const [field, value] of Object.entries(typed)) {
      const input = node.querySelector(`#${field}`);
      if (input) input.value = value;
    }
    if (Object.keys(typed).length) {
      node.insertBefore(h("p", { class: "muted", id: "draft-restored", role: "status" },
        "Your unsaved notes on this task are back, as you left them."), before);
    }
  }

  function show(task) {
    current = task;
    card.show(task);
  }

  // Notes typed but not saved in the open task: its own notes and the call being logged.
  function unsaved() {
    return [["#task-notes", "Task notes"], ["#note-text", "Call notes"]]
      .map(([selector, label]) => [label, node.querySelector(selector)?.value.trim()])
      .filter(([, text]) => text);
  }

  // The task left (completed, or given to someone else): what was typed and not saved stays
  // on screen to copy, since the account may no longer be open to me.
  function close(text, { keepDraft = false } = {}) {
    const typed = keepDraft ? unsaved() : [];
    // Completed, or no longer mine: the draft is saved, or shown below to copy.
    if (current) drafts.clear(current.id);
    leave?.();
    leave = null;
    current = null;
    const message = h("p", { class: typed.length ? null : "muted", id: "panel-message" }, text);
    if (!typed.length) {
      node.replaceChildren(message);
      return;
    }
    const kept = typed.map(([label, value]) => `${label}: ${value}`).join("\n");
    const box = h("textarea", { id: "draft-notes", readonly: true, rows: Math.min(6, typed.length + 1),
      "aria-label": "Your unsaved notes" }, kept);
    const said = h("span", { class: "muted", role: "status" });
    const copy = h("button", { type: "button", onclick: async () => {
      try {
        await navigator.clipboard.writeText(kept);
        said.textContent = " Copied";
      } catch {
        box.focus();
        box.select();
        said.textContent = " Press Ctrl+C to copy";
      }
    } }, "Copy notes");
    node.replaceChildren(h("div", { class: "card draft-card", id: "draft" }, message,
      h("p", {}, "Your notes were not saved; they are kept here:"), box, h("div", { class: "inline-form" }, copy, said)));
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

  // A payment, a promise or an edit moved the account's figures: the open task's card and
  // every row of the account in the list show them from the same event as the Balance card.
  function showFigures(account) {
    const figures = { balance: account.balance, currency: account.currency,
      days_past_due: account.days_past_due, bucket: account.bucket, status: account.status };
    const moved = (task) => ({ ...task, account: { ...task.account, ...figures } });
    for (const task of [...list.tasks.values()]) {
      if (task.account_id === account.id) list.put(moved(task), { highlight: true });
    }
    if (current?.account_id === account.id) {
      current = moved(current);
      card.showFigures(current);
    }
  }

  async function open(task) {
    if (current?.id === task.id && leave) return;
    saveDraft();
    leave?.();
    leave = null;
    show(task);
    const stopWatch = realtime.subscribe(`account:${task.account_id}`, (event) => {
      const account = event.type === "account.updated" ? event.data
        : MONEY_EVENTS.has(event.type) ? event.data?.account : null;
      if (account?.id === task.account_id) showFigures(account);
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
      restoreDraft(task.id, account);
      leave = () => { shown.leave(); stopWatch(); };
    } catch (error) {
      account.replaceChildren(problemBox(error));
      restoreDraft(task.id, account);
      leave = stopWatch;
    }
  }

  return { node, open, close, show, current: () => current, leave: () => leave?.() };
}
