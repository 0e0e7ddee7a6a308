// The screen-pop: a queue call connected to this agent; the caller's open requests or a form.

import { api } from "./api.js";
import { guarded } from "./dialogs.js";
import { failed, h, main } from "./dom.js";
import { language, t } from "./i18n.js";
import { state } from "./state.js";
import { requestRow } from "./worklist.js";

function openRequests(pop) {
  if (!pop.requests.length) return null;
  return h(
    "section",
    { class: "panel" },
    h("h2", {}, t("open_requests")),
    h("table", { class: "requests", id: "pop-requests" }, h("tbody", {}, pop.requests.map(requestRow))),
  );
}

function newRequestForm(pop) {
  const form = h(
    "form",
    { id: "new-request-form", class: "panel" },
    h("h2", {}, t("new_request_for")),
    h("label", { for: "new-mobile" }, t("mobile")),
    h("input", { id: "new-mobile", dir: "ltr", value: pop.caller_id, required: true }),
    h("label", { for: "new-national-id" }, t("national_id")),
    h("input", {
      id: "new-national-id",
      dir: "ltr",
      inputmode: "numeric",
      pattern: "[12][0-9]{9}",
      required: true,
    }),
    h("label", { for: "new-official" }, t("official")),
    h("input", { id: "new-official", maxlength: 64 }),
    h("button", { type: "submit", class: "primary" }, t("file_request")),
  );
  form.addEventListener(
    "submit",
    guarded(async () => {
      const body = {
        channel: "manual",
        mobile: form["new-mobile"].value.trim(),
        national_id: form["new-national-id"].value.trim(),
        language: language(),
      };
      const official = form["new-official"].value.trim();
      if (official) body.target_official = official;
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
