// My availability: the assigner only pushes work to collectors who are available. It is
// saved as soon as it changes, without a pending state, since disabling the select would
// interrupt someone going through its options with the arrow keys.
import { api } from "../../api.js";
import { h, problemBox } from "../../dom.js";

export function availabilitySwitch(problem) {
  const select = h("select", { id: "my-status", "aria-label": "My availability" },
    [["available", "Available"], ["away", "Away"], ["offline", "Offline"]].map(([v, l]) => h("option", { value: v }, l)));
  select.addEventListener("change", async () => {
    version += 1;
    try {
      await api("/users/me", { method: "PATCH", body: { status: select.value } });
      // A refusal shown earlier no longer stands.
      problem.replaceChildren();
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    }
  });
  // A status read loses to any the channel brought, or I chose, while it was on its way: it
  // may have been read before this socket made me available, and answered after. It is read
  // again each time my channel is (re)joined, which is after the socket made me available.
  let version = 0;
  const reread = () => {
    const asked = version;
    api("/users/me").then((user) => { if (version === asked) select.value = user.status; }).catch(() => {});
  };
  reread();
  return {
    nodes: [h("label", { for: "my-status", class: "visually-hidden" }, "My availability"), select],
    show: (status) => { version += 1; select.value = status; },
    reread,
  };
}
