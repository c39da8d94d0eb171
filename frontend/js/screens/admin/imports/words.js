// How an import's state reads on screen: a badge that differs in shape and word, not only colour.
import { h } from "../../../dom.js";

const TONES = { pending: ["info", "waiting"], running: ["warn", "running"], done: ["ok", "done"], failed: ["bad", "failed"] };

export function statusBadge(status) {
  const [tone, word] = TONES[status] || ["info", status];
  return h("span", { class: "badge", "data-tone": tone }, word);
}

export const written = (i) => i.rows_created + i.rows_updated;
export const count = (n) => new Intl.NumberFormat().format(n);
