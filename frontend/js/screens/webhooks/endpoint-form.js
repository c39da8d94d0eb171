// Adding a webhook endpoint, or changing one: its URL, what it is for, and the event types
// it takes, ticked from the list the server sends (none ticked: every event). A refusal
// (an address webhooks may not reach, say) shows beside the field it names.
import { api } from "../../api.js";
import { h } from "../../dom.js";
import { clearFieldErrors, field, showProblem, uid } from "../../forms.js";

// "payment.received" under "payment", "webhook_endpoint.disabled" under "webhook endpoint".
const group = (type) => type.split(".")[0].replaceAll("_", " ");

function typeChoices(known, chosen) {
  // Types the endpoint already takes that the list does not know (a workflow's custom
  // event) stay choosable, so that saving does not drop them.
  const all = [...new Set([...known, ...chosen])].sort();
  const groups = new Map();
  for (const type of all) {
    if (!groups.has(group(type))) groups.set(group(type), []);
    groups.get(group(type)).push(type);
  }
  const hint = h("p", { class: "hint", id: uid("hint") }, "None ticked: every event, those added later too.");
  return h("fieldset", { class: "event-types", dataset: { field: "event_types" }, "aria-describedby": hint.id },
    h("legend", {}, "Event types"), hint,
    h("div", { class: "event-type-groups" }, [...groups].map(([name, types]) =>
      h("div", { class: "event-type-group" },
        h("p", { class: "event-type-group-name" }, name),
        types.map((type) => {
          const box = h("input", { type: "checkbox", name: "event_types", value: type, id: uid("type"),
            checked: chosen.includes(type) });
          return h("label", { class: "check-choice", for: box.id }, box, h("code", {}, type));
        })))));
}

// `endpoint`: the one being changed (null: a new one). `saved(answer)` gets the server's
// answer: the endpoint with its secret for a new one, the endpoint for a change.
export function endpointForm({ endpoint = null, eventTypes, saved, cancel }) {
  const url = h("input", { type: "url", name: "url", required: true, value: endpoint?.url ?? "",
    placeholder: "https://example.com/recoup-hooks", autocomplete: "off", spellcheck: "false" });
  const description = h("input", { type: "text", name: "description", maxlength: 500,
    value: endpoint?.description ?? "", placeholder: "Billing system" });
  const problem = h("div", { class: "form-problem" });
  const button = h("button", { type: "submit", class: "primary" }, endpoint ? "Save changes" : "Add endpoint");
  const form = h("form", { class: "endpoint-form", novalidate: true },
    h("div", { class: "row" },
      field("URL", url, { path: "url", hint: "https only, to a public address; signed with the endpoint's secret." }),
      field("Description", description, { path: "description" })),
    typeChoices(eventTypes, endpoint?.event_types ?? []),
    problem,
    h("div", { class: "save-row" }, button,
      cancel ? h("button", { type: "button", onclick: cancel }, "Cancel") : null));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.getAttribute("aria-busy") === "true") return;
    const body = {
      url: url.value.trim(),
      description: description.value.trim(),
      event_types: [...form.querySelectorAll("input[name=event_types]:checked")].map((box) => box.value),
    };
    clearFieldErrors(form);
    problem.replaceChildren();
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      const answer = endpoint
        ? await api(`/webhook-endpoints/${endpoint.id}`, { method: "PATCH", body })
        : await api("/webhook-endpoints", { method: "POST", body });
      if (!endpoint) form.reset();
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
