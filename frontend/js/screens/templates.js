// Message templates: the words the workflows send, by e-mail or text.
import { api, everything } from "../api.js";
import { formatDateTime, h } from "../dom.js";
import { sectionNav } from "./workflow/section-nav.js";
import { channelName } from "./workflow/words.js";

export async function templatesScreen() {
  const templates = await everything("/templates");
  return h("section", { "aria-labelledby": "templates-title" },
    sectionNav("templates"),
    h("div", { class: "title-bar" },
      h("h1", { id: "templates-title" }, "Templates"),
      h("a", { class: "button primary", href: "/templates/new" }, "New template")),
    h("div", { class: "card" }, templates.length
      ? h("div", { class: "table-scroll" }, h("table", { class: "data stack", id: "template-list" },
        h("thead", {}, h("tr", {}, ["Name", "Channel", "Subject", "Changed"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, templates.map((t) => h("tr", { dataset: { id: t.id } },
          h("td", {}, h("a", { href: `/templates/${t.id}` }, t.name)),
          h("td", { "data-label": "Channel" }, h("span", { class: "badge", "data-tone": "info" }, channelName(t.channel))),
          h("td", { "data-label": "Subject" }, t.subject || h("span", { class: "muted" }, "—")),
          h("td", { class: "muted", "data-label": "Changed" }, formatDateTime(t.updated_at)))))))
      : h("p", { class: "muted" }, "No templates yet. A workflow's e-mail and text steps send one.")));
}
