// The request page: details, voice message, documents, notes, actions and history.

import { api } from "./api.js";
import { act, MOVES } from "./dialogs.js";
import { displayName, failed, h, main, statusBadge } from "./dom.js";
import { bothCalendars, gregorian, hijri, number, t } from "./i18n.js";
import { state } from "./state.js";

function detail(key, value) {
  return [h("dt", {}, t(key)), h("dd", { dataset: { field: key } }, value)];
}

async function revealNationalId(id) {
  try {
    const answer = await api("POST", `/requests/${id}/national-id/reveal`);
    state.revealed = { id, value: answer.national_id };
    document.getElementById("national-id").textContent = answer.national_id;
    document.getElementById("reveal-national-id")?.remove();
  } catch (problem) {
    failed(problem);
  }
}

function nationalIdField(id, casefile, actions) {
  const mayReveal = actions.has("reveal_national_id");
  const revealed = mayReveal && state.revealed && state.revealed.id === id ? state.revealed.value : null;
  const shown = h("span", { id: "national-id", dir: "ltr" }, revealed || casefile.national_id_masked || "—");
  const reveal =
    mayReveal && !revealed
      ? h(
          "button",
          { type: "button", id: "reveal-national-id", class: "small", onclick: () => revealNationalId(id) },
          t("reveal"),
        )
      : null;
  return [shown, " ", reveal];
}

function assignee(request) {
  if (request.assigned_to === null) return t("nobody");
  if (request.assigned_to === state.me.id) return state.me.username;
  return `#${number(request.assigned_to)}`;
}

function detailsList(request, nationalId) {
  return h(
    "dl",
    { class: "details" },
    detail("reference", request.reference_number),
    detail("status", statusBadge(request.status)),
    detail("channel", t(`channel_${request.channel}`)),
    detail("created", bothCalendars(request.created_at)),
    detail("national_id", nationalId),
    detail("callback_number", h("span", { dir: "ltr" }, request.callback_number || "—")),
    detail("category", t(`category_${request.category || "unknown"}`)),
    detail("official", displayName("official", request.target_official)),
    detail("meeting_mode", request.meeting_mode ? t(`mode_${request.meeting_mode}`) : "—"),
    detail("language", t(`lang_${request.language}`)),
    detail("assigned_to", assignee(request)),
    request.appointment
      ? detail(
          "appointment",
          `${bothCalendars(request.appointment.starts_at)} · ${request.appointment.meeting_link || displayName("branch", request.branch)}`,
        )
      : null,
  );
}

function voicePanel(request) {
  if (!request.has_voice_message) return null;
  return h(
    "section",
    { class: "panel" },
    h("h2", {}, t("voice_message")),
    h("audio", {
      id: "voice-message",
      controls: true,
      preload: "none",
      src: `/requests/${request.id}/voice-message`,
    }),
  );
}

function documentsPanel(id, files) {
  const item = (file) =>
    h(
      "li",
      {},
      h(
        "a",
        { href: `/requests/${id}/attachments/${file.id}`, target: "_blank", rel: "noopener" },
        `${file.kind} · ${gregorian(file.created_at)}`,
      ),
    );
  return h(
    "section",
    { class: "panel" },
    h("h2", {}, t("documents")),
    files.items.length
      ? h("ul", { class: "documents" }, files.items.map(item))
      : h("p", {}, t("no_documents")),
  );
}

function actionButtons(request, casefile) {
  return casefile.actions
    .filter((action) => MOVES[action])
    .map((action) =>
      h(
        "button",
        {
          type: "button",
          id: `action-${action}`,
          class: action === "reject" || action === "cancel" ? "danger" : "primary",
          onclick: () => act(request, action),
        },
        t(`action_${action}`),
      ),
    );
}

function historyList(casefile) {
  return h(
    "ol",
    { class: "history", id: "history" },
    casefile.history.map((entry) =>
      h(
        "li",
        { dataset: { source: entry.source } },
        h("time", { datetime: entry.at }, `${gregorian(entry.at)} · ${hijri(entry.at)}`),
        " ",
        h("strong", {}, entry.kind),
        entry.status ? [" ", h("span", { class: "tag" }, entry.status)] : null,
        entry.actor ? h("small", {}, ` ${entry.actor}`) : null,
        entry.details && entry.details.to ? h("small", { dir: "ltr" }, ` ${entry.details.to}`) : null,
      ),
    ),
  );
}

