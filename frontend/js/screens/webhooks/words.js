// How the webhook screens say an endpoint's and a delivery's state: in words and shape as
// well as colour.
import { formatDateTime, h } from "../../dom.js";

export function stateBadge(endpoint) {
  return endpoint.enabled
    ? h("span", { class: "badge", "data-tone": "ok" }, "enabled")
    : h("span", { class: "badge", "data-tone": "warn", title: endpoint.disabled_reason || undefined }, "disabled");
}

// Red (and marked) as soon as one delivery has been given up on.
export function deadLetters(endpoint) {
  const n = endpoint.dead_letters;
  return h("span", { class: "badge dead-letters", "data-tone": n > 0 ? "bad" : undefined,
    "aria-label": `${n} dead ${n === 1 ? "letter" : "letters"}` }, String(n));
}

export function failureText(failure) {
  if (!failure) return null;
  return failure.status ? `HTTP ${failure.status}` : failure.error || "no answer";
}

export function lastFailure(endpoint) {
  const failure = endpoint.last_failure;
  if (!failure) return h("span", { class: "muted" }, "—");
  return h("span", { class: "last-failure" }, h("span", { class: "error-text" }, failureText(failure)),
    " ", h("time", { class: "muted", datetime: failure.at }, formatDateTime(failure.at)));
}

export function typesText(endpoint) {
  return endpoint.event_types.length ? endpoint.event_types.join(", ") : "every event";
}

const DELIVERY = {
  succeeded: ["ok", "delivered"],
  failed: ["bad", "failed"],
  dead: ["bad", "dead letter"],
};

export function deliveryBadge(delivery) {
  const [tone, text] = DELIVERY[delivery.status]
    ?? (delivery.attempts > 0 ? ["warn", "retrying"] : ["info", "waiting"]);
  return h("span", { class: "badge", "data-tone": tone }, text);
}

// "200 · status 200", "500 · Internal error", or the error when nothing answered.
export function answerText(status, response, error) {
  if (status === null || status === undefined) return error || "—";
  const excerpt = (response || "").trim().replace(/\s+/g, " ");
  return excerpt ? `${status} · ${excerpt.slice(0, 120)}` : String(status);
}
