// The collector's live queue: my tasks on the left, the working panel on the right.
//
// The list is fed by REST once and then by the agent channel: work given to me arrives with
// a quiet notice, work taken away (reassigned, timed out, completed) leaves the list. A
// supervisor may switch to the team's open work (fed by the wallboard channel) and give a
// task to someone else. Everything is reachable by keyboard; "?" lists the keys.
import "../../components/rc-task-list.js";
import { age, contactBadge } from "../../components/rc-task-list.js";
import { api } from "../api.js";
import { formatDateTime, h, problemBox } from "../dom.js";
import { realtime } from "../realtime.js";
import { accountScreen } from "./accounts.js";

const HELD = new Set(["assigned", "in_progress"]);
const OPEN = new Set(["open", "assigned", "in_progress"]);
const OUTCOMES = [
  ["promise", "Promise to pay"], ["paid", "Paid"], ["right_party_contact", "Spoke to debtor"],
  ["left_message", "Left a message"], ["no_answer", "No answer"], ["callback", "Call back later"],
  ["dispute", "Dispute raised"], ["refused", "Refused to pay"], ["wrong_number", "Wrong number"],
  ["done", "Done"],
];
const KEYS = [
  ["j / k", "Move down / up the list"], ["Enter", "Open the selected task"],
  ["n", "Next task from my queues"], ["c", "Log a call"], ["p", "Record a promise"],
  ["$", "Take a payment"], ["l", "Send a payment link"], ["d", "Done: complete the task"],
  ["?", "Show these keys"], ["Esc", "Leave a field, close this list"],
];

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));
}