function noteForm(id) {
  const form = h(
    "form",
    { class: "note-form", id: "note-form" },
    h("label", { for: "note-text" }, t("note_text")),
    h("textarea", { id: "note-text", rows: 2, maxlength: 4000, required: true }),
    h("button", { type: "submit" }, t("add_note")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/requests/${id}/notes`, { text: form.querySelector("textarea").value });
      // Emptied on the page as it is now (a newer drawing may have replaced this form).
      const current = document.getElementById("note-text");
      if (current) current.value = "";
      showRequest(id);
    } catch (problem) {
      failed(problem);
    }
  });
  return form;
}

function notesPanel(id, notes, actions) {
  const list = h(
    "ul",
    { class: "notes", id: "notes" },
    notes.items.map((note) =>
      h("li", {}, h("time", { datetime: note.created_at }, gregorian(note.created_at)), " ", note.text),
    ),
  );
  return h(
    "section",
    { class: "panel" },
    h("h2", {}, t("notes")),
    list,
    actions.has("note") ? noteForm(id) : null,
  );
}

// A note being written survives the new drawing, with its cursor: read it before replacing.
function keepDraft(id, page) {
  const shown = main().querySelector(`#request[data-id="${id}"]`);
  const draft = shown ? shown.querySelector("#note-text") : null;
  const newDraft = page.querySelector("#note-text");
  if (draft && newDraft) newDraft.value = draft.value;
  const writing = draft !== null && newDraft !== null && document.activeElement === draft;
  const selection = writing ? [draft.selectionStart, draft.selectionEnd] : null;
  return { again: shown !== null, restore: () => writing && restoreDraft(newDraft, selection) };
}

function restoreDraft(field, selection) {
  field.focus({ preventScroll: true });
  field.setSelectionRange(...selection);
  return true;
}

function requestPage(found) {
  const { request, casefile, notes, files } = found;
  const id = request.id;
  const actions = new Set(casefile.actions);
  const buttons = actionButtons(request, casefile);
  return h(
    "article",
    { class: "request", id: "request", dataset: { id, status: request.status } },
    h(
      "header",
      {},
      h("a", { href: "#/work", class: "back" }, t("back")),
      h("h1", {}, `${t("reference")} ${request.reference_number}`),
      statusBadge(request.status),
    ),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        {},
        h("section", { class: "panel" }, detailsList(request, nationalIdField(id, casefile, actions))),
        voicePanel(request),
        documentsPanel(id, files),
        notesPanel(id, notes, actions),
      ),
      h(
        "div",
        {},
        h(
          "section",
          { class: "panel actions", id: "actions", "aria-label": t("actions") },
          h("h2", {}, t("actions")),
          buttons.length ? buttons : h("p", {}, "—"),
        ),
        h("section", { class: "panel" }, h("h2", {}, t("history")), historyList(casefile)),
      ),
    ),
  );
}

async function loadRequest(id) {
  const [request, casefile, notes, files] = await Promise.all([
    api("GET", `/requests/${id}`),
    api("GET", `/requests/${id}/casefile`),
    api("GET", `/requests/${id}/notes`),
    api("GET", `/requests/${id}/attachments`),
  ]);
  return { request, casefile, notes, files };
}

export async function showRequest(id) {
  const drawing = ++state.drawing;
  let found;
  try {
    found = await loadRequest(id);
  } catch (problem) {
    if (drawing === state.drawing) failed(problem);
    return;
  }
  // Another page, or a newer drawing of this one, was started while this one waited.
  if (drawing !== state.drawing) return;
  const page = requestPage(found);
  const kept = keepDraft(id, page);
  main().replaceChildren(page);
  state.refresh = (event) => {
    if (event && event.request_id === id) showRequest(id);
  };
  if (kept.restore()) return;
  if (kept.again) return; // the same request drawn again: the agent keeps their place
  main().focus({ preventScroll: true });
  window.scrollTo(0, 0);
}
