// One endpoint's recent deliveries: state, attempts, latency, the last answer and when the
// next attempt is; a delivery opens to show every attempt; one is replayed with a button,
// or every failed one made in a chosen time range. No event says a delivery landed, so
// after a test event or a replay the panel asks again every second for a little while.
import { api } from "../../api.js";
import { announce, formatDateTime, h, pending, submit } from "../../dom.js";
import { field, showProblem } from "../../forms.js";
import { answerText, deliveryBadge } from "./words.js";

const PAGE = 25;
const FOLLOW_TRIES = 30;
const FOLLOW_EVERY_MS = 1000;
const FILTERS = [["", "All"], ["pending", "Waiting or retrying"], ["succeeded", "Delivered"],
  ["failed", "Failed"], ["dead", "Dead letters"]];

// A datetime-local value for a moment, in the viewer's zone.
function localValue(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

function attemptsList(attempts) {
  if (!attempts.length) return h("p", { class: "muted small" }, "No attempt yet.");
  return h("ol", { class: "attempts" }, attempts.map((a, i) => h("li", { class: "attempt" },
    h("span", { class: "attempt-no" }, `#${i + 1}`),
    h("time", { datetime: a.attempted_at }, formatDateTime(a.attempted_at)),
    h("span", { class: "badge", "data-tone": a.status >= 200 && a.status < 300 ? "ok" : "bad" },
      a.status ?? "no answer"),
    h("span", { class: "num" }, `${a.latency_ms} ms`),
    h("span", { class: "attempt-answer" }, answerText(a.status, a.response, a.error)))));
}

export function deliveriesPanel(endpointId, { changed }) {
  const problem = h("div");
  const body = h("tbody");
  const more = h("div");
  const status = h("select", { id: "delivery-filter" },
    FILTERS.map(([value, label]) => h("option", { value }, label)));
  const open = new Set(); // deliveries whose attempts are shown
  let items = [];
  let following = 0;

  async function attemptsRow(delivery) {
    const { items: attempts } = await api(`/webhook-endpoints/deliveries/${delivery.id}/attempts`,
      { query: { limit: 100 } });
    return h("tr", { class: "attempts-row", dataset: { attemptsOf: delivery.id } },
      h("td", { colspan: 7 }, attemptsList(attempts)));
  }

  function row(delivery) {
    const key = `d${delivery.id}`;
    const expanded = open.has(delivery.id);
    const toggle = h("button", { type: "button", class: "quiet", "aria-expanded": String(expanded),
      dataset: { key: `${key}-toggle` }, "aria-label": `Attempts of delivery ${delivery.id}`,
      onclick: submit(problem, async () => {
        if (open.has(delivery.id)) open.delete(delivery.id);
        else open.add(delivery.id);
        await render();
      }) }, expanded ? "Hide attempts" : "Attempts");
    const replay = delivery.status === "pending" ? null : h("button", { type: "button",
      dataset: { key: `${key}-replay` }, "aria-label": `Replay delivery ${delivery.id}`,
      onclick: submit(problem, async () => {
        const again = await api(`/webhook-endpoints/deliveries/${delivery.id}/replay`, { method: "POST" });
        announce(`Delivery ${delivery.id} replayed`);
        follow((list) => list.some((d) => d.id === again.id && (d.status !== "pending" || d.attempts > 0)));
      }) }, "Replay");
    return h("tr", { dataset: { id: delivery.id, status: delivery.status } },
      h("td", { class: "delivery-event" }, h("code", {}, delivery.event_type),
        h("div", { class: "muted small" }, formatDateTime(delivery.occurred_at))),
      h("td", { "data-label": "Status" }, deliveryBadge(delivery)),
      h("td", { "data-label": "Attempts", class: "num" }, String(delivery.attempts)),
      h("td", { "data-label": "Latency", class: "num" },
        delivery.last_latency_ms === null ? "—" : `${delivery.last_latency_ms} ms`),
      h("td", { "data-label": "Last answer", class: "delivery-answer" },
        answerText(delivery.last_status, delivery.last_response, delivery.last_error)),
      h("td", { "data-label": "Next attempt", class: "small" },
        delivery.status === "pending" ? formatDateTime(delivery.next_attempt_at) : "—"),
      h("td", { class: "delivery-tools" }, toggle, replay));
  }

  async function render() {
    const focused = document.activeElement?.dataset?.key;
    const rows = [];
    for (const delivery of items) {
      rows.push(row(delivery));
      if (open.has(delivery.id)) rows.push(await attemptsRow(delivery));
    }
    body.replaceChildren(...rows);
    table.hidden = !items.length;
    empty.hidden = items.length > 0;
    if (focused) body.querySelector(`[data-key="${focused}"]`)?.focus();
  }

  async function load() {
    const page = await api(`/webhook-endpoints/${endpointId}/deliveries`,
      { query: { status: status.value, limit: PAGE } });
    items = page.items;
    more.replaceChildren(page.next_cursor ? h("button", { type: "button", onclick: submit(problem, async () => {
      const next = await api(`/webhook-endpoints/${endpointId}/deliveries`,
        { query: { status: status.value, limit: PAGE, cursor: page.next_cursor } });
      items = [...items, ...next.items];
      more.replaceChildren();
      await render();
    }) }, "Older deliveries") : "");
    await render();
    return items;
  }

  // Asks again every second until `done(items)` holds or a while has passed; the endpoint's
  // figures (dead letters, last failure) are read again too.
  async function follow(done) {
    const turn = ++following;
    for (let i = 0; i < FOLLOW_TRIES && turn === following; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
      if (turn !== following) return;
      try {
        const list = await load();
        await changed();
        if (done(list)) return;
      } catch (error) {
        problem.replaceChildren(h("div", { class: "problem", role: "alert" }, error.message));
        return;
      }
    }
  }

  const table = h("table", { class: "data stack deliveries", id: "deliveries" },
    h("thead", {}, h("tr", {}, ["Event", "Status", "Attempts", "Latency", "Last answer", "Next attempt", ""]
      .map((t) => h("th", { scope: "col", class: ["Attempts", "Latency"].includes(t) ? "num" : undefined }, t)))),
    body);
  const empty = h("p", { class: "muted" }, "No deliveries yet. Send a test event to try the receiver.");

  const now = new Date();
  const since = h("input", { type: "datetime-local", value: localValue(new Date(now - 86_400_000)) });
  const until = h("input", { type: "datetime-local", value: localValue(new Date(now.getTime() + 60_000)) });
  const rangeProblem = h("div");
  const rangeResult = h("p", { class: "muted small", role: "status" });
  const range = h("form", { class: "inline-form replay-range", "aria-label": "Replay failed deliveries" },
    field("Failed since", since, { path: "since" }),
    field("Until", until, { path: "until" }),
    h("button", { type: "submit" }, "Replay failed"));
  range.addEventListener("submit", (event) => {
    event.preventDefault();
    rangeResult.textContent = "";
    pending(event.submitter ?? range.querySelector("button"), rangeProblem, async () => {
      const when = (input) => (input.value ? new Date(input.value).toISOString() : "");
      try {
        const { replayed } = await api(`/webhook-endpoints/${endpointId}/replay-failed`,
          { method: "POST", body: { since: when(since), until: when(until) } });
        rangeResult.textContent = replayed === 1 ? "1 delivery sent again." : `${replayed} deliveries sent again.`;
        if (replayed) follow((list) => !list.some((d) => d.status === "pending" && d.attempts === 0));
      } catch (error) {
        showProblem(range, rangeProblem, error);
      }
    });
  });

  status.addEventListener("change", () => pending(status, problem, load));
  const refresh = h("button", { type: "button", onclick: submit(problem, async () => {
    await load();
    await changed();
  }) }, "Refresh");

  const node = h("div", { class: "card", id: "endpoint-deliveries" },
    h("div", { class: "title-bar" }, h("h2", {}, "Deliveries"),
      h("div", { class: "confirm" }, h("label", { class: "visually-hidden", for: "delivery-filter" }, "Show"),
        status, refresh)),
    problem,
    h("div", { class: "table-scroll" }, table), empty, more,
    h("h3", { class: "replay-title" }, "Replay failed deliveries"),
    h("p", { class: "hint" }, "Every failed or dead-lettered delivery made in the range goes out again, "
      + "with its webhook-id unchanged so that your receiver can tell a repeat."),
    range, rangeProblem, rangeResult);
  return { node, load, follow, stop: () => { following += 1; } };
}
