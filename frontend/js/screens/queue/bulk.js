// The team view's bulk actions on the ticked tasks: give them to an agent, move them to a
// queue, or cancel them with a reason. Each is all or nothing on the server; a refusal
// (another's task, one already done, an agent without room) shows its words here, and the
// list changes when the tasks' events arrive, not from the answer.
import { api, everything } from "../../api.js";
import { h, setOptions, submit } from "../../dom.js";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function bulkBar({ list, say }) {
  const problem = h("div", { id: "bulk-problem" });
  const count = h("span", { id: "bulk-count", "aria-live": "polite" });
  const all = h("input", { type: "checkbox", id: "bulk-all" });
  const agent = h("select", { id: "bulk-agent", required: true });
  const queue = h("select", { id: "bulk-queue", required: true });
  const reason = h("input", { id: "bulk-reason", maxlength: 300, required: true, placeholder: "e.g. debt sold" });
  const buttons = {
    assign: h("button", { type: "submit", id: "bulk-assign", class: "primary" }, "Give tasks"),
    move: h("button", { type: "submit", id: "bulk-move" }, "Move tasks"),
    cancel: h("button", { type: "submit", id: "bulk-cancel", class: "danger" }, "Cancel tasks"),
  };

  function picked() {
    const ids = [...list.checked].sort((a, b) => a - b);
    if (!ids.length) throw new Error("Tick the tasks first: their boxes, or x on the selected one.");
    return ids;
  }

  async function act(action, body, done) {
    const ids = picked();
    const answer = await api(`/tasks/bulk/${action}`, { method: "POST", body: { task_ids: ids, ...body } });
    list.checkAll(false);
    say(done(ids.length, answer.changed), "ok");
  }

  const forms = [
    h("form", { class: "bulk-action", "aria-label": "Give the ticked tasks to an agent",
      onsubmit: submit(problem, () => {
        const name = agent.selectedOptions[0]?.dataset.name;
        return act("assign", { assignee_id: Number(agent.value) }, (n) => `${plural(n, "task")} given to ${name}`);
      }) },
      h("label", { for: agent.id }, "Give to"), h("div", { class: "bulk-row" }, agent, buttons.assign)),
    h("form", { class: "bulk-action", "aria-label": "Move the ticked tasks to a queue",
      onsubmit: submit(problem, () => {
        const name = queue.selectedOptions[0]?.textContent;
        return act("move", { queue_id: Number(queue.value) }, (n) => `${plural(n, "task")} moved to ${name}`);
      }) },
      h("label", { for: queue.id }, "Move to queue"), h("div", { class: "bulk-row" }, queue, buttons.move)),
    h("form", { class: "bulk-action", "aria-label": "Cancel the ticked tasks",
      onsubmit: submit(problem, async () => {
        await act("cancel", { reason: reason.value }, (n) => `${plural(n, "task")} cancelled`);
        reason.value = "";
      }) },
      h("label", { for: reason.id }, "Cancel, because"), h("div", { class: "bulk-row" }, reason, buttons.cancel)),
  ];

  function showCount(ids) {
    count.textContent = ids.length ? `${plural(ids.length, "task")} ticked` : "No task ticked";
    all.checked = ids.length > 0 && ids.length === list.tasks.size;
    all.indeterminate = ids.length > 0 && ids.length < list.tasks.size;
    const what = ids.length ? plural(ids.length, "task") : "tasks";
    buttons.assign.textContent = `Give ${what}`;
    buttons.move.textContent = `Move ${what}`;
    buttons.cancel.textContent = `Cancel ${what}`;
  }

  all.addEventListener("change", () => list.checkAll(all.checked));
  list.addEventListener("checked", (event) => showCount(event.detail));
  list.addEventListener("count", () => showCount([...list.checked]));

  const node = h("section", { class: "card bulk-bar", id: "bulk-bar", "aria-label": "Act on several tasks" },
    h("div", { class: "bulk-head" },
      h("label", { class: "bulk-all", for: all.id }, all, "All shown"), count),
    h("div", { class: "bulk-forms" }, forms),
    problem);

  return {
    node,
    // The agents as the team panel last read them: who may take work, and how much room each has.
    setAgents(agents) {
      setOptions(agent, [{ value: "", text: "Choose an agent…" },
        ...agents.map((a) => ({ value: a.id, text: `${a.name} · ${a.status} · ${a.held ?? 0}/${a.capacity}`,
          disabled: a.status === "offline", data: { name: a.name } }))]);
    },
    async start() {
      node.hidden = false;
      showCount([...list.checked]);
      try {
        const queues = await everything("/queues");
        setOptions(queue, [{ value: "", text: "Choose a queue…" },
          ...queues.map((q) => ({ value: q.id, text: q.name }))]);
      } catch {
        // The move form says so when it is used.
      }
    },
    stop() {
      node.hidden = true;
      list.checkAll(false);
      problem.replaceChildren();
    },
  };
}
