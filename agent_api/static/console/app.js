// The console's entry point: wires the header and starts on the signed-in user or the sign-in.
// The views live in their own modules (sign-in, presence, work list, request page, screen-pop,
// supervisor); router.js picks one from the address.

import { api, ApiError, setCsrf } from "./api.js";
import { failed } from "./dom.js";
import { language, setLanguage, translateStatic } from "./i18n.js";
import { helpSheet, listenForKeys } from "./keys.js";
import { changePresence, renderPresence } from "./presence.js";
import { route } from "./router.js";
import { showSignIn, start, switchLanguage } from "./signin.js";
import { state } from "./state.js";

async function signOut() {
  try {
    await api("POST", "/auth/logout");
  } catch (problem) {
    // Signing out of a session that already ended is not an error worth showing.
    if (!(problem instanceof ApiError && problem.status === 401)) failed(problem);
  }
  state.me = null;
  setCsrf("");
  showSignIn();
}

// The skip link: to the first request of a list (two key presses from the top), else to the
// page's content. Its own handler, since a "#main" address would be read as a route.
function skipToWork(event) {
  event.preventDefault();
  const first = document.querySelector("#requests a.reference, #pop-requests a.reference");
  if (first) first.focus();
  else document.getElementById("main").focus();
}

function wire() {
  document.querySelector("a.skip").addEventListener("click", skipToWork);
  document.getElementById("switch-language").addEventListener("click", switchLanguage);
  document.getElementById("sign-out").addEventListener("click", signOut);
  document.getElementById("go-ready").addEventListener("click", () => changePresence("ready"));
  document.getElementById("go-pause").addEventListener("click", () => changePresence("paused"));
  document.getElementById("go-logout").addEventListener("click", () => changePresence("logged_out"));
  document.getElementById("show-help").addEventListener("click", helpSheet);
  window.addEventListener("hashchange", route);
  listenForKeys();
  setInterval(renderPresence, 1000);
}

async function boot() {
  setLanguage(language());
  translateStatic();
  wire();
  if (document.body.dataset.signedIn !== "true") {
    showSignIn();
    return;
  }
  try {
    const answer = await api("GET", "/auth/me");
    setCsrf(answer.csrf_token);
    await start(answer.user);
  } catch (problem) {
    if (problem instanceof ApiError && problem.status === 401) showSignIn();
    else failed(problem);
  }
}

boot();
