// Shared DOM helpers. Everything is built with DOM nodes (never HTML strings), so no API value
// can become markup.

import { ApiError } from "./api.js";
import { language, t } from "./i18n.js";
import { state } from "./state.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export const main = () => document.getElementById("main");

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    box.hidden = true;
  }, 5000);
}

// Set by the sign-in view: what an expired session leads to.
let onSignedOut = () => {};

export function whenSignedOut(handler) {
  onSignedOut = handler;
}

export function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    state.me = null;
    onSignedOut(t("signed_out"));
    return;
  }
  const message = error instanceof ApiError ? `${t("error")}: ${error.message}` : t("error");
  toast(message, "error");
}

export function statusBadge(status) {
  return h("span", { class: "status", "data-status": status }, t(`status_${status}`));
}

export function debounce(action, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, ms);
  };
}

// A branch's or an official's configured name in the console's language (the code if unknown).
export function displayName(kind, code) {
  if (!code) return "—";
  const names = state.names[kind][code];
  return names ? names[language()] : code;
}

// A row of toggle buttons (scopes, periods): the pressed one is the current value.
export function toggleGroup(names, current, idPrefix, choose) {
  return h(
    "div",
    { class: "tabs", role: "group" },
    names.map((name) =>
      h(
        "button",
        {
          type: "button",
          id: `${idPrefix}-${name}`,
          "aria-pressed": String(current === name),
          onclick: () => choose(name),
        },
        t(name),
      ),
    ),
  );
}
