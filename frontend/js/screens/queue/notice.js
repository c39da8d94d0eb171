// Quiet notices: what changed in my work without my doing it (a task given to me, one
// taken away), shown for a few seconds and read out politely.
import { flash, h } from "../../dom.js";

export function noticeArea() {
  const node = h("div", { class: "notice", id: "queue-notice", role: "status", "aria-live": "polite" });
  let timer = null;
  return {
    node,
    say(text, tone = "info") {
      node.replaceChildren(h("span", { class: "badge", "data-tone": tone }, text));
      flash(node);
      clearTimeout(timer);
      timer = setTimeout(() => node.replaceChildren(), 8000);
    },
    stop: () => clearTimeout(timer),
  };
}
