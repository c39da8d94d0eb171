// Choosing an account by its reference or the debtor's name: a search and its matches.
import { api } from "../../api.js";
import { h } from "../../dom.js";
import { debounce, field } from "../../forms.js";

export function accountPicker() {
  const search = h("input", { type: "search", placeholder: "Reference or name", autocomplete: "off" });
  const choice = h("select", { id: "preview-account" });
  let asked = 0;
  async function find() {
    const mine = ++asked;
    try {
      const page = await api("/accounts", { query: { q: search.value.trim(), limit: 20 } });
      if (mine !== asked) return;
      choice.replaceChildren(...(page.items.length
        ? page.items.map((a) => h("option", { value: a.id }, `${a.external_ref} · ${a.debtor_name}`))
        : [h("option", { value: "" }, "No account matches")]));
    } catch (error) {
      if (mine === asked) choice.replaceChildren(h("option", { value: "" }, error.message));
    }
  }
  search.addEventListener("input", debounce(find, 300));
  // Enter searches here; it must not submit the form around it.
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); find(); }
  });
  find();
  return {
    nodes: [field("Find an account", search), field("Account", choice, { path: "account_id" })],
    value: () => (choice.value ? Number(choice.value) : null),
  };
}
