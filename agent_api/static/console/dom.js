// Shared DOM helpers. Everything is built with DOM nodes (never HTML strings), so no API value
// can become markup.

import { ApiError } from "./api.js";
import { duration, gregorian, has, language, plural, t } from "./i18n.js";
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
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export const main = () => document.getElementById("main");

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  // Inside an open modal dialog, or the dialog's backdrop would cover it.
  const dialog = document.getElementById("dialog");
  const home = dialog.open ? dialog : document.body;
  if (box.parentElement !== home) home.append(box);
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
  toast(errorText(error), "error");
}

const VERIFICATION_REASONS = new Set(["wrong", "expired", "pending"]);

function verificationText(details) {
  const reason = VERIFICATION_REASONS.has(details.reason) ? details.reason : "none";
  const text = t(`err_verification-failed_${reason}`);
  return reason === "wrong" ? `${text}: ${plural("attempts_left", details.attempts_left || 0)}` : text;
}

function invalidText(details) {
  if (has(`err_field_${details.field}`)) return t(`err_field_${details.field}`);
  const label = has(details.field) ? `${t(details.field)}: ` : "";
  return `${label}${t("err_invalid-input")}`;
}

// The words for an API error in the user's language, from its stable id and details (the
// API's own message stays English, for API clients).
export function errorText(problem) {
  if (!(problem instanceof ApiError)) return t("error");
  const details = problem.details || {};
  switch (problem.id) {
    case "verification-failed":
      return verificationText(details);
    case "invalid-input":
      return invalidText(details);
    case "too-many-attempts":
      return details.retry_after_s
        ? t("err_too-many-attempts", { wait: duration(details.retry_after_s) })
        : t("err_too-many-attempts_code");
    case "illegal-transition":
      return t("err_illegal-transition", { current: t(`status_${details.current}`) });
    case "appointment_not_started":
      return t("err_appointment_not_started", {
        start: details.starts_at ? gregorian(details.starts_at) : "—",
      });
    default:
      break;
  }
  if (details.reason && has(`err_${problem.id}_${details.reason}`)) {
    return t(`err_${problem.id}_${details.reason}`);
  }
  return has(`err_${problem.id}`) ? t(`err_${problem.id}`) : t("error");
}

// Forget the errors shown in a form or panel (before it is sent again).
export function clearErrors(container) {
  for (const shown of container.querySelectorAll(".field-error, .form-error")) shown.remove();
  for (const field of container.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
    const before = field.dataset.describedby;
    if (before) field.setAttribute("aria-describedby", before);
    else field.removeAttribute("aria-describedby");
  }
}

function fieldOf(container, name) {
  if (!name) return null;
  return container.querySelector(`[name="${CSS.escape(name)}"], [data-field="${CSS.escape(name)}"]`);
}

// An API error shown where it belongs: next to the field it is about (described by it and
// focused), else on the form's or panel's own error line next to `near` (e.g. the button
// pressed). A 401 signs out. Options: field, the field to blame when the API names none;
// clear, empty that field (a wrong code is typed again, not corrected).
export function showError(problem, container, { field, near, clear = false } = {}) {
  if (problem instanceof ApiError && problem.status === 401 && problem.id !== "unauthenticated") {
    failed(problem);
    return;
  }
  clearErrors(container);
  const details = (problem instanceof ApiError && problem.details) || {};
  const target = fieldOf(container, details.field) || fieldOf(container, field);
  const line = h("p", { class: target ? "field-error" : "form-error", role: "alert" }, errorText(problem));
  if (!target) {
    line.id = `${container.id || "page"}-error`;
    (near || container.lastElementChild || container).after(line);
    if (near) near.setAttribute("aria-describedby", line.id);
    if (near) near.focus();
    return;
  }
  line.id = `${target.id || target.name}-error`;
  (target.type === "radio" || target.type === "checkbox" ? target.closest("fieldset, label") : target).after(line);
  target.setAttribute("aria-invalid", "true");
  // Kept with the field's own hint, if it has one.
  const hint = target.getAttribute("aria-describedby") || "";
  target.dataset.describedby = hint;
  target.setAttribute("aria-describedby", `${hint} ${line.id}`.trim());
  if (clear) target.value = "";
  target.focus();
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
