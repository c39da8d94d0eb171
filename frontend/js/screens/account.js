// One account, kept current by its channel: every change, whoever made it, arrives as an
// event and goes to the panels it concerns. Embedded (in the queue's working panel) it
// leaves out the way back to the list.
import { api } from "../api.js";
import { announce, h } from "../dom.js";
import { realtime } from "../realtime.js";
import { automationPanel } from "./account/automation.js";
import { balancePanel } from "./account/balance.js";
import { callbackPanel } from "./account/callback.js";
import { contactPanel } from "./account/contact.js";
import { customDefinitions } from "./account/custom.js";
import { debtorPanel } from "./account/debtor.js";
import { detailsPanel } from "./account/details.js";
import { interactionsPanel } from "./account/interactions.js";
import { paymentLinkPanel } from "./account/payment-link.js";
import { paymentsPanel } from "./account/payments.js";
import { planPanel } from "./account/plan.js";
import { recordPromisePanel } from "./account/record-promise.js";
import { statusPanel } from "./account/status.js";
import { takePaymentPanel } from "./account/take-payment.js";
import { timelinePanel } from "./account/timeline.js";

// Events that move the balance; each carries the account as it now is (the queue's task
// card and list read the same events).
export const MONEY_EVENTS = new Set(["payment.received", "payment.refunded", "payment.reversed",
  "promise.made", "promise.kept", "promise.broken"]);

export async function accountScreen(id, { embedded = false } = {}) {
  const role = document.body.dataset.role;
  const canWork = role !== "readonly";
  const [first, fields] = await Promise.all([api(`/accounts/${id}`), customDefinitions()]);
  let account = first;
  const debtor = await api(`/debtors/${account.debtor_id}`).catch(() => null);

  const title = h(embedded ? "h2" : "h1", { id: "account-title" });
  const balance = balancePanel();
  const details = detailsPanel(fields.account);
  const log = interactionsPanel(id, { canLog: canWork });
  const timeline = timelinePanel(id);
  const link = paymentLinkPanel(id, debtor);
  const callback = callbackPanel(id);
  const contact = contactPanel(id, {
    onStatus: (status) => { link.update(status); callback.update(status); },
  });
  const managers = role === "admin" || role === "supervisor";
  const automation = automationPanel(id, { managers });
  const status = statusPanel(id, { managers });
  const payments = paymentsPanel(id, { managers });

  function show(changed) {
    title.textContent = `${account.debtor_name} · ${account.external_ref}`;
    balance.show(account, changed);
    details.show(account, changed);
    status.show(account);
  }
  show(false);
  contact.load();
  payments.load();
  automation.load();
  timeline.load();

  const stop = realtime.subscribe(`account:${id}`, async (event) => {
    // Whatever happened on the account is on its timeline.
    timeline.later();
    if (event.type?.startsWith("task.") && event.data?.task) {
      // A workflow's run may have made it.
      automation.later();
    } else if (event.type === "account.updated" || event.type === "account.created") {
      account = event.data;
      show(true);
      // A status (a dispute, a cease, a bankruptcy) changes what contact is allowed; the
      // other changes leave it as it was.
      if (event.data.changed?.includes("status") ?? true) contact.load();
      announce(`Account updated: balance ${balance.text()}`);
    } else if (event.type === "interaction.logged") {
      contact.load();
      // A message a workflow sent is logged as an interaction.
      automation.later();
      announce(`New ${event.data.channel} logged`);
    } else if (MONEY_EVENTS.has(event.type)) {
      account = event.data.account;
      show(true);
      payments.load();
      announce(`${event.type.replace(".", " ")}: balance ${balance.text()}`);
    } else if (event.type === "workflow.triggered" || event.type === "workflow.step") {
      // A run started, or went on: its steps and messages are read anew.
      automation.later();
    } else if (event.type === "debtor.updated" || event.type === "debtor.opted_out") {
      contact.load();
    } else if (event.type === "payment.pending" || event.type === "payment.failed") {
      payments.load();
    } else if (event.type === "ready" || event.type === "resync") {
      // Anything may have happened before the channel was live, or while it was cut off.
      payments.load();
      contact.load();
      automation.load();
      account = await api(`/accounts/${id}`);
      show(true);
    }
  });

  // New contact hours or rules for the tenant: what is allowed now may have changed.
  const stopRules = realtime.subscribe(`agent:${document.body.dataset.userId}`, (event) => {
    if (event.type === "tenant.contact_rules_changed") contact.load();
  });

  const node = h("section", { "aria-labelledby": "account-title" },
    embedded ? null : h("p", {}, h("a", { href: "/accounts" }, "← Accounts")),
    title,
    contact.banner,
    status.banner,
    h("div", { class: "grid-2" },
      h("div", { class: "card" },
        balance.nodes,
        canWork ? [
          h("h2", {}, "Take a payment or a promise"),
          takePaymentPanel(id, () => account), recordPromisePanel(id),
          planPanel(id, () => account), link.nodes,
        ] : null,
        payments.nodes,
        details.nodes,
        canWork ? status.nodes : null),
      h("div", { class: "card" },
        debtorPanel(debtor, { accountId: id, canEdit: canWork, fields: fields.debtor }),
        contact.nodes,
        log.nodes,
        canWork ? callback.nodes : null,
        automation.nodes)),
    h("div", { class: "card", id: "timeline-card" }, timeline.nodes));
  return { node, leave: () => { stop(); stopRules(); } };
}