export async function queueScreen() {
  const me = Number(document.body.dataset.userId);
  const role = document.body.dataset.role;
  const manager = role === "admin" || role === "supervisor";
  let scope = "mine";
  let current = null; // the task open in the working panel
  let leavePanel = null;

  const list = h("rc-task-list", { id: "task-list", "aria-label": "My tasks", empty: "No tasks. Press n for the next one." });
  const count = h("span", { class: "muted", id: "task-count" });
  const notice = h("div", { class: "notice", id: "queue-notice", role: "status", "aria-live": "polite" });
  const panel = h("div", { class: "work-panel", id: "work-panel" },
    h("p", { class: "muted" }, "Open a task (Enter) or take the next one (n)."));
  const problem = h("div");
  let noticeTimer = null;

  function say(text, tone = "info") {
    notice.replaceChildren(h("span", { class: "badge", "data-tone": tone }, text));
    notice.classList.remove("changed");
    void notice.offsetWidth;
    notice.classList.add("changed");
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => notice.replaceChildren(), 8000);
  }

  list.addEventListener("count", (event) => {
    count.textContent = `${event.detail} task${event.detail === 1 ? "" : "s"}`;
  });
  list.addEventListener("open", (event) => openTask(event.detail));

  // Availability: the assigner only pushes work to available agents.
  const status = h("select", { id: "my-status", "aria-label": "My availability" },
    [["available", "Available"], ["away", "Away"], ["offline", "Offline"]].map(([v, l]) => h("option", { value: v }, l)));
  status.addEventListener("change", async () => {
    try {
      await api("/users/me", { method: "PATCH", body: { status: status.value } });
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    }
  });
  api("/users/me").then((user) => { status.value = user.status; }).catch(() => {});

  async function load() {
    problem.replaceChildren();
    try {
      if (scope === "mine") {
        list.reset(await api("/tasks/mine"));
      } else {
        const page = await api("/tasks", { query: { status: ["open", "assigned", "in_progress"], limit: 200 } });
        list.reset(page.items);
      }
      if (list.selected === null) list.move(0);
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    }
  }

  function belongs(task) {
    return scope === "mine" ? task.assignee_id === me && HELD.has(task.status) : OPEN.has(task.status);
  }

  function onTask(event) {
    const task = event.data?.task;
    if (!task) {
      if (event.data?.bulk && scope === "team") load();
      return;
    }
    if (belongs(task)) {
      const isNew = list.put(task, { highlight: true });
      if (list.selected === null) list.move(0);
      if (isNew && scope === "mine" && task.assigned_by !== "pull") {
        say(`New task: ${task.account.debtor_name} (${task.type.replace("_", " ")})`);
      }
      if (current?.id === task.id) renderHeader(task);
    } else if (list.remove(task.id)) {
      if (scope === "mine") {
        const why = task.status === "completed" ? "completed"
          : task.assignee_id ? `given to ${task.assignee_name || "someone else"}` : "returned to its queue";
        say(`Task ${why}: ${task.account.debtor_name}`, task.status === "completed" ? "ok" : "warn");
      }
      if (current?.id === task.id) {
        if (scope === "mine" && task.status !== "completed") {
          closePanel(`This task was ${task.assignee_id ? `given to ${task.assignee_name || "someone else"}` : "returned to its queue"}.`);
        } else if (scope === "mine") {
          closePanel("Task completed. Press n for the next one.");
        }
      }
    } else if (current?.id === task.id) {
      renderHeader(task);
    }
  }

  let stopFeed = null;
  function listen() {
    stopFeed?.();
    const channel = scope === "mine" ? `agent:${me}` : "wallboard";
    stopFeed = realtime.subscribe(channel, (event) => {
      if (event.type === "ready" || event.type === "resync") load();
      else if (event.type?.startsWith("task.")) onTask(event);
      else if (event.type === "agent.status" && event.data?.id === me) status.value = event.data.status;
    });
  }

  // The working panel -------------------------------------------------------------------
  const header = h("div", { class: "card task-card", id: "task-card" });
  const actionProblem = h("div");

  function closePanel(text) {
    leavePanel?.();
    leavePanel = null;
    current = null;
    panel.replaceChildren(h("p", { class: "muted", id: "panel-message" }, text));
  }

  function renderHeader(task) {
    current = task;
    const outcome = h("select", { id: "task-outcome", required: true },
      h("option", { value: "" }, "Choose…"), OUTCOMES.map(([v, l]) => h("option", { value: v }, l)));
    const notes = h("input", { id: "task-notes", maxlength: 4000 });
    const done = h("button", { type: "submit", class: "primary", id: "complete-task" }, "Complete task");
    const held = HELD.has(task.status);
    const mine = task.assignee_id === me;
    const complete = held && (mine || manager) ? h("form", { class: "inline-form", "aria-label": "Complete the task", onsubmit: async (event) => {
      event.preventDefault();
      actionProblem.replaceChildren();
      done.setAttribute("aria-busy", "true");
      try {
        // The list and the panel change when the task's event arrives.
        await api(`/tasks/${task.id}/complete`, { method: "POST", body: { outcome: outcome.value, notes: notes.value } });
      } catch (error) {
        actionProblem.replaceChildren(problemBox(error));
      } finally {
        done.removeAttribute("aria-busy");
      }
    } },
      h("div", { class: "field" }, h("label", { for: "task-outcome" }, "Task outcome"), outcome),
      h("div", { class: "field" }, h("label", { for: "task-notes" }, "Task notes"), notes), done) : null;
    const start = task.status === "assigned" && mine ? h("button", { type: "button", onclick: () => act(`/tasks/${task.id}/start`) }, "Start") : null;
    const handBack = held && mine ? h("button", { type: "button", onclick: () => act(`/tasks/${task.id}/release`) }, "Hand back") : null;
    let reassign = null;
    if (manager && OPEN.has(task.status)) {
      const who = h("select", { id: "reassign-to" }, h("option", { value: "" }, "Back to the queue"));
      api("/users", { query: { limit: 200 } }).then((page) => {
        for (const u of page.items) {
          if (u.role === "readonly" || !u.active) continue;
          who.append(h("option", { value: u.id, selected: u.id === task.assignee_id }, `${u.name} · ${u.status}`));
        }
      }).catch(() => {});
      reassign = h("form", { class: "inline-form", "aria-label": "Reassign the task", onsubmit: (event) => {
        event.preventDefault();
        act(`/tasks/${task.id}/assign`, { assignee_id: who.value ? Number(who.value) : null });
      } },
        h("div", { class: "field" }, h("label", { for: "reassign-to" }, "Give to"), who),
        h("button", { type: "submit", id: "reassign" }, "Reassign"));
    }
    header.replaceChildren(
      h("div", { class: "task-head" },
        h("h2", { id: "task-title" }, task.account.debtor_name || task.account.external_ref),
        h("span", { class: "badge", "data-tone": task.status === "in_progress" ? "info" : undefined }, task.status.replace("_", " ")),
        h("span", { class: "muted" }, [task.type.replace("_", " "), task.title, task.account.external_ref].filter(Boolean).join(" · "))),
      h("dl", { class: "facts compact" },
        h("dt", {}, "Balance"), h("dd", {}, h("rc-money", { amount: task.account.balance, currency: task.account.currency })),
        h("dt", {}, "Days past due"), h("dd", {}, `${task.account.days_past_due} (${task.account.bucket})`),
        h("dt", {}, "Contact"), h("dd", { id: "task-contact" }, contactBadge(task) || "—",
          task.contact && !task.contact.allowed && task.contact.reason ? ` ${task.contact.reason}` : ""),
        h("dt", {}, "Priority"), h("dd", {}, String(task.priority)),
        h("dt", {}, "Waiting"), h("dd", {}, `${age(task.created_at)} · due ${formatDateTime(task.due_at)}`),
        h("dt", {}, "Why me"), h("dd", {}, task.assignment_reason || "—")),
      ...[actionProblem, complete, h("div", { class: "inline-form" }, start, handBack), reassign]
        .filter(Boolean));
  }

  async function act(path, body = {}) {
    actionProblem.replaceChildren();
    try {
      await api(path, { method: "POST", body });
    } catch (error) {
      actionProblem.replaceChildren(problemBox(error));
    }
  }

  // A call logged or the debtor changed: the task's contact status may have too.
  async function refreshContact(id) {
    try {
      const task = await api(`/tasks/${id}`);
      if (list.tasks.has(id) && belongs(task)) list.put(task);
      const cell = header.querySelector("#task-contact");
      if (current?.id === id && cell) {
        current = task;
        cell.replaceChildren(contactBadge(task) || "—",
          task.contact && !task.contact.allowed && task.contact.reason ? ` ${task.contact.reason}` : "");
      }
    } catch {
      // The task may have left us meanwhile; its own event says so.
    }
  }

  async function openTask(task) {
    if (current?.id === task.id && leavePanel) return;
    leavePanel?.();
    leavePanel = null;
    renderHeader(task);
    const stopWatch = realtime.subscribe(`account:${task.account_id}`, (event) => {
      if (event.type === "interaction.logged" || event.type?.startsWith("debtor.")
        || event.type === "account.updated") refreshContact(task.id);
    });
    const account = h("div", { id: "panel-account" }, h("p", { class: "muted" }, "Loading the account…"));
    panel.replaceChildren(header, account);
    try {
      const shown = await accountScreen(task.account_id, { embedded: true });
      if (current?.id !== task.id) { shown.leave(); stopWatch(); return; }
      account.replaceChildren(shown.node);
      leavePanel = () => { shown.leave(); stopWatch(); };
    } catch (error) {
      account.replaceChildren(problemBox(error));
      leavePanel = stopWatch;
    }
  }

  const nextButton = h("button", { type: "button", class: "primary", id: "next-task" }, "Next task");
  async function pullNext() {
    problem.replaceChildren();
    nextButton.setAttribute("aria-busy", "true");
    try {
      const found = await api("/tasks/next", { method: "POST" });
      if (!found.task) {
        say(found.message, "warn");
        return;
      }
      if (scope === "mine") list.put(found.task, { highlight: true });
      list.select(found.task.id);
      await openTask(found.task);
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    } finally {
      nextButton.removeAttribute("aria-busy");
    }
  }
  nextButton.addEventListener("click", pullNext);

  // Keyboard ------------------------------------------------------------------------------
  const help = h("dialog", { id: "keys", "aria-labelledby": "keys-title" },
    h("h2", { id: "keys-title" }, "Keyboard"),
    h("dl", { class: "facts keys" }, KEYS.flatMap(([k, v]) => [h("dt", {}, h("kbd", {}, k)), h("dd", {}, v)])),
    h("form", { method: "dialog" }, h("button", { type: "submit" }, "Close")));

  function focusField(selector, prepare) {
    const field = panel.querySelector(selector);
    if (!field) {
      say(current ? "Not available for this task" : "Open a task first", "warn");
      return;
    }
    prepare?.();
    field.scrollIntoView({ block: "center" });
    field.focus();
  }

  function onKey(event) {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      list.focus();
      return;
    }
    if (typing(event.target) || help.open) return;
    const actions = {
      j: () => list.move(1),
      k: () => list.move(-1),
      Enter: () => list.open(),
      n: () => pullNext(),
      c: () => focusField("#note-text", () => {
        const channel = panel.querySelector("#note-channel");
        if (channel) channel.value = "call";
      }),
      p: () => focusField("#promise-amount"),
      $: () => focusField("#pay-amount"),
      l: () => {
        const button = [...panel.querySelectorAll("button")].find((b) => b.textContent === "Send payment link");
        if (button) button.click();
        else say("Open a task first", "warn");
      },
      d: () => focusField("#task-outcome"),
      "?": () => help.showModal(),
    };
    const action = actions[event.key];
    if (!action) return;
    if (event.key === "Enter" && event.target instanceof HTMLButtonElement) return;
    event.preventDefault();
    action();
  }
  document.addEventListener("keydown", onKey);

  // Scope: my work, or (supervisors) the team's open work.
  let scopeSwitch = null;
  if (manager) {
    const mine = h("button", { type: "button", "aria-pressed": "true" }, "Mine");
    const team = h("button", { type: "button", "aria-pressed": "false", id: "scope-team" }, "Team");
    const choose = (which) => {
      scope = which;
      mine.setAttribute("aria-pressed", String(which === "mine"));
      team.setAttribute("aria-pressed", String(which === "team"));
      list.setAttribute("aria-label", which === "mine" ? "My tasks" : "The team's open tasks");
      list.showAssignee = which === "team";
      listen();
      load();
    };
    mine.addEventListener("click", () => choose("mine"));
    team.addEventListener("click", () => choose("team"));
    scopeSwitch = h("div", { class: "segmented", role: "group", "aria-label": "Whose tasks" }, mine, team);
  }

  await load();
  listen();
  const minuteTick = setInterval(() => { if (scope === "mine") list.reset(list.sorted()); }, 60000);

  const node = h("section", { class: "queue", "aria-labelledby": "queue-title" },
    h("div", { class: "queue-bar" },
      h("h1", { id: "queue-title" }, "My queue"), count, scopeSwitch,
      h("div", { class: "spacer" }),
      h("label", { for: "my-status", class: "visually-hidden" }, "My availability"), status,
      nextButton,
      h("button", { type: "button", onclick: () => help.showModal(), "aria-keyshortcuts": "?" }, "Keys")),
    notice, problem,
    h("div", { class: "queue-layout" },
      h("div", { class: "card task-pane" }, list),
      panel),
    help);
  return {
    node,
    leave: () => {
      document.removeEventListener("keydown", onKey);
      clearInterval(minuteTick);
      clearTimeout(noticeTimer);
      stopFeed?.();
      leavePanel?.();
    },
  };
}
