// Signing in and out, and what starts once a user is known.

import { api, setCsrf } from "./api.js";
import { displayName, errorText, h, main, whenSignedOut } from "./dom.js";
import { language, setLanguage, t, translateStatic } from "./i18n.js";
import { renderPhone, startPhone, stopPhone } from "./phone/phone.js";
import { closeStream, loadPresence, openStream, renderPresence } from "./presence.js";
import { route } from "./router.js";
import { landingScope } from "./worklist.js";
import { state } from "./state.js";

function signInForm(error) {
  return h(
    "form",
    { class: "sign-in", id: "sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, t("brand")),
    h("p", { class: "tagline" }, t("tagline")),
    h("label", { for: "username" }, t("username")),
    h("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    h("label", { for: "password" }, t("password")),
    h("input", {
      id: "password",
      name: "password",
      type: "password",
      autocomplete: "current-password",
      required: true,
    }),
    error,
    h("button", { type: "submit", class: "primary" }, t("sign_in")),
    h(
      "button",
      { type: "button", class: "link", onclick: () => switchLanguage() },
      t("switch_language"),
    ),
  );
}

export function showSignIn(message = "") {
  state.drawing += 1;
  closeStream();
  stopPhone();
  document.getElementById("bar").hidden = true;
  const error = h("p", { class: "error", role: "alert", id: "sign-in-error" }, message);
  const form = signInForm(error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await api("POST", "/auth/login", {
        username: form.username.value,
        password: form.password.value,
      });
      setCsrf(answer.csrf_token);
      await start(answer.user);
    } catch (problem) {
      error.textContent = errorText(problem);
      form.password.value = "";
      form.password.focus();
    }
  });
  main().replaceChildren(form);
  form.username.focus();
}

whenSignedOut(showSignIn);

export async function start(user) {
  state.me = user;
  state.staff = null;
  document.getElementById("bar").hidden = false;
  const [names, me] = await Promise.all([
    api("GET", "/display-names").catch(() => state.names),
    api("GET", "/auth/me").catch(() => ({})),
  ]);
  state.names = names;
  // Each role lands on its own work: a supervisor on what awaits a decision, an agent on new work.
  landingScope(me.views, me.default_view);
  if (me.user) state.me = me.user;
  document.getElementById("who").textContent = `${user.username} · ${displayName("branch", user.branch)}`;
  document.getElementById("nav-supervisor").hidden = user.role === "agent";
  openStream();
  loadPresence();
  startPhone(state.me);
  if (!location.hash || location.hash === "#/") location.hash = "#/work";
  else route();
}

export function switchLanguage() {
  setLanguage(language() === "ar" ? "en" : "ar");
  translateStatic();
  renderPresence();
  renderPhone();
  if (state.me) route();
  else showSignIn();
}
