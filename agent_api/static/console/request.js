// The request page: details, voice message, documents, notes, actions and history.

import { api } from "./api.js";
import { act, MOVES } from "./dialogs.js";
import { displayName, failed, h, main, statusBadge } from "./dom.js";
import { bothCalendars, clock, gregorian, has, hijri, number, t } from "./i18n.js";
import { branchStaff, state } from "./state.js";

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

function assignee(request, staff) {
  if (request.assigned_to === null) return t("nobody");
  if (request.assigned_to === state.me.id) return state.me.username;
  const member = staff.find((item) => item.id === request.assigned_to);
  return member ? member.name : `#${number(request.assigned_to)}`;
}

function detailsList(request, nationalId, staff) {
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
    detail("assigned_to", h("bdi", {}, assignee(request, staff))),
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

// The request's text messages: what each is, its priority, and "held until ..." while the
// per-number limit holds it.
function smsItem(sms) {
  const stage = has(`sms_${sms.stage}`) ? t(`sms_${sms.stage}`) : sms.stage;
  const status = sms.held_until
    ? t("held_until", { time: `${clock(sms.held_until)} (${gregorian(sms.held_until, false)})` })
    : has(`sms_status_${sms.status}`)
      ? t(`sms_status_${sms.status}`)
      : sms.status;
  return h(
    "li",
    { dataset: { stage: sms.stage, held: sms.held_until ? "true" : "false" } },
    h("strong", {}, stage),
    " · ",
    h("span", { class: "sms-status" }, status),
    sms.priority !== "normal" ? [" · ", h("span", { class: "tag" }, t(`priority_${sms.priority}`))] : null,
  );
}

function smsPanel(request) {
  if (!request.sms || !request.sms.length) return null;
  return h(
    "section",
    { class: "panel", id: "sms" },
    h("h2", {}, t("text_messages")),
    h("ul", { class: "sms-list" }, request.sms.map(smsItem)),
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

// The request's allowed_actions (API names) as the page's buttons; verifying opens one dialog
// (send a code, check it, or in person). Older servers give only the casefile's actions.
const BUTTON_OF = {
  send_code: "verify",
  check_code: "verify",
  verify_in_person: "verify",
  call_back: "call",
};

function pageActions(request, casefile) {
  if (!request.allowed_actions) return casefile.actions.filter((action) => MOVES[action]);
  const wanted = new Set(request.allowed_actions.map((action) => BUTTON_OF[action] || action));
  return Object.keys(MOVES).filter((action) => wanted.has(action));
}

function actionButtons(request, casefile) {
  const overrides = new Set(request.override_actions || []);
  return pageActions(request, casefile).map((action) => {
    const button = h(
      "button",
      {
        type: "button",
        id: `action-${action}`,
        class: action === "reject" || action === "cancel" ? "danger" : "primary",
        dataset: { override: overrides.has(action) ? "true" : null },
      },
      t(`action_${action}`),
    );
    button.addEventListener("click", () => act(request, action, button));
    return button;
  });
}

// Who did it, in words: a person by name, or a named part of the system.
function actorName(actor) {
  if (!actor) return null;
  if (typeof actor === "string") return actor; // an older server's "user:1"
  if (actor.name) return actor.name;
  return has(`actor_${actor.system}`) ? t(`actor_${actor.system}`) : actor.system;
}

function entryWords(entry) {
  if (entry.source === "sms") {
    return has(`sms_${entry.kind}`) ? t(`sms_${entry.kind}`) : t("event_sms");
  }
  return has(`event_${entry.kind}`) ? t(`event_${entry.kind}`) : entry.kind;
}

function entryStatus(entry) {
  const details = entry.details || {};
  if (entry.source === "sms" && details.held_until) {
    return t("held_until", { time: clock(details.held_until) });
  }
  const key = {
    sms: `sms_status_${entry.status}`,
    call: `outcome_${entry.status}`,
    click_to_call: `call_status_${entry.status}`,
  }[entry.source] || `status_${entry.status}`;
  return has(key) ? t(key) : null;
}

function historyEntry(entry) {
  const who = actorName(entry.actor);
  const status = entry.status ? entryStatus(entry) : null;
  return h(
    "li",
    { dataset: { source: entry.source, kind: entry.kind } },
    h("time", { datetime: entry.at }, `${gregorian(entry.at)} · ${hijri(entry.at)}`),
    " ",
    h("strong", {}, entryWords(entry)),
    status ? [" ", h("span", { class: "tag" }, status)] : null,
    who ? h("span", { class: "actor" }, ` · ${t("history_by")} `, h("bdi", {}, who)) : null,
    entry.details && entry.details.to_user && entry.details.to_user.name
      ? [" → ", h("bdi", {}, entry.details.to_user.name)]
      : null,
    entry.note ? h("q", { class: "note-text" }, entry.note.text) : null,
    entry.details && entry.details.to ? [" ", h("bdi", { dir: "ltr" }, entry.details.to)] : null,
  );
}

// Newest first, whatever order the server sent.
function historyList(entries) {
  const sorted = [...entries].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  return h("ol", { class: "history", id: "history" }, sorted.map(historyEntry));
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

// Each note with its author (names come with the history's note entries).
function noteItem(note, authors) {
  const author = authors.get(note.id) || (note.author_id ? `#${number(note.author_id)}` : null);
  return h(
    "li",
    {},
    h("time", { datetime: note.created_at }, gregorian(note.created_at)),
    author ? h("span", { class: "actor" }, ` · ${t("note_by")} `, h("bdi", {}, author)) : null,
    " ",
    h("span", { class: "note-text" }, note.text),
  );
}

function notesPanel(id, notes, actions, history) {
  const authors = new Map(
    history.filter((entry) => entry.note && entry.note.author).map((entry) => [entry.note.id, entry.note.author.name]),
  );
  const newest = [...notes.items].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  const list = h("ul", { class: "notes", id: "notes" }, newest.map((note) => noteItem(note, authors)));
  return h(
    "section",
    { class: "panel" },
    h("h2", {}, t("notes")),
    actions.has("note") ? noteForm(id) : null,
    list,
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
  const { request, casefile, notes, files, history } = found;
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
        h("section", { class: "panel" }, detailsList(request, nationalIdField(id, casefile, actions), found.staff)),
        voicePanel(request),
        smsPanel(request),
        documentsPanel(id, files),
        notesPanel(id, notes, actions, history),
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
        h("section", { class: "panel" }, h("h2", {}, t("history")), historyList(history)),
      ),
    ),
  );
}

async function loadRequest(id) {
  const [request, casefile, notes, files, worded] = await Promise.all([
    api("GET", `/requests/${id}`),
    api("GET", `/requests/${id}/casefile`),
    api("GET", `/requests/${id}/notes`),
    api("GET", `/requests/${id}/attachments`),
    api("GET", `/requests/${id}/history`).catch(() => null),
  ]);
  const staff = request.assigned_to === null ? [] : await branchStaff();
  // The history in words (names, notes with authors); the casefile's raw one on older servers.
  const history = worded ? worded.items : casefile.history;
  return { request, casefile, notes, files, history, staff };
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
  if (state.claimOnOpen === id) {
    state.claimOnOpen = null; // "c" pressed on the list: claim once the page is there
    document.getElementById("action-claim")?.click();
    return;
  }
  if (kept.restore()) return;
  if (kept.again) return; // the same request drawn again: the agent keeps their place
  main().focus({ preventScroll: true });
  window.scrollTo(0, 0);
}
