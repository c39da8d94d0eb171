// My availability: the assigner only pushes work to collectors who are available. It is
// saved as soon as it changes, without a pending state, since disabling the select would
// interrupt someone going through its options with the arrow keys.
import { api } from "../../api.js";
import { h, problemBox } from "../../dom.js";

export function availabilitySwitch(problem) {
  const select = h("select", { id: "my-status", "aria-label": "My availability" },
    [["available", "Available"], ["away", "Away"], ["offline", "Offline"]].map(([v, l]) => h("option", { value: v }, l)));
  select.addEventListener("change", async () => {
    heard = true;
    try {
      await api("/users/me", { method: "PATCH", body: { status: select.value } });
      // A refusal shown earlier no longer stands.
      problem.replaceChildren();
    } catch (error) {
      problem.replaceChildren(problemBox(error));
    }
  });
  // The status read once at the start loses to any the channel brought meanwhile: it may
  // have been read before this socket made me available, and answered after.
  let heard = false;
  api("/users/me").then((user) => { if (!heard) select.value = user.status; }).catch(() => {});
  return {
    nodes: [h("label", { for: "my-status", class: "visually-hidden" }, "My availability"), select],
    show: (status) => { heard = true; select.value = status; },
  };
}
