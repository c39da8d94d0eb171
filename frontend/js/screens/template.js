// One template: its words (Jinja, checked when saved: a misspelt name is refused at its
// field) and how it reads for a chosen account, rendered by the server.
import { api } from "../api.js";
import { announce, h, pending } from "../dom.js";
import { clearFieldErrors, confirmButton, field, go, showProblem } from "../forms.js";
import { accountPicker } from "./workflow/account-picker.js";
import { sectionNav } from "./workflow/section-nav.js";

const VARIABLES = [
  ["account", "balance, principal, external_ref, creditor, currency, status, days_past_due, due_date"],
  ["debtor", "name, first_name, last_name"],
  ["tenant", "name"],
  ["payment", "amount, receipt, method (of the payment that started the run)"],
  ["payment_link", "a link to the debtor's payment page"],
  ["opt_out_link", "the opt-out link (added at the end when not placed)"],
];

function previewPanel(template) {
  const problem = h("div");
  const shown = h("div", { id: "template-preview", "aria-live": "polite" });
  const picker = accountPicker();
  const button = h("button", { type: "button", onclick: () => pending(button, problem, async () => {
    const account = picker.value();
    if (!account) throw new Error("Choose an account to preview the template for.");
    const rendered = await api(`/templates/${template.id}/preview`, { method: "POST", body: { account_id: account } });
    shown.replaceChildren(h("dl", { class: "facts" },
      h("dt", {}, "To"), h("dd", {}, rendered.to || h("span", { class: "error-text" }, "no address on file")),
      rendered.channel === "email" ? [h("dt", {}, "Subject"), h("dd", {}, rendered.subject)] : null),
    h("pre", { class: "message-body" }, rendered.body));
  }) }, "Preview");
  return [h("h2", {}, "Preview"), h("p", { class: "hint" }, "The saved template as it would go to this account now."),
    h("div", { class: "inline-form" }, picker.nodes, button), problem, shown];
}

export async function templateScreen(id) {
  const template = id ? await api(`/templates/${id}`) : null;
  const root = h("form", { class: "template-editor", novalidate: true, "aria-labelledby": "template-title" });
  const summary = h("div", { id: "template-problem" });
  const status = h("span", { class: "save-state", "aria-live": "polite" });
  const name = h("input", { maxlength: 120, required: true, value: template?.name ?? "" });
  const channel = h("select", { disabled: Boolean(template) },
    [["sms", "Text (SMS)"], ["email", "E-mail"]].map(([value, label]) => h("option", { value, selected: value === template?.channel }, label)));
  const subject = h("input", { maxlength: 300, value: template?.subject ?? "" });
  const body = h("textarea", { rows: 8, maxlength: 10000, class: "code" });
  body.value = template?.body ?? "";
  const subjectField = field("Subject", subject, { path: "subject" });
  const showChannel = () => { subjectField.hidden = channel.value !== "email"; };
  channel.addEventListener("change", showChannel);
  showChannel();
  for (const control of [name, subject, body]) control.addEventListener("input", () => { status.textContent = "Unsaved changes"; });

  const save = h("button", { type: "submit", class: "primary", id: "save-template" }, "Save");
  root.addEventListener("submit", (event) => {
    event.preventDefault();
    pending(save, summary, async () => {
      clearFieldErrors(root);
      const values = { name: name.value, body: body.value, subject: channel.value === "email" ? subject.value : "" };
      let saved;
      try {
        saved = await api(template ? `/templates/${template.id}` : "/templates",
          { method: template ? "PATCH" : "POST", body: template ? values : { ...values, channel: channel.value } });
      } catch (error) {
        showProblem(root, summary, error);
        status.textContent = "Not saved";
        return;
      }
      announce(`Template ${saved.name} saved`);
      if (!template) go(`/templates/${saved.id}`);
      else status.textContent = "Saved";
    });
  });
  const remove = template ? confirmButton("Delete", "Delete this template?", summary, async () => {
    await api(`/templates/${template.id}`, { method: "DELETE" });
    go("/templates");
  }) : null;

  root.append(
    sectionNav("templates"),
    h("p", {}, h("a", { href: "/templates" }, "← Templates")),
    h("h1", { id: "template-title" }, template ? template.name : "New template"),
    h("div", { class: "grid-2" },
      h("div", { class: "card" },
        field("Name", name, { path: "name" }),
        field("Channel", channel, { path: "channel", hint: template ? "A template keeps its channel." : null }),
        subjectField,
        field("Body", body, { path: "body", hint: "Jinja: {{ debtor.first_name }}, {{ account.balance }}, {{ payment_link }}…" }),
        h("details", { class: "help" }, h("summary", {}, "Variables a template can use"),
          h("dl", { class: "facts" }, VARIABLES.flatMap(([k, v]) => [h("dt", {}, h("code", {}, k)), h("dd", {}, v)]))),
        h("div", { class: "save-bar" }, summary, h("div", { class: "save-row" }, save, status, h("span", { class: "spacer" }), remove))),
      h("div", { class: "card" }, template ? previewPanel(template)
        : [h("h2", {}, "Preview"), h("p", { class: "muted" }, "Save the template to preview it for an account.")])));
  return root;
}
