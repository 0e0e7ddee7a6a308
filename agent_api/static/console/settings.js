// The staff member's own settings: their softphone extension and whether they take queue calls
// (PATCH /auth/me). Staff who take no calls are not agents in the queue.

import { api } from "./api.js";
import { clearErrors, h, main, showError, toast } from "./dom.js";
import { t } from "./i18n.js";
import { loadPresence } from "./presence.js";
import { state } from "./state.js";

function settingsForm() {
  const me = state.me;
  return h(
    "form",
    { id: "settings-form", class: "panel settings" },
    h("label", { for: "my-extension" }, t("my_extension")),
    h("input", {
      id: "my-extension",
      name: "extension",
      dir: "ltr",
      value: me.extension || "",
      maxlength: 64,
      "aria-describedby": "my-extension-hint",
    }),
    h("p", { id: "my-extension-hint", class: "hint" }, t("my_extension_hint")),
    h(
      "label",
      { class: "choice" },
      h("input", { type: "checkbox", id: "takes-calls", name: "takes_calls", checked: me.takes_calls !== false }),
      t("takes_calls"),
    ),
    h("button", { type: "submit", class: "primary" }, t("save")),
  );
}

export function showSettings() {
  state.drawing += 1;
  const form = settingsForm();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { extension: form.extension.value.trim(), takes_calls: form.takes_calls.checked };
    try {
      const answer = await api("PATCH", "/auth/me", body);
      state.me = { ...state.me, ...answer.user };
      toast(t("saved"));
      loadPresence();
    } catch (problem) {
      showError(problem, form);
    }
  });
  main().replaceChildren(h("section", { class: "settings-page" }, h("h1", {}, t("my_settings")), form));
  form.extension.focus();
}
