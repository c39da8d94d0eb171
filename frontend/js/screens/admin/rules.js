// Task rules: each with its queue, cadence, strategy, whether it runs, and its last run;
// a rule opens in the editor (rule.js). Kept live: a rule created, changed, deleted or run
// elsewhere shows here without a reload.
import { everything } from "../../api.js";
import { formatDateTime, h } from "../../dom.js";
import { realtime } from "../../realtime.js";
import { cadence, strategyName } from "./rules/words.js";

function row(rule, queueNames) {
  return h("tr", { dataset: { id: rule.id } },
    h("td", {}, h("a", { href: `/admin/rules/${rule.id}` }, rule.name)),
    h("td", { "data-label": "Queue" }, rule.queue_id ? queueNames.get(rule.queue_id) ?? `#${rule.queue_id}` : "—"),
    h("td", { "data-label": "Cadence" }, cadence(rule.cadence_minutes)),
    h("td", { "data-label": "Who gets it", class: "small" }, strategyName(rule.strategy.kind)),
    h("td", { "data-label": "State" }, rule.enabled
      ? h("span", { class: "badge", dataset: { tone: "ok" } }, "enabled") : h("span", { class: "badge" }, "paused")),
    h("td", { "data-label": "Last run", class: "small" }, rule.last_run_at ? formatDateTime(rule.last_run_at) : "never"),
    h("td", { "data-label": "Tasks created", class: "num last-created" }, rule.last_run_at ? String(rule.last_created) : "—"));
}

export async function rulesSection() {
  const list = h("div", { id: "rules-list" });
  let timer = null;

  async function reload() {
    const [rules, queues] = await Promise.all([everything("/rules"), everything("/queues")]);
    const names = new Map(queues.map((q) => [q.id, q.name]));
    list.replaceChildren(rules.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack" },
      h("caption", { class: "visually-hidden" }, "Task rules"),
      h("thead", {}, h("tr", {}, ["Rule", "Queue", "Cadence", "Who gets it", "State", "Last run", "Tasks created"]
        .map((t) => h("th", { scope: "col", class: t === "Tasks created" ? "num" : undefined }, t)))),
      h("tbody", {}, rules.map((r) => row(r, names)))))
      : h("p", { class: "muted" }, "No rules yet. A rule makes tasks for the accounts that match its conditions."));
  }

  await reload();
  const stop = realtime.subscribeAll(["setup", "tenant"], (event) => {
    if (event.type?.startsWith("rule.") || event.type?.startsWith("queue.") || event.type === "resync") {
      clearTimeout(timer);
      timer = setTimeout(() => reload().catch(() => {}), 250);
    }
  });
  const node = h("section", { class: "card admin-rules", "aria-labelledby": "rules-title" },
    h("div", { class: "title-bar" }, h("h2", { id: "rules-title" }, "Task rules"),
      h("a", { href: "/admin/rules/new", class: "button primary" }, "New rule")),
    list);
  return { node, leave: () => { stop(); clearTimeout(timer); } };
}
