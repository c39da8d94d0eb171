// The development mailbox: every e-mail and text the workflows sent (or would have), newest
// first, as the debtor would read it.
import { api } from "../api.js";
import { h, pending } from "../dom.js";
import { messageItem } from "./workflow/message-item.js";
import { sectionNav } from "./workflow/section-nav.js";

export async function messagesScreen() {
  const list = h("ol", { class: "timeline messages", id: "mailbox" });
  const problem = h("div");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const count = h("p", { class: "muted", "aria-live": "polite" });
  let cursor = null;
  async function load(reset) {
    if (reset) cursor = null;
    const page = await api("/messages", { query: { cursor, limit: 25 } });
    const items = page.items.map((m) => messageItem(m, { account: true, run: true }));
    if (reset) list.replaceChildren(...items);
    else list.append(...items);
    if (!list.children.length) list.append(h("li", { class: "muted" }, "Nothing sent yet."));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    count.textContent = `${list.querySelectorAll("li.message").length} shown${cursor ? ", more available" : ""}`;
  }
  more.addEventListener("click", () => pending(more, problem, () => load(false)));
  const refresh = h("button", { type: "button", onclick: (event) => pending(event.currentTarget, problem, () => load(true)) }, "Refresh");
  await load(true);
  return h("section", { "aria-labelledby": "mailbox-title" },
    sectionNav("messages"),
    h("div", { class: "title-bar" }, h("h1", { id: "mailbox-title" }, "Mailbox"), refresh),
    h("p", { class: "muted" }, "E-mails and texts sent to debtors, newest first. Without an SMTP server, e-mail stays here; "
      + "texts always do in development."),
    problem,
    h("div", { class: "card" }, list, count, more));
}
