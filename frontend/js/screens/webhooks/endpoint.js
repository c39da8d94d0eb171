// One webhook endpoint (admins): its state, dead letters and last failure; send it a test
// event, enable or disable it, rotate its secret (the new one shown once), change it or
// remove it; and its deliveries below. The tenant channel's endpoint events (another
// admin's change, an endpoint the deliveries disabled) read it again.
import { api } from "../../api.js";
import { announce, formatDateTime, h, submit } from "../../dom.js";
import { confirmButton, go } from "../../forms.js";
import { realtime } from "../../realtime.js";
import { deliveriesPanel } from "./deliveries.js";
import { endpointForm } from "./endpoint-form.js";
import { secretBox } from "./secret.js";
import { deadLetters, lastFailure, stateBadge, typesText } from "./words.js";

function facts(endpoint) {
  const fact = (term, value) => [h("dt", {}, term), h("dd", {}, value)];
  return h("dl", { class: "facts endpoint-facts" },
    fact("State", [stateBadge(endpoint), endpoint.disabled_reason && !endpoint.enabled
      ? h("span", { class: "muted small" }, ` ${endpoint.disabled_reason}`) : null]),
    fact("Events", typesText(endpoint)),
    fact("Dead letters", deadLetters(endpoint)),
    fact("Last failure", lastFailure(endpoint)),
    endpoint.failing_since ? fact("Failing since", formatDateTime(endpoint.failing_since)) : null,
    endpoint.previous_secret_until
      && new Date(endpoint.previous_secret_until) > new Date()
      ? fact("Old secret signs until", formatDateTime(endpoint.previous_secret_until)) : null,
    fact("Added", formatDateTime(endpoint.created_at)));
}

export async function webhookEndpointScreen(id) {
  const [first, { event_types: eventTypes }] = await Promise.all([
    api(`/webhook-endpoints/${id}`), api("/webhook-endpoints/event-types"),
  ]);
  let endpoint = first;
  const head = h("div");
  const problem = h("div", { id: "endpoint-problem" });
  const secretSlot = h("div", { "aria-live": "polite" });
  const editSlot = h("div");
  const deliveries = deliveriesPanel(id, { changed: () => reload() });
  let timer = null;

  async function reload() {
    endpoint = await api(`/webhook-endpoints/${id}`);
    render();
  }

  function edit() {
    editSlot.replaceChildren(h("div", { class: "card" }, h("h2", {}, "Change the endpoint"),
      endpointForm({
        endpoint, eventTypes,
        saved: async (changed) => { endpoint = changed; editSlot.replaceChildren(); render(); },
        cancel: () => editSlot.replaceChildren(),
      })));
    editSlot.querySelector("input")?.focus();
  }

  // The tools are made once: a figure read again redraws the facts, never a confirmation
  // the admin has open.
  const toggle = h("button", { type: "button", "data-key": "toggle", onclick: submit(problem, async () => {
    endpoint = await api(`/webhook-endpoints/${id}`, { method: "PATCH", body: { enabled: !endpoint.enabled } });
    announce(endpoint.enabled ? "Endpoint enabled" : "Endpoint disabled");
    render();
  }) });

  function tools() {
    const test = h("button", { type: "button", class: "primary", "data-key": "test", onclick: submit(problem, async () => {
      const sent = await api(`/webhook-endpoints/${id}/test`, { method: "POST" });
      announce("Test event sent");
      await deliveries.load();
      // Until its delivery has had its first attempt.
      deliveries.follow((list) => list.some((d) => d.event_id === sent.event_id && d.attempts > 0));
    }) }, "Send a test event");
    const rotate = confirmButton("Rotate secret", "A new secret; the old one signs for 24 more hours.", problem,
      async () => {
        const rotated = await api(`/webhook-endpoints/${id}/rotate-secret`, { method: "POST" });
        endpoint = rotated.endpoint;
        render();
        secretSlot.replaceChildren(secretBox(rotated, { rotated: true }));
        secretSlot.querySelector("#signing-secret").focus();
      });
    const remove = confirmButton("Remove", "Remove this endpoint and its deliveries?", problem, async () => {
      await api(`/webhook-endpoints/${id}`, { method: "DELETE" });
      announce("Endpoint removed");
      go("/webhooks");
    });
    return h("div", { class: "endpoint-tools" }, test, toggle,
      h("button", { type: "button", onclick: edit }, "Change"), rotate, remove);
  }

  const title = h("h1", { id: "endpoint-title", class: "endpoint-title" });
  const description = h("p", { class: "muted" });
  const factsSlot = h("div");
  head.append(h("div", { class: "card endpoint-head" },
    h("p", { class: "small" }, h("a", { href: "/webhooks" }, "← Webhooks")),
    title, description, factsSlot, tools(), problem));

  function render() {
    title.textContent = endpoint.url;
    description.textContent = endpoint.description || "";
    description.hidden = !endpoint.description;
    factsSlot.replaceChildren(facts(endpoint));
    // Enable and Disable are one button whose words change: it keeps the focus.
    toggle.textContent = endpoint.enabled ? "Disable" : "Enable";
  }

  render();
  await deliveries.load();
  const stop = realtime.subscribe("webhooks", (event) => {
    if (event.type?.startsWith("webhook_endpoint.") && Number(event.data?.id) === id) {
      clearTimeout(timer);
      timer = setTimeout(() => reload().catch(() => {}), 300);
    }
  });
  const node = h("section", { "aria-labelledby": "endpoint-title", class: "webhooks" },
    head, secretSlot, editSlot, deliveries.node);
  return { node, leave: () => { stop(); deliveries.stop(); clearTimeout(timer); } };
}
