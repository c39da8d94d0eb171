// The automation screens' own navigation: workflows, the templates they send, and what
// was sent.
import { h } from "../../dom.js";

const SECTIONS = [["workflows", "/workflows", "Workflows"], ["templates", "/templates", "Templates"],
  ["messages", "/messages", "Mailbox"]];

export function sectionNav(current) {
  return h("nav", { class: "subnav", "aria-label": "Automation" },
    SECTIONS.map(([key, href, label]) =>
      h("a", { href, "aria-current": key === current ? "page" : undefined }, label)));
}
