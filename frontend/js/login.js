import { ProblemError, SIGNED_OUT_NOTE, mayBeSignedIn, refresh, signIn } from "./session.js";

const form = document.querySelector("#login-form");
const problem = document.querySelector("#login-problem");
const note = document.querySelector("#login-note");
const button = form.querySelector("button[type=submit]");

// Already signed in (a valid session cookie)? Go straight to the app.
if (mayBeSignedIn()) refresh().then(() => location.replace(next()), () => {});

// Signed out on purpose a moment ago (a new password, signing out everywhere): said once.
const why = sessionStorage.getItem(SIGNED_OUT_NOTE);
if (why) {
  sessionStorage.removeItem(SIGNED_OUT_NOTE);
  note.textContent = why;
  note.hidden = false;
}

function next() {
  const target = new URLSearchParams(location.search).get("next") || "/";
  return target.startsWith("/") && !target.startsWith("//") ? target : "/";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  problem.hidden = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = "Signing in…";
  try {
    await signIn(form.email.value, form.password.value);
    location.replace(next());
  } catch (error) {
    problem.textContent = error instanceof ProblemError ? error.message : "Recoup cannot be reached; try again.";
    problem.hidden = false;
    note.hidden = true;
    form.password.select();
  } finally {
    button.removeAttribute("aria-busy");
    button.textContent = "Sign in";
  }
});
