// The app frame: who is signed in, navigation, and the screen for the current path.
import "../components/rc-money.js";
import { api } from "./api.js";
import { h, problemBox } from "./dom.js";
import { realtime } from "./realtime.js";
import { mayBeSignedIn, refresh, signOut } from "./session.js";
import { accountScreen } from "./screens/account.js";
import { accountsScreen } from "./screens/accounts.js";
import { adminScreen } from "./screens/admin.js";
import { meScreen } from "./screens/me.js";
import { messagesScreen } from "./screens/messages.js";
import { queueScreen } from "./screens/queue.js";
import { reportsScreen } from "./screens/reports.js";
import { teamScreen } from "./screens/team.js";
import { templateScreen } from "./screens/template.js";
import { templatesScreen } from "./screens/templates.js";
import { wallboardScreen } from "./screens/wallboard.js";
import { webhooksScreen } from "./screens/webhooks.js";
import { webhookEndpointScreen } from "./screens/webhooks/endpoint.js";
import { workflowScreen } from "./screens/workflow.js";
import { runScreen, workflowRunsScreen } from "./screens/workflow-runs.js";
import { workflowsScreen } from "./screens/workflows.js";

const screen = document.querySelector("#screen");
const who = document.querySelector("#who");
let leaveScreen = null; // what the current screen does when it is left (unsubscribe, ...)
const routes = [
  [/^\/(accounts)?$/, "accounts", () => accountsScreen()],
  [/^\/accounts\/(\d+)$/, "accounts", (m) => accountScreen(Number(m[1]))],
  [/^\/queue$/, "queue", () => queueScreen()],
  [/^\/team$/, "team", () => teamScreen()],
  [/^\/admin(?:\/(users|groups|api-keys|settings|queues|rules|audit|imports|fields))?$/, "admin", (m) => adminScreen(m[1] || "users")],
  [/^\/admin\/rules\/new$/, "admin", () => adminScreen("rule", null)],
  [/^\/admin\/rules\/(\d+)$/, "admin", (m) => adminScreen("rule", Number(m[1]))],
  [/^\/admin\/imports\/(\d+)$/, "admin", (m) => adminScreen("import", Number(m[1]))],
  [/^\/me$/, "me", () => meScreen()],
  [/^\/wallboard$/, "wallboard", () => wallboardScreen()],
  [/^\/webhooks$/, "webhooks", () => webhooksScreen()],
  [/^\/webhooks\/(\d+)$/, "webhooks", (m) => webhookEndpointScreen(Number(m[1]))],
  [/^\/workflows$/, "workflows", () => workflowsScreen()],
  [/^\/workflows\/new$/, "workflows", () => workflowScreen(null)],
  [/^\/workflows\/(\d+)$/, "workflows", (m) => workflowScreen(Number(m[1]))],
  [/^\/workflows\/(\d+)\/runs$/, "workflows", (m) => workflowRunsScreen(Number(m[1]))],
  [/^\/workflows\/runs\/(\d+)$/, "workflows", (m) => runScreen(Number(m[1]))],
  [/^\/templates$/, "workflows", () => templatesScreen()],
  [/^\/templates\/new$/, "workflows", () => templateScreen(null)],
  [/^\/templates\/(\d+)$/, "workflows", (m) => templateScreen(Number(m[1]))],
  [/^\/messages$/, "workflows", () => messagesScreen()],
  [/^\/reports(?:\/(aging|liquidation|promises|collectors))?$/, "reports", (m) => reportsScreen(m[1] || "aging")],
];

// Where each role starts its day, reached at "/" (signing in lands there); the rest start
// on the accounts.
const HOME = { collector: "/queue", supervisor: "/wallboard" };

async function start() {
  try {
    if (!mayBeSignedIn()) throw new Error("not signed in");
    await refresh();
  } catch {
    location.replace(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    return;
  }
  let signingOut = false;  // our own sign-out ends the session too: it goes to /login plain
  addEventListener("recoup:session-ended", () => {
    if (signingOut) return;
    location.replace(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  });
  const me = await api("/users/me");
  document.body.dataset.role = me.role;
  document.body.dataset.userId = me.id;
  realtime.start();
  who.textContent = `${me.name} · ${me.role}`;
  if (location.pathname === "/" && HOME[me.role]) history.replaceState({}, "", HOME[me.role] + location.search);
  for (const link of document.querySelectorAll("#nav a[data-roles]")) {
    link.hidden = !link.dataset.roles.split(",").includes(me.role);
  }
  document.querySelector("#sign-out").addEventListener("click", async () => {
    signingOut = true;
    await signOut();
    location.replace("/login");
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='/']");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
    if (!routes.some(([pattern]) => pattern.test(new URL(link.href).pathname))) return;
    event.preventDefault();
    const home = new URL(link.href).pathname === "/" && HOME[me.role];
    history.pushState({}, "", home || link.href);
    show();
  });
  addEventListener("popstate", show);
  await show();
}

async function show() {
  const path = location.pathname;
  for (const [pattern, name, render] of routes) {
    const match = path.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll("#nav a")) {
      if (link.dataset.screen === name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (name === "me") who.setAttribute("aria-current", "page");
    else who.removeAttribute("aria-current");
    leaveScreen?.();
    leaveScreen = null;
    try {
      const shown = await render(match);
      if (shown instanceof Node) {
        screen.replaceChildren(shown);
      } else {
        screen.replaceChildren(shown.node);
        leaveScreen = shown.leave;
      }
    } catch (error) {
      screen.replaceChildren(problemBox(error));
    }
    screen.focus({ preventScroll: true });
    return;
  }
  screen.replaceChildren(h("p", {}, "Nothing here. ", h("a", { href: "/" }, "Back to accounts")));
}

start();
