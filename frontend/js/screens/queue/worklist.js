// The list's feed: REST once, then a channel. Mine comes from my agent channel: work given
// to me arrives with a quiet notice, work taken away (reassigned, timed out, completed)
// leaves. The team's open work comes from the wallboard channel.
import { api, everything } from "../../api.js";
import { TASK_HELD, TASK_OPEN, words } from "../../codes.js";
import { problemBox } from "../../dom.js";
import { realtime } from "../../realtime.js";

const whereTo = (task) => (task.assignee_id ? `given to ${task.assignee_name || "someone else"}` : "returned to its queue");

export function worklist({ list, me, problem, say, panel, onAvailability }) {
  let scope = "mine";
  let stopFeed = null;

  async function load() {
    problem.replaceChildren();
    try {
      if (scope === "mine") {
        list.reset(await everything("/tasks/mine", { limit: 1000 }));
      } else {
        const page = await api("/tasks", { query: { status: [...TASK_OPEN], limit: 200 } });
        list.reset(page.items);
      }
      if (list.selected === null) list.move(0);
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    }
  }

  function belongs(task) {
    return scope === "mine" ? task.assignee_id === me && TASK_HELD.has(task.status) : TASK_OPEN.has(task.status);
  }

  function onTask(event) {
    const task = event.data?.task;
    if (!task) {
      if (event.data?.bulk && scope === "team") load();
      return;
    }
    const open = panel.current()?.id === task.id;
    if (belongs(task)) {
      const isNew = list.put(task, { highlight: true });
      if (list.selected === null) list.move(0);
      if (isNew && scope === "mine" && task.assigned_by !== "pull") {
        say(`New task: ${task.account.debtor_name} (${words(task.type)})`);
      }
      if (open) panel.show(task);
    } else if (list.remove(task.id)) {
      if (scope !== "mine") return;
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

  function listen() {
    stopFeed?.();
    const channel = scope === "mine" ? `agent:${me}` : "wallboard";
    stopFeed = realtime.subscribe(channel, (event) => {
      if (event.type === "ready" || event.type === "resync") load();
      else if (event.type?.startsWith("task.")) onTask(event);
      else if (event.type === "agent.status" && event.data?.id === me) onAvailability(event.data.status);
    });
  }

  return {
    load,
    listen,
    belongs,
    scope: () => scope,
    setScope(which) {
      scope = which;
      listen();
      load();
    },
    stop: () => stopFeed?.(),
  };
}
