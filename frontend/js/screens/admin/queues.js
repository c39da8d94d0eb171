// Task queues: who may pull from each (a group, named agents, or everyone), its age boost,
// and what waits in it now (how many, and how long the oldest has waited, amber then red at
// the tenant's thresholds). Create, change and remove; a refusal lands beside its field.
// Live: a queue changed elsewhere, or work arriving in one, shows without a reload.
import { api, everything } from "../../api.js";
import { h, redrawKeeping } from "../../dom.js";
import { clearFieldErrors, confirmButton, field, showProblem, uid } from "../../forms.js";
import { realtime } from "../../realtime.js";
import { age } from "./rules/words.js";

function who(queue, groupNames, agentNames) {
  const parts = [];
  if (queue.group_id) parts.push(`group ${groupNames.get(queue.group_id) ?? `#${queue.group_id}`}`);
  for (const id of queue.agent_ids) parts.push(agentNames.get(id) ?? `user #${id}`);
  return parts.length ? parts.join(", ") : "every agent";
}

function oldestTone(since, stats) {
  const minutes = (Date.now() - Date.parse(since)) / 60000;
  if (minutes >= stats.queue_age_alert_minutes) return ["bad", "late"];
  if (minutes >= stats.queue_age_warn_minutes) return ["warn", "slow"];
  return ["ok", "on time"];
}

// How long the oldest task has waited, in words as well as colour.
function oldest(queue, stats) {
  if (!queue.oldest_since) return "—";
  const [tone, word] = oldestTone(queue.oldest_since, stats);
  return h("span", { class: "badge", dataset: { tone } }, `${age(queue.oldest_since)} · ${word}`);
}

// The form for a new queue (`queue` null) or a change to one; `saved()` after the server agreed.
function queueForm({ queue = null, groups, agents, saved, cancel }) {
  const name = h("input", { type: "text", name: "name", maxlength: 100, required: true, value: queue?.name ?? "", autocomplete: "off" });
  const group = h("select", { name: "group_id" }, h("option", { value: "" }, "No group"),
    groups.map((g) => h("option", { value: g.id, selected: g.id === queue?.group_id }, g.name)));
  const boost = h("input", { type: "number", name: "age_boost_minutes", min: 1, max: 10080, step: 1,
    value: queue?.age_boost_minutes ?? "", placeholder: "none" });
  const boostCheck = h("p", { class: "error-text value-check", "aria-live": "polite" });
  const checkBoost = () => {
    const text = boost.value.trim();
    const fine = !text || (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 10080);
    boostCheck.textContent = fine ? "" : "A whole number of minutes from 1 to 10080, or empty for none.";
    if (fine) boost.removeAttribute("aria-invalid");
    else boost.setAttribute("aria-invalid", "true");
    return fine;
  };
  boost.addEventListener("input", checkBoost);
  const agentBoxes = agents.map((a) => {
    const box = h("input", { type: "checkbox", value: a.id, id: uid("agent"), checked: queue?.agent_ids.includes(a.id) });
    return h("label", { class: "check-choice", for: box.id }, box, a.name);
  });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit", class: "primary" }, queue ? "Save queue" : "Add queue");
  const form = h("form", { class: "queue-form", novalidate: true, "aria-label": queue ? `Change queue ${queue.name}` : "Add a queue" },
    h("div", { class: "row" },
      field("Name", name, { path: "name" }),
      field("Agent group", group, { path: "group_id" }),
      h("div", { class: "field", dataset: { field: "age_boost_minutes" } },
        h("label", { for: (boost.id = uid("boost")) }, "Age boost (minutes)"), boost,
        h("p", { class: "hint" }, "Waiting work gains a priority point each time this passes."), boostCheck)),
    h("fieldset", { class: "value-choices queue-agents", dataset: { field: "agent_ids" } },
      h("legend", {}, "Named agents (besides the group)"),
      agentBoxes.length ? agentBoxes : h("p", { class: "muted" }, "No agents yet.")),
    h("p", { class: "hint" }, "With no group and no named agents, every agent may pull from the queue."),
    problem,
    h("div", { class: "save-row" }, button, cancel ? h("button", { type: "button", onclick: cancel }, "Cancel") : null));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.getAttribute("aria-busy") === "true") return;
    clearFieldErrors(form);
    problem.replaceChildren();
    if (!name.value.trim()) {
      showProblem(form, problem, { message: "A queue needs a name.", problem: { field: "name" } });
      return;
    }
    if (!checkBoost()) {
      boost.focus();
      return;
    }
    const body = {
      name: name.value.trim(),
      group_id: group.value ? Number(group.value) : null,
      agent_ids: [...form.querySelectorAll(".queue-agents input:checked")].map((box) => Number(box.value)),
      age_boost_minutes: boost.value.trim() ? Number(boost.value) : null,
    };
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      const answer = queue
        ? await api(`/queues/${queue.id}`, { method: "PATCH", body })
        : await api("/queues", { method: "POST", body });
      if (!queue) form.reset();
      await saved(answer);
    } catch (error) {
      showProblem(form, problem, error);
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  });
  return form;
}

