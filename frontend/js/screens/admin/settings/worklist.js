// Worklist timing: how long assigned work may wait unstarted, when a collector who has gone
// counts as offline, and what becomes of their tasks.
import { h } from "../../../dom.js";
import { field } from "../../../forms.js";
import { numberField, settingsForm, switchField } from "./section.js";

export function worklistSection() {
  const timeout = numberField("Assigned work not started goes back after", "worklist.assignment_timeout_minutes", {
    min: 1, max: 10080, unit: "minutes", fallback: 30,
    hint: "A task assigned to a collector who has not started it within this time returns to its queue." });
  const offline = numberField("A collector is offline after", "worklist.offline_after_minutes", {
    min: 1, max: 1440, unit: "minutes", fallback: 10,
    hint: "Once every window of theirs has been closed this long, they are shown offline and get no new work." });
  const tasks = h("select", { id: "offline-tasks" },
    h("option", { value: "keep" }, "Stay with them"),
    h("option", { value: "return" }, "Go back to their queues"));
  const parallel = switchField("“Next task” gives another while one is under way", "worklist.parallel_tasks",
    "Off (the default): “Next task” brings back the task already under way rather than another. "
    + "On: a collector may work several at once.");
  return settingsForm({
    id: "worklist",
    title: "Worklist timing",
    intro: "How work moves when collectors do not pick it up, or leave.",
    controls: [timeout.node, offline.node,
      field("An offline collector's open tasks", tasks, { path: "worklist.offline_tasks",
        hint: "Default: they stay with them." }),
      parallel.node],
    part: (t) => t.settings.worklist,
    fill: (t) => {
      const w = t.settings.worklist;
      timeout.value = w.assignment_timeout_minutes;
      offline.value = w.offline_after_minutes;
      tasks.value = w.offline_tasks;
      parallel.value = w.parallel_tasks;
    },
    body: () => ({ worklist: {
      assignment_timeout_minutes: timeout.value,
      offline_after_minutes: offline.value,
      offline_tasks: tasks.value,
      parallel_tasks: parallel.value,
    } }),
    check: () => [timeout, offline].map((f) => ({ field: f.path, message: f.check() })).filter((e) => e.message),
  });
}
