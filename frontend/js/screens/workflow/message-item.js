// One e-mail or text as it was sent (or queued, skipped, refused), with its words.
import { formatDateTime, h } from "../../dom.js";
import { channelName, messageBadge } from "./words.js";

// `account`: link the account; `run`: link the run that sent it (supervisors and admins).
export function messageItem(m, { account = false, run = false } = {}) {
  const when = m.sent_at || m.created_at;
  return h("li", { class: "message", dataset: { id: m.id, channel: m.channel, status: m.status } },
    h("div", { class: "message-head" },
      h("span", { class: "badge", "data-tone": "info" }, channelName(m.channel)), " ",
      h("strong", {}, m.to), " ", messageBadge(m.status),
      account ? [" · ", h("a", { href: `/accounts/${m.account_id}` }, m.account_ref || `account ${m.account_id}`)] : null,
      run && m.run_id ? [" · ", h("a", { href: `/workflows/runs/${m.run_id}` }, `run ${m.run_id}`)] : null),
    h("p", { class: "when" }, h("time", { datetime: when }, formatDateTime(when)),
      m.transport ? ` · by ${m.transport}` : null, m.attempts > 1 ? ` · ${m.attempts} tries` : null),
    m.subject ? h("p", { class: "message-subject" }, m.subject) : null,
    h("pre", { class: "message-body" }, m.body),
    m.error ? h("p", { class: "error-text" }, m.error) : null);
}
