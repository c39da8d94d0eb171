// Webhooks: whether endpoints may use plain http (to public addresses), for a development
// receiver.
import { settingsForm, switchField } from "./section.js";

export function webhooksSection() {
  const http = switchField("Allow plain http endpoints", "webhooks.allow_http",
    "For a development receiver only: events would travel unencrypted. Off (the default): https only. "
    + "Private and loopback addresses stay refused either way.");
  return settingsForm({
    id: "webhooks",
    title: "Webhooks",
    saveLabel: "Save webhook settings",
    controls: [http.node],
    part: (t) => t.settings.webhooks,
    fill: (t) => { http.value = t.settings.webhooks.allow_http; },
    body: () => ({ webhooks: { allow_http: http.value } }),
  });
}
