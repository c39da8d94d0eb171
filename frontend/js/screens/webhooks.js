// Webhooks (admins): the tenant's endpoints with their state, dead letters and last failure,
// and a form to add one, whose signing secret is shown once. Each endpoint opens on its own
// page (screens/webhooks/endpoint.js) with its deliveries.
import { api, everything } from "../api.js";
import { h } from "../dom.js";
import { realtime } from "../realtime.js";
import { endpointForm } from "./webhooks/endpoint-form.js";
import { secretBox } from "./webhooks/secret.js";
import { deadLetters, lastFailure, stateBadge, typesText } from "./webhooks/words.js";

function row(endpoint) {
  return h("tr", { dataset: { id: endpoint.id } },
    h("td", { class: "endpoint-url" },
      h("a", { href: `/webhooks/${endpoint.id}` }, endpoint.url),
      endpoint.description ? h("div", { class: "muted small" }, endpoint.description) : null),
    h("td", { "data-label": "Events", class: "small" }, typesText(endpoint)),
    h("td", { "data-label": "State" }, stateBadge(endpoint)),
    h("td", { "data-label": "Dead letters", class: "num" }, deadLetters(endpoint)),
    h("td", { "data-label": "Last failure", class: "small" }, lastFailure(endpoint)));
}

export async function webhooksScreen() {
  const [endpoints, { event_types: eventTypes }] = await Promise.all([
    everything("/webhook-endpoints"), api("/webhook-endpoints/event-types"),
  ]);
  const list = h("div", { class: "card", id: "webhook-endpoints" });
  const secretSlot = h("div", { "aria-live": "polite" });
  let timer = null;

  function render(items) {
    list.replaceChildren(h("h2", {}, "Endpoints"),
      items.length ? h("div", { class: "table-scroll" }, h("table", { class: "data stack" },
        h("thead", {}, h("tr", {}, ["URL", "Events", "State", "Dead letters", "Last failure"]
          .map((t) => h("th", { scope: "col", class: t === "Dead letters" ? "num" : undefined }, t)))),
        h("tbody", {}, items.map(row))))
        : h("p", { class: "muted" }, "No endpoints yet. Add one below to send Recoup's events to your "
          + "billing or CRM system, signed so that it can trust them."));
  }

  async function reload() {
    render(await everything("/webhook-endpoints"));
  }

  const form = endpointForm({
    eventTypes,
    saved: async (made) => {
      secretSlot.replaceChildren(secretBox(made, {}));
      secretSlot.querySelector("#signing-secret").focus();
      await reload();
    },
  });

  render(endpoints);
  // Another admin's change, or an endpoint the deliveries disabled, shows without a reload.
  const stop = realtime.subscribe("webhooks", (event) => {
    if (event.type?.startsWith("webhook_endpoint.") || event.type === "webhook_delivery.replayed") {
      clearTimeout(timer);
      timer = setTimeout(() => reload().catch(() => {}), 300);
    }
  });
  const node = h("section", { "aria-labelledby": "webhooks-title", class: "webhooks" },
    h("div", { class: "title-bar" },
      h("h1", { id: "webhooks-title" }, "Webhooks"),
      h("p", { class: "muted" }, "Events sent to your systems, signed, retried until they land.")),
    secretSlot,
    list,
    h("div", { class: "card", id: "add-endpoint" }, h("h2", {}, "Add an endpoint"), form));
  return { node, leave: () => { stop(); clearTimeout(timer); } };
}
