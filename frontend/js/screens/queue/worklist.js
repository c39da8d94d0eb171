// The list's feed: REST once, then my agent channel: work given to me arrives with a quiet
// notice, work taken away (reassigned, timed out, completed) leaves. (The team's open work
// is the team screen's, team.js.)
import { everything } from "../../api.js";
import { TASK_HELD, words } from "../../codes.js";
import { problemBox } from "../../dom.js";
import { realtime } from "../../realtime.js";

const whereTo = (task) => (task.assignee_id ? `given to ${task.assignee_name || "someone else"}` : "returned to its queue");

export function worklist({ list, me, problem, say, panel, onAvailability, rereadAvailability }) {
  let stopFeed = null;

  async function load() {
    problem.replaceChildren();
    try {
      list.reset(await everything("/tasks/mine", { limit: 1000 }));
      if (list.selected === null) list.move(0);
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    }
  }

  async function reread() {
    await load();
    const open = panel.current();
    if (open && list.tasks.has(open.id)) panel.show(list.tasks.get(open.id));
  }

  function belongs(task) {
    return task.assignee_id === me && TASK_HELD.has(task.status);
  }

  function onTask(event) {
    const task = event.data?.task;
    if (!task) return;
    const open = panel.current()?.id === task.id;
    if (belongs(task)) {
      const isNew = list.put(task, { highlight: true });
      if (list.selected === null) list.move(0);
      if (isNew && task.assigned_by !== "pull") {
        say(`New task: ${task.account.debtor_name} (${words(task.type)})`);
      }
      if (open) panel.show(task);
    } else if (list.remove(task.id)) {
      const completed = task.status === "completed";
      say(`Task ${completed ? "completed" : whereTo(task)}: ${task.account.debtor_name}`, completed ? "ok" : "warn");
      if (open) {
        panel.close(completed ? "Task completed. Press n for the next one." : `This task was ${whereTo(task)}.`,
          { keepDraft: !completed });
      }
    } else if (open) {
      panel.show(task);
    }
  }

  // A payment or a change to an account (here because I hold work on it) moves what its
  // cards show: balance, status, days past due.
  function onAccount(account) {
    for (const task of [...list.tasks.values()]) {
      if (task.account_id !== account.id) continue;
      const shown = { ...task.account };
      for (const key of ["balance", "status", "days_past_due", "bucket", "currency", "owner_id"]) {
        if (account[key] !== undefined) shown[key] = account[key];
      }
      list.put({ ...task, account: shown });  // (the open task's panel hears its account itself)
    }
  }

  function listen() {
    stopFeed?.();
    stopFeed = realtime.subscribe(`agent:${me}`, (event) => {
      if (event.type === "ready" || event.type === "resync") {
        load();
        rereadAvailability?.();
      }
      else if (event.type?.startsWith("task.")) onTask(event);
      else if (event.type === "account.updated" && event.data?.id) onAccount(event.data);
      else if (event.type?.startsWith("payment.") && event.data?.account) onAccount(event.data.account);
      else if (event.type === "agent.status" && event.data?.id === me) onAvailability(event.data.status);
      // New contact hours or rules: each task's "no call until" is read again.
      else if (event.type === "tenant.contact_rules_changed") reread();
    });
  }

  return {
    load,
    listen,
    belongs,
    stop: () => stopFeed?.(),
  };
}
