// The collector's live queue: my tasks on the left, the working panel on the right.
//
// The list is fed by REST once and then by a channel (queue/worklist.js); the team's work
// has a screen of its own (team.js). Everything is reachable by keyboard
// (queue/keyboard.js); "?" lists the keys.
import "../../components/rc-task-list.js";
import { api } from "../api.js";
import { h, pending } from "../dom.js";
import { availabilitySwitch } from "./queue/availability.js";
import { queueKeys } from "./queue/keyboard.js";
import { noticeArea } from "./queue/notice.js";
import { workingPanel } from "./queue/working-panel.js";
import { worklist } from "./queue/worklist.js";

const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1);

export async function queueScreen() {
  const me = Number(document.body.dataset.userId);
  const role = document.body.dataset.role;
  const manager = role === "admin" || role === "supervisor";

  const list = h("rc-task-list", { id: "task-list", "aria-label": "My tasks", empty: "No tasks. Press n for the next one." });
  const count = h("span", { class: "muted", id: "task-count" });
  const notice = noticeArea();
  const problem = h("div");
  const availability = availabilitySwitch(problem);
  const panel = workingPanel({ me, manager, list, belongs: (task) => feed.belongs(task) });
  const feed = worklist({ list, me, problem, say: notice.say, panel, onAvailability: availability.show,
    rereadAvailability: availability.reread });

  list.addEventListener("count", (event) => {
    count.textContent = `${event.detail} task${event.detail === 1 ? "" : "s"}`;
  });
  list.addEventListener("open", (event) => panel.open(event.detail));

  // The most urgent task from my queues, assigned to me and opened; it stays busy until
  // the account is on screen. With a task under way the server gives that one back (and
  // says so); away, it gives nothing new.
  const nextButton = h("button", { type: "button", class: "primary", id: "next-task" }, "Next task");
  const pullNext = () => pending(nextButton, problem, async () => {
    const found = await api("/tasks/next", { method: "POST" });
    if (!found.task) {
      notice.say(sentence(found.message), "warn");
      return;
    }
    if (found.resumed) notice.say(sentence(found.message), "warn");
    list.put(found.task, { highlight: true });
    list.select(found.task.id);
    await panel.open(found.task);
  });
  nextButton.addEventListener("click", pullNext);

  const keys = queueKeys({ list, panel, next: pullNext, say: notice.say });
  const title = h("h1", { id: "queue-title" }, "My queue");

  await feed.load();
  feed.listen();
  // Keeps the ages in my list true.
  const minuteTick = setInterval(() => list.reset(list.sorted()), 60000);

  const node = h("section", { class: "queue", "aria-labelledby": "queue-title" },
    h("div", { class: "queue-bar" },
      title, count,
      h("div", { class: "spacer" }),
      availability.nodes,
      nextButton,
      keys.button),
    notice.node, problem,
    h("div", { class: "queue-layout" },
      h("div", { class: "card task-pane" }, list),
      panel.node),
    keys.help);
  return {
    node,
    leave: () => {
      keys.stop();
      clearInterval(minuteTick);
      notice.stop();
      feed.stop();
      panel.leave();
    },
  };
}
