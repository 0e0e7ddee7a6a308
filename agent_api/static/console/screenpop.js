// The screen-pop: a queue call connected to this agent; the caller's open requests or a form.

import { api } from "./api.js";
import { guarded } from "./dialogs.js";
import { failed, h, main } from "./dom.js";
import { t } from "./i18n.js";
import { CATEGORIES, state } from "./state.js";
import { requestRow, requestsTable } from "./worklist.js";

function openRequests(pop) {
  if (!pop.requests.length) return null;
  return h(
    "section",
    { class: "panel" },
    h("h2", {}, t("open_requests")),
    requestsTable(h("tbody", {}, pop.requests.map(requestRow)), "pop-requests"),
  );
}

function choice(id, name, label, values, prefix, selected) {
  return [
    h("label", { for: id }, t(label)),
    h(
      "select",
      { id, name },
      values.map((value) => h("option", { value, selected: value === selected }, t(`${prefix}_${value}`))),
    ),
  ];
}

function newRequestFields(pop) {
  return [
    h("label", { for: "new-mobile" }, t("mobile")),
    h("input", { id: "new-mobile", name: "mobile", dir: "ltr", value: pop.caller_id, required: true }),
    h("label", { for: "new-national-id" }, t("national_id")),
    h("input", {
      id: "new-national-id",
      name: "national_id",
      dir: "ltr",
      inputmode: "numeric",
      required: true,
    }),
    // The caller's language, not the agent's: the SMS and the IVR speak it.
    choice("new-language", "language", "language", ["ar", "en"], "lang", pop.caller_language || "ar"),
    choice("new-category", "category", "category", CATEGORIES, "category", null),
    choice("new-meeting-mode", "meeting_mode", "meeting_mode", ["in_person", "video"], "mode", null),
    h("label", { for: "new-official" }, t("official")),
    h("input", { id: "new-official", name: "target_official", maxlength: 64 }),
  ];
}

// A phone caller's new request: filed as a phone request linked to this call.
function newRequestForm(pop) {
  const form = h(
    "form",
    { id: "new-request-form", class: "panel" },
    h("h2", {}, t("new_request_for")),
    newRequestFields(pop),
    h("button", { type: "submit", class: "primary" }, t("file_request")),
  );
  form.addEventListener(
    "submit",
    guarded(form, async () => {
      const value = (name) => form.elements.namedItem(name).value.trim();
      const body = {
        channel: "phone",
        screen_pop_id: pop.id,
        mobile: value("mobile"),
        national_id: value("national_id"),
        language: value("language"),
        category: value("category"),
        meeting_mode: value("meeting_mode"),
      };
      if (value("target_official")) body.target_official = value("target_official");
      const created = await api("POST", "/requests", body);
      location.hash = `#/request/${created.id}`;
    }),
  );
  return form;
}

export async function showScreenPop(popId) {
  const drawing = ++state.drawing;
  let pop;
  try {
    pop = await api("GET", `/agent/screen-pops/${encodeURIComponent(popId)}`);
  } catch (problem) {
    if (drawing === state.drawing) failed(problem);
    return;
  }
  if (drawing !== state.drawing) return;
  const found = openRequests(pop);
  main().replaceChildren(
    h(
      "section",
      { class: "screen-pop", id: "screen-pop", "aria-live": "assertive" },
      h("h1", {}, t("screen_pop")),
      h(
        "p",
        { class: "caller" },
        `${t("caller")}: `,
        h("span", { dir: "ltr", id: "pop-caller" }, pop.caller_id_masked || "—"),
      ),
      found,
      found ? null : newRequestForm(pop),
    ),
  );
  main().focus({ preventScroll: true });
  window.scrollTo(0, 0);
}