export async function queuesSection() {
  const [groups, agents, tenant] = await Promise.all([
    everything("/agent-groups"), everything("/agents"), api("/tenant"),
  ]);
  const groupNames = new Map(groups.map((g) => [g.id, g.name]));
  const agentNames = new Map(agents.map((a) => [a.id, a.name]));
  const list = h("div", { id: "queues-list" });
  let editing = null; // the id of the queue whose form is open: a reload keeps it open
  let timer = null;
  let shown = [];

  // A queue whose removal is being asked about, or whose form is open, keeps its row as it is
  // (the question, what was typed, the focus) while the queue stands: work arriving reloads
  // the list all the time, and must not close either under the admin's hands.
  function render() {
    redrawKeeping(list, draw);
    figures();
  }

  function draw(busy) {
    const rows = [];
    for (const queue of shown) {
      const kept = busy.get(`queue:${queue.id}`);
      if (kept) rows.push(kept);
      else rows.push(queueRow(queue));
      if (editing === queue.id) rows.push(busy.get(`edit:${queue.id}`) || editRow(queue));
    }
    list.replaceChildren(shown.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack queues" },
      h("caption", { class: "visually-hidden" }, "Task queues"),
      h("thead", {}, h("tr", {}, ["Queue", "Who may pull", "Age boost", "Waiting", "Oldest", "Actions"].map((t) =>
        h("th", { scope: "col", class: ["Waiting", "Oldest"].includes(t) ? "num" : undefined },
          t === "Actions" ? h("span", { class: "visually-hidden" }, t) : t)))),
      h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No queues yet. Tasks without an agent wait in a queue until one pulls them."));
  }

  function queueRow(queue) {
    const edit = h("button", { type: "button", class: "quiet", "aria-expanded": String(editing === queue.id),
      "aria-label": `Change ${queue.name}` }, "Change");
    edit.addEventListener("click", () => { editing = editing === queue.id ? null : queue.id; render(); focusForm(); });
    const problem = h("div");
    return h("tr", { dataset: { id: queue.id, row: `queue:${queue.id}` } },
      h("td", {}, h("strong", {}, queue.name)),
      h("td", { "data-label": "Who may pull", class: "small" }, who(queue, groupNames, agentNames)),
      h("td", { "data-label": "Age boost", class: "small" },
        queue.age_boost_minutes ? `+1 every ${queue.age_boost_minutes} min` : "none"),
      h("td", { "data-label": "Waiting", class: "num queue-waiting" }, String(queue.waiting)),
      h("td", { "data-label": "Oldest", class: "num queue-oldest" }, oldest(queue, tenant.settings.stats)),
      h("td", { class: "row-tools" }, edit,
        confirmButton("Remove", `Remove ${queue.name}?`, problem, async () => {
          await api(`/queues/${queue.id}`, { method: "DELETE" });
          await reload();
        }), problem));
  }

  // An open form is a question being answered: kept across reloads like one.
  function editRow(queue) {
    return h("tr", { class: "edit-row", dataset: { row: `edit:${queue.id}`, question: "" } },
      h("td", { colspan: 6 }, queueForm({
        queue, groups, agents,
        saved: async () => { editing = null; await reload(); },
        cancel: () => { editing = null; render(); },
      })));
  }

  function focusForm() {
    list.querySelector(".edit-row input[name=name]")?.focus();
  }

  async function reload() {
    shown = await everything("/queues");
    if (editing && !shown.some((q) => q.id === editing)) editing = null;
    render();
  }

  function figures() {
    for (const queue of shown) {
      const row = list.querySelector(`tr[data-id="${queue.id}"]`);
      row?.querySelector(".queue-waiting").replaceChildren(String(queue.waiting));
      row?.querySelector(".queue-oldest").replaceChildren(oldest(queue, tenant.settings.stats));
    }
  }

  await reload();
  const soon = () => { clearTimeout(timer); timer = setTimeout(() => reload().catch(() => {}), 300); };
  const stops = [
    // Queues change on the tenant channel; rule runs (which fill them) are on setup.
    realtime.subscribeAll(["tenant", "setup"], (event) => {
      if (event.type?.startsWith("queue.") || event.type === "rule.run" || event.type === "resync") soon();
    }),
    // Work arriving, pulled or done moves the depths.
    realtime.subscribe("wallboard", (event) => { if (event.type?.startsWith("task.")) soon(); }),
  ];
  // The oldest task ages between changes too.
  const ticker = setInterval(figures, 30_000);
  const add = queueForm({ groups, agents, saved: reload });
  const node = h("div", { class: "admin-queues" },
    h("section", { class: "card", "aria-labelledby": "queues-title" },
      h("div", { class: "title-bar" }, h("h2", { id: "queues-title" }, "Task queues")),
      h("p", { class: "muted small" }, "Agents pull the most urgent task first, then the oldest; "
        + "an age boost lifts work that has waited."),
      list),
    h("section", { class: "card", "aria-labelledby": "add-queue-title" },
      h("h2", { id: "add-queue-title" }, "Add a queue"), add));
  return { node, leave: () => { for (const stop of stops) stop(); clearTimeout(timer); clearInterval(ticker); } };
}
