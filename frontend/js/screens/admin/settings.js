// Tenant settings (admins): one form per section, each saved on its own with PATCH /tenant
// and checked as the admin types; the server's refusal shows beside the field it names.
// Another admin's save arrives on the tenant channel (tenant.updated) and is shown in every
// section that has no edit of its own pending.
import { api } from "../../api.js";
import { h } from "../../dom.js";
import { realtime } from "../../realtime.js";
import { brandingSection } from "./settings/branding.js";
import { bucketsSection } from "./settings/buckets.js";
import { contactSection } from "./settings/contact.js";
import { generalSection } from "./settings/general.js";
import { paymentsSection } from "./settings/payments.js";
import { promisesSection } from "./settings/promises.js";
import { wallboardSection } from "./settings/wallboard.js";
import { webhooksSection } from "./settings/webhooks.js";
import { worklistSection } from "./settings/worklist.js";

// In-page links scroll without touching the history (a new entry would redraw the screen).
function jump(event) {
  event.preventDefault();
  const target = document.querySelector(event.currentTarget.getAttribute("href"));
  target?.scrollIntoView({ block: "start" });
  target?.querySelector("h2")?.setAttribute("tabindex", "-1");
  target?.querySelector("h2")?.focus({ preventScroll: true });
}

export async function settingsSection() {
  const tenant = await api("/tenant");
  const sections = [
    ["general", "General", generalSection()],
    ["buckets", "Delinquency buckets", bucketsSection()],
    ["contact", "Contact rules", contactSection()],
    ["promises", "Promise rules", promisesSection()],
    ["worklist", "Worklist timing", worklistSection()],
    ["payments", "Payments", paymentsSection()],
    ["branding", "Payment page branding", brandingSection()],
    ["wallboard", "Wallboard", wallboardSection()],
    ["webhooks", "Webhooks", webhooksSection()],
  ];
  for (const [, , section] of sections) section.take(tenant);

  const update = (changed) => { for (const [, , section] of sections) section.update(changed); };
  const reread = () => api("/tenant").then(update).catch(() => {});
  const stop = realtime.subscribe("tenant", (event) => {
    if (event.type === "tenant.updated" && event.data?.settings) update(event.data);
    else if (event.type === "ready" || event.type === "resync") reread();
  });

  const node = h("div", { class: "tenant-settings" },
    h("nav", { class: "settings-contents", "aria-label": "Settings sections" },
      h("ul", {}, sections.map(([id, label]) => h("li", {}, h("a", { href: `#settings-${id}`, onclick: jump }, label))))),
    h("div", { class: "settings-sections" }, sections.map(([, , section]) => section.node)));
  return { node, leave: stop };
}
