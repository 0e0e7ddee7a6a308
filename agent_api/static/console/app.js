// The console: sign-in, presence, work list, request page, screen-pop and supervisor view.
// Everything is built with DOM nodes (never HTML strings), so no API value can become markup.

import { api, ApiError, query, setCsrf } from "./api.js";
import { barChart, columnChart } from "./charts.js";
import { callIdentified, expectCall, renderPhone, startPhone, stopPhone } from "./phone/phone.js";
import {
  bothCalendars,
  duration,
  gregorian,
  hijri,
  language,
  number,
  percent,
  setLanguage,
  t,
  translateStatic,
} from "./i18n.js";

const STATUSES = [
  "received",
  "in_review",
  "identity_verified",
  "approved",
  "rejected",
  "scheduled",
  "completed",
  "no_show",
  "cancelled",
];
const CHANNELS = ["phone", "fax", "telegram", "manual", "portal"];
const CATEGORIES = ["man", "woman", "company"];
const PAGE_SIZE = 25;

const state = {
  me: null,
  presence: null,
  stream: null,
  list: { scope: "mine", status: "", channel: "", search: "" },
  refresh: null,
  supervisorPeriod: "today",
  // Each page drawn counts here; a page that waited for the server draws only if no other was
  // started meanwhile (the request page is drawn again whenever the stream says the request
  // changed, and the agent may have gone elsewhere while it loaded).
  drawing: 0,
  // What the agent revealed on the request page stays revealed for the visit.
  revealed: null,
  // Display names of branches and officials in both languages (GET /display-names).
  names: { branch: {}, official: {} },
};

// -- helpers ----------------------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
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

const main = () => document.getElementById("main");

function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    box.hidden = true;
  }, 5000);
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    state.me = null;
    showSignIn(t("signed_out"));
    return;
  }
  const message = error instanceof ApiError ? `${t("error")}: ${error.message}` : t("error");
  toast(message, "error");
}

function statusBadge(status) {
  return h("span", { class: "status", "data-status": status }, t(`status_${status}`));
}

function debounce(action, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, ms);
  };
}

// -- sign-in ---------------------------------------------------------------------------------

function showSignIn(message = "") {
  state.drawing += 1;
  closeStream();
  document.getElementById("bar").hidden = true;
  const error = h("p", { class: "error", role: "alert", id: "sign-in-error" }, message);
  const form = h(
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
      error.textContent = problem instanceof ApiError ? problem.message : t("error");
      form.password.value = "";
      form.password.focus();
    }
  });
  main().replaceChildren(form);
  form.username.focus();
}

// A branch's or an official's configured name in the console's language (the code if unknown).
function displayName(kind, code) {
  if (!code) return "—";
  const names = state.names[kind][code];
  return names ? names[language()] : code;
}

async function start(user) {
  state.me = user;
  document.getElementById("bar").hidden = false;
  state.names = await api("GET", "/display-names").catch(() => state.names);
  document.getElementById("who").textContent = `${user.username} · ${displayName("branch", user.branch)}`;
  document.getElementById("nav-supervisor").hidden = user.role === "agent";
  openStream();
  loadPresence();
  startPhone();
  if (!location.hash || location.hash === "#/") location.hash = "#/work";
  else route();
}

function switchLanguage() {
  setLanguage(language() === "ar" ? "en" : "ar");
  translateStatic();
  renderPresence();
  renderPhone();
  if (state.me) route();
  else showSignIn();
}

// -- presence --------------------------------------------------------------------------------

async function loadPresence() {
  try {
    state.presence = await api("GET", "/agent/state");
  } catch (problem) {
    state.presence = { state: "unknown", unavailable: true, detail: problem.message };
  }
  renderPresence();
}

async function changePresence(wanted) {
  const body = { state: wanted };
  if (wanted === "paused") body.reason = document.getElementById("pause-reason").value;
  try {
    state.presence = await api("PUT", "/agent/state", body);
    renderPresence();
  } catch (problem) {
    failed(problem);
  }
}

function renderPresence() {
  const presence = state.presence;
  const badge = document.getElementById("presence-state");
  const since = document.getElementById("presence-since");
  if (!presence) return;
  badge.dataset.state = presence.state;
  let label = t(`state_${presence.state}`);
  if (presence.unavailable || presence.telephony === false) label = t("telephony_off");
  if (presence.state === "paused" && presence.reason) label += ` · ${t(`reason_${presence.reason}`)}`;
  badge.textContent = label;
  badge.title = presence.detail || "";
  since.textContent = presence.since
    ? `${t("in_state_for")} ${duration((Date.now() - Date.parse(presence.since)) / 1000)}`
    : "";
  document.getElementById("go-ready").disabled = presence.state === "ready";
  document.getElementById("go-logout").disabled = presence.state === "logged_out";
}

// -- live events -------------------------------------------------------------------------------

function openStream() {
  closeStream();
  const source = new EventSource("/agent/stream");
  source.addEventListener("request_filed", (event) => {
    const data = JSON.parse(event.data);
    toast(`${t("new_request_arrived")} · ${t(`status_${data.status}`)}`);
    if (state.refresh) state.refresh(data);
  });
  source.addEventListener("request_changed", (event) => {
    if (state.refresh) state.refresh(JSON.parse(event.data));
  });
  source.addEventListener("presence", () => loadPresence());
  source.addEventListener("queue", (event) => {
    if (state.refresh) state.refresh(JSON.parse(event.data));
  });
  source.addEventListener("screen_pop", (event) => {
    const data = JSON.parse(event.data);
    callIdentified(data.call);
    location.hash = `#/pop/${encodeURIComponent(data.pop_id)}`;
  });
  state.stream = source;
}

function closeStream() {
  if (state.stream) state.stream.close();
  state.stream = null;
}

// -- router ----------------------------------------------------------------------------------

function route() {
  if (!state.me) return;
  state.refresh = null;
  state.revealed = null;
  const hash = location.hash || "#/work";
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", hash.startsWith(link.getAttribute("href")));
  }
  let match;
  if ((match = hash.match(/^#\/request\/(\d+)$/))) showRequest(Number(match[1]));
  else if ((match = hash.match(/^#\/pop\/([A-Za-z0-9_-]+)$/))) showScreenPop(match[1]);
  else if (hash === "#/supervisor" && state.me.role !== "agent") showSupervisor();
  else showWorkList();
}

// -- work list -------------------------------------------------------------------------------

// What is pasted around a number: spaces, dashes, dots, brackets, slashes, direction marks.
const NUMBER_SEPARATORS = /[\s\p{Pd}\p{Cf}.()\/]/gu;

// The search box routed by what was typed (digits of any script): the last 3 or 4 digits of a
// number, a whole mobile or national ID (10 digits or more, or international), or else a
// reference number (9 digits). The server normalises each; this only picks the field.
function searchTerms(text) {
  const compact = text.replace(NUMBER_SEPARATORS, "");
  if (/^\p{Nd}{3,4}$/u.test(compact)) return { phone_last: compact };
  if (/^\+?\p{Nd}{10,}$/u.test(compact)) return { number: text };
  return { reference_number: text };
}

function listFilters() {
  const list = state.list;
  const params = { channel: list.channel };
  if (list.scope === "mine") params.mine = "true";
  if (list.scope === "unclaimed") params.status = "received";
  if (list.search) Object.assign(params, searchTerms(list.search));
  return params;
}

// A whole number never travels in a URL (proxies and access logs keep URLs): it is sent in
// the body of POST /requests/search, which answers the page and the counts together.
function searchBody(params) {
  const given = ([, value]) => value !== undefined && value !== null && value !== "";
  return Object.fromEntries(Object.entries(params).filter(given));
}

async function showWorkList() {
  state.drawing += 1;
  const list = state.list;
  const counts = h("div", { class: "counts", role: "group", "aria-label": t("status") });
  const rows = h("tbody");
  const more = h("button", { type: "button", class: "more", hidden: true }, t("more"));
  const scopes = h(
    "div",
    { class: "tabs", role: "group" },
    ["mine", "unclaimed", "all_branch"].map((scope) =>
      h(
        "button",
        {
          type: "button",
          "aria-pressed": String(list.scope === scope),
          id: `scope-${scope}`,
          onclick: () => {
            list.scope = scope;
            list.status = "";
            showWorkList();
          },
        },
        t(scope),
      ),
    ),
  );
  const statusSelect = h(
    "select",
    { id: "filter-status", "aria-label": t("status") },
    h("option", { value: "" }, t("any_status")),
    STATUSES.map((status) =>
      h("option", { value: status, selected: list.status === status }, t(`status_${status}`)),
    ),
  );
  const channelSelect = h(
    "select",
    { id: "filter-channel", "aria-label": t("channel") },
    h("option", { value: "" }, t("any_channel")),
    CHANNELS.map((channel) =>
      h("option", { value: channel, selected: list.channel === channel }, t(`channel_${channel}`)),
    ),
  );
  const searchBox = h("input", {
    id: "search",
    type: "search",
    value: list.search,
    placeholder: t("search_hint"),
    "aria-label": t("search_hint"),
    maxlength: 64,
  });
  const filters = h(
    "form",
    { class: "filters", role: "search" },
    scopes,
    statusSelect,
    channelSelect,
    searchBox,
    h("button", { type: "submit" }, t("search")),
  );
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    list.search = searchBox.value.trim();
    load();
  });
  statusSelect.addEventListener("change", () => {
    list.status = statusSelect.value;
    load();
  });
  channelSelect.addEventListener("change", () => {
    list.channel = channelSelect.value;
    load();
  });
  const table = h(
    "table",
    { class: "requests", id: "requests" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["reference", "status", "channel", "category", "created", "official", "callback_number"].map(
          (key) => h("th", { scope: "col" }, t(key)),
        ),
      ),
    ),
    rows,
  );
  main().replaceChildren(
    h("section", { class: "work" }, h("h1", {}, t("work_list")), filters, counts, table, more),
  );

  let cursor = null;
  async function page(append) {
    const params = { ...listFilters(), limit: PAGE_SIZE, cursor: append ? cursor : null };
    if (list.status && list.scope !== "unclaimed") params.status = list.status;
    const answer = params.number
      ? await api("POST", "/requests/search", searchBody(params))
      : await api("GET", `/requests${query(params)}`);
    if (answer.counts) showCounts(answer.counts);
    if (!append) rows.replaceChildren();
    for (const item of answer.items) rows.append(requestRow(item));
    if (!rows.children.length) {
      rows.append(h("tr", {}, h("td", { colspan: 7, class: "empty" }, t("none_found"))));
    }
    cursor = answer.next_cursor;
    more.hidden = !cursor;
  }
  async function loadCounts() {
    const params = listFilters();
    if (params.number) return; // the search's own answer brings them (see page)
    delete params.status;
    const answer = await api("GET", `/requests/counts${query(params)}`);
    showCounts(answer.counts);
  }
  function showCounts(found) {
    counts.replaceChildren(
      ...STATUSES.map((status) =>
        h(
          "button",
          {
            type: "button",
            class: "count",
            "aria-pressed": String(list.status === status),
            dataset: { status },
            onclick: () => {
              list.status = list.status === status ? "" : status;
              if (list.scope === "unclaimed") list.scope = "all_branch";
              showWorkList();
            },
          },
          h("span", { class: "label" }, t(`status_${status}`)),
          h("span", { class: "value" }, number(found[status])),
        ),
      ),
    );
  }
  async function load() {
    try {
      await Promise.all([page(false), loadCounts()]);
    } catch (problem) {
      failed(problem);
    }
  }
  more.addEventListener("click", () => page(true).catch(failed));
  state.refresh = debounce(load, 300);
  await load();
}

function requestRow(item) {
  return h(
    "tr",
    { dataset: { id: item.id, status: item.status } },
    h(
      "td",
      {},
      h("a", { href: `#/request/${item.id}`, class: "reference" }, item.reference_number),
      item.is_partial ? h("span", { class: "partial" }, ` (${t("partial")})`) : null,
    ),
    h("td", {}, statusBadge(item.status)),
    h("td", {}, t(`channel_${item.channel}`)),
    h("td", {}, t(`category_${item.category || "unknown"}`)),
    h(
      "td",
      {},
      h("time", { datetime: item.created_at.utc }, gregorian(item.created_at.utc)),
      h("br"),
      h("small", {}, item.created_at.hijri ? item.created_at.hijri[language()] : ""),
    ),
    h("td", {}, displayName("official", item.target_official)),
    h("td", { class: "number", dir: "ltr" }, item.callback_number || "—"),
  );
}

// -- request page ----------------------------------------------------------------------------

const MOVES = {
  claim: { dialog: "category" },
  release: { path: "release" },
  verify: { dialog: "verify" },
  approve: { path: "approve" },
  reject: { dialog: "reason", path: "reject", required: true },
  schedule: { dialog: "slot" },
  complete: { path: "complete" },
  no_show: { path: "no-show" },
  cancel: { dialog: "reason", path: "cancel", required: false },
  reassign: { dialog: "reassign" },
  call: { call: true },
};

async function showRequest(id) {
  const drawing = ++state.drawing;
  let request;
  let casefile;
  let notes;
  let files;
  try {
    [request, casefile, notes, files] = await Promise.all([
      api("GET", `/requests/${id}`),
      api("GET", `/requests/${id}/casefile`),
      api("GET", `/requests/${id}/notes`),
      api("GET", `/requests/${id}/attachments`),
    ]);
  } catch (problem) {
    if (drawing === state.drawing) failed(problem);
    return;
  }
  // Another page, or a newer drawing of this one, was started while this one waited.
  if (drawing !== state.drawing) return;
  const actions = new Set(casefile.actions);
  const mayReveal = actions.has("reveal_national_id");
  const revealed = mayReveal && state.revealed && state.revealed.id === id ? state.revealed.value : null;
  const nationalId = h(
    "span",
    { id: "national-id", dir: "ltr" },
    revealed || casefile.national_id_masked || "—",
  );
  const reveal = mayReveal && !revealed
    ? h(
        "button",
        {
          type: "button",
          id: "reveal-national-id",
          class: "small",
          onclick: async () => {
            try {
              const answer = await api("POST", `/requests/${id}/national-id/reveal`);
              state.revealed = { id, value: answer.national_id };
              document.getElementById("national-id").textContent = answer.national_id;
              document.getElementById("reveal-national-id")?.remove();
            } catch (problem) {
              failed(problem);
            }
          },
        },
        t("reveal"),
      )
    : null;
  const details = h(
    "dl",
    { class: "details" },
    detail("reference", request.reference_number),
    detail("status", statusBadge(request.status)),
    detail("channel", t(`channel_${request.channel}`)),
    detail("created", bothCalendars(request.created_at)),
    detail("national_id", [nationalId, " ", reveal]),
    detail("callback_number", h("span", { dir: "ltr" }, request.callback_number || "—")),
    detail("category", t(`category_${request.category || "unknown"}`)),
    detail("official", displayName("official", request.target_official)),
    detail("meeting_mode", request.meeting_mode ? t(`mode_${request.meeting_mode}`) : "—"),
    detail("language", t(`lang_${request.language}`)),
    detail(
      "assigned_to",
      request.assigned_to === null
        ? t("nobody")
        : request.assigned_to === state.me.id
          ? state.me.username
          : `#${number(request.assigned_to)}`,
    ),
    request.appointment
      ? detail(
          "appointment",
          `${bothCalendars(request.appointment.starts_at)} · ${request.appointment.meeting_link || displayName("branch", request.branch)}`,
        )
      : null,
  );
  const voice = request.has_voice_message
    ? h(
        "section",
        { class: "panel" },
        h("h2", {}, t("voice_message")),
        h("audio", {
          id: "voice-message",
          controls: true,
          preload: "none",
          src: `/requests/${id}/voice-message`,
        }),
      )
    : null;
  const documents = h(
    "section",
    { class: "panel" },
    h("h2", {}, t("documents")),
    files.items.length
      ? h(
          "ul",
          { class: "documents" },
          files.items.map((file) =>
            h(
              "li",
              {},
              h(
                "a",
                {
                  href: `/requests/${id}/attachments/${file.id}`,
                  target: "_blank",
                  rel: "noopener",
                },
                `${file.kind} · ${gregorian(file.created_at)}`,
              ),
            ),
          ),
        )
      : h("p", {}, t("no_documents")),
  );
  const buttons = casefile.actions
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
  const history = h(
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
  const noteList = h(
    "ul",
    { class: "notes", id: "notes" },
    notes.items.map((note) =>
      h("li", {}, h("time", { datetime: note.created_at }, gregorian(note.created_at)), " ", note.text),
    ),
  );
  const noteForm = actions.has("note")
    ? h(
        "form",
        { class: "note-form", id: "note-form" },
        h("label", { for: "note-text" }, t("note_text")),
        h("textarea", { id: "note-text", rows: 2, maxlength: 4000, required: true }),
        h("button", { type: "submit" }, t("add_note")),
      )
    : null;
  if (noteForm) {
    noteForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("POST", `/requests/${id}/notes`, { text: noteForm.querySelector("textarea").value });
        // Emptied on the page as it is now (a newer drawing may have replaced this form).
        const current = document.getElementById("note-text");
        if (current) current.value = "";
        showRequest(id);
      } catch (problem) {
        failed(problem);
      }
    });
  }
  // A note being written survives the new drawing, with its cursor.
  const shown = main().querySelector(`#request[data-id="${id}"]`);
  const draft = shown ? shown.querySelector("#note-text") : null;
  const newDraft = noteForm ? noteForm.querySelector("textarea") : null;
  if (draft && newDraft) newDraft.value = draft.value;
  const writing = draft !== null && document.activeElement === draft;
  const selection = writing ? [draft.selectionStart, draft.selectionEnd] : null;
  main().replaceChildren(
    h(
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
          h("section", { class: "panel" }, details),
          voice,
          documents,
          h("section", { class: "panel" }, h("h2", {}, t("notes")), noteList, noteForm),
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
          h("section", { class: "panel" }, h("h2", {}, t("history")), history),
        ),
      ),
    ),
  );
  state.refresh = (event) => {
    if (event && event.request_id === id) showRequest(id);
  };
  if (writing && newDraft) {
    newDraft.focus({ preventScroll: true });
    newDraft.setSelectionRange(...selection);
    return;
  }
  if (shown) return; // the same request drawn again: the agent keeps their place
  main().focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function detail(key, value) {
  return [h("dt", {}, t(key)), h("dd", { dataset: { field: key } }, value)];
}

async function post(request, path, body) {
  await api("POST", `/requests/${request.id}/${path}`, body);
  closeDialog();
  await showRequest(request.id);
  toast(t("done"));
}

async function act(request, action) {
  const move = MOVES[action];
  try {
    if (move.path && !move.dialog) return await post(request, move.path);
    if (move.call) return await callBack(request);
    if (move.dialog === "category") return categoryDialog(request);
    if (move.dialog === "verify") return verifyDialog(request);
    if (move.dialog === "reason") return reasonDialog(request, action, move);
    if (move.dialog === "slot") return await slotDialog(request);
    if (move.dialog === "reassign") return reassignDialog(request);
  } catch (problem) {
    failed(problem);
  }
  return null;
}

async function callBack(request) {
  toast(t("calling"));
  expectCall("callback");
  const placed = await api("POST", `/requests/${request.id}/call`);
  toast(placed.connected ? t("call_connected") : `${t("call_not_connected")} (${placed.result || ""})`);
  await showRequest(request.id);
}

function openDialog(title, ...content) {
  const dialog = document.getElementById("dialog");
  document
    .getElementById("dialog-body")
    .replaceChildren(
      h("h2", { id: "dialog-title" }, title),
      ...content,
      h("button", { type: "button", class: "link", onclick: closeDialog }, t("close")),
    );
  dialog.setAttribute("aria-labelledby", "dialog-title");
  if (!dialog.open) dialog.showModal();
  const first = dialog.querySelector("input, select, textarea, button");
  if (first) first.focus();
}

function closeDialog() {
  const dialog = document.getElementById("dialog");
  if (dialog.open) dialog.close();
}

function guarded(handler) {
  return async (event) => {
    event.preventDefault();
    try {
      await handler(event);
    } catch (problem) {
      failed(problem);
    }
  };
}

function categoryDialog(request) {
  const form = h(
    "form",
    { id: "claim-form" },
    h(
      "fieldset",
      {},
      h("legend", {}, t("category")),
      CATEGORIES.map((category, index) =>
        h(
          "label",
          { class: "choice" },
          h("input", { type: "radio", name: "category", value: category, checked: index === 0 }),
          t(`category_${category}`),
        ),
      ),
    ),
    h("button", { type: "submit", class: "primary" }, t("action_claim")),
  );
  form.addEventListener(
    "submit",
    guarded(() => post(request, "claim", { category: form.category.value })),
  );
  openDialog(t("action_claim"), form);
}

function verifyDialog(request) {
  const info = h("p", { role: "status" });
  const send = h(
    "button",
    {
      type: "button",
      id: "send-code",
      onclick: guarded(async () => {
        await api("POST", `/requests/${request.id}/verification`);
        info.textContent = t("code_sent");
      }),
    },
    t("send_code"),
  );
  const form = h(
    "form",
    { id: "verify-form" },
    h("label", { for: "code" }, t("code")),
    h("input", { id: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    h("button", { type: "submit", class: "primary" }, t("check_code")),
  );
  form.addEventListener(
    "submit",
    guarded(() => post(request, "verification/check", { code: form.code.value.trim() })),
  );
  openDialog(t("action_verify"), send, info, form);
}

function reasonDialog(request, action, move) {
  // A rejection's reason is sent to the requester: a live count of the SMS parts it makes.
  const parts = action === "reject" ? h("p", { id: "sms-parts", "aria-live": "polite" }) : null;
  const form = h(
    "form",
    { id: `${action}-form` },
    h("label", { for: "reason" }, t("reason")),
    h("textarea", { id: "reason", rows: 3, maxlength: 500, required: move.required }),
    parts,
    h("button", { type: "submit", class: "danger" }, t("confirm")),
  );
  if (parts) watchSmsParts(request, form.reason, parts);
  form.addEventListener(
    "submit",
    guarded(() => post(request, move.path, { reason: form.reason.value })),
  );
  openDialog(t(`action_${action}`), form);
}

function watchSmsParts(request, field, output) {
  let timer = null;
  let asked = 0;
  const update = async () => {
    const mine = ++asked;
    const body = { reason: field.value };
    const preview = await api("POST", `/requests/${request.id}/reject/preview`, body);
    if (mine !== asked) return; // a newer keystroke's answer wins
    output.textContent = `${number(preview.parts)} ${t("sms_parts")} (${t("sms_parts_budget")} ${number(preview.budget)})`;
    output.classList.toggle("over", preview.parts > preview.budget);
  };
  field.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => update().catch(() => {}), 250);
  });
  update().catch(() => {});
}

async function slotDialog(request) {
  const params = { branch: request.branch, free: "true", mode: request.meeting_mode };
  const slots = await api("GET", `/slots${query(params)}`);
  const list = slots.items.length
    ? h(
        "ul",
        { class: "slots", id: "slots" },
        slots.items.map((slot) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "slot",
                dataset: { slotId: slot.id },
                onclick: guarded(() => post(request, "schedule", { slot_id: slot.id })),
              },
              `${bothCalendars(slot.starts_at)} – ${slot.ends_at.time} · ${t(`mode_${slot.mode}`)} · ${number(slot.free)} ${t("free_places")}`,
            ),
          ),
        ),
      )
    : h("p", {}, t("no_slots"));
  openDialog(t("choose_slot"), list);
}

function reassignDialog(request) {
  const form = h(
    "form",
    { id: "reassign-form" },
    h("label", { for: "user-id" }, t("user_id")),
    h("input", { id: "user-id", type: "number", min: 1, required: true }),
    h("button", { type: "submit", class: "primary" }, t("confirm")),
  );
  form.addEventListener(
    "submit",
    guarded(() => post(request, "assignment", { user_id: Number(form["user-id"].value) })),
  );
  openDialog(t("action_reassign"), form);
}

// -- screen-pop ------------------------------------------------------------------------------

async function showScreenPop(popId) {
  const drawing = ++state.drawing;
  let pop;
  try {
    pop = await api("GET", `/agent/screen-pops/${encodeURIComponent(popId)}`);
  } catch (problem) {
    if (drawing === state.drawing) failed(problem);
    return;
  }
  if (drawing !== state.drawing) return;
  const found = pop.requests.length
    ? h(
        "section",
        { class: "panel" },
        h("h2", {}, t("open_requests")),
        h(
          "table",
          { class: "requests", id: "pop-requests" },
          h("tbody", {}, pop.requests.map(requestRow)),
        ),
      )
    : null;
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
      found ? null : form,
    ),
  );
  main().focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// -- supervisor view -------------------------------------------------------------------------

function periodDates(period) {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Riyadh" }).format(new Date());
  const back = { today: 0, week: 6, month: 29 }[period];
  const from = new Date(`${today}T00:00:00Z`);
  from.setUTCDate(from.getUTCDate() - back);
  return { from: from.toISOString().slice(0, 10), to: today };
}

async function showSupervisor() {
  const drawing = ++state.drawing;
  const period = state.supervisorPeriod;
  const { from, to } = periodDates(period);
  const live = h("section", { class: "panel", id: "live-queues" }, h("h2", {}, t("live_queues")));
  const tiles = h("section", { class: "tiles", id: "kpis" });
  const charts = h("section", { class: "charts", id: "charts" });
  const switcher = h(
    "div",
    { class: "tabs", role: "group" },
    ["today", "week", "month"].map((name) =>
      h(
        "button",
        {
          type: "button",
          id: `period-${name}`,
          "aria-pressed": String(period === name),
          onclick: () => {
            state.supervisorPeriod = name;
            showSupervisor();
          },
        },
        t(name),
      ),
    ),
  );
  const exports = h(
    "p",
    { class: "exports" },
    h(
      "a",
      {
        // In the console's language: the export names branches, categories and statuses.
        href: `/metrics/requests${query({ from, to, lang: language(), format: "csv" })}`,
        id: "export-requests",
      },
      `${t("export_csv")} · ${t("requests_per_day")}`,
    ),
    " ",
    h(
      "a",
      {
        href: `/metrics/calls${query({ from, to, by: period === "today" ? "hour" : "day", format: "csv" })}`,
        id: "export-calls",
      },
      `${t("export_csv")} · ${t("calls_per_hour")}`,
    ),
  );
  main().replaceChildren(
    h(
      "section",
      { class: "supervisor", id: "supervisor" },
      h("h1", {}, t("supervisor")),
      live,
      switcher,
      tiles,
      charts,
      exports,
    ),
  );
  const refreshLive = async () => {
    try {
      renderLive(live, await api("GET", "/queues/live"));
    } catch (problem) {
      failed(problem);
    }
  };
  try {
    const [queues, calls, requests] = await Promise.all([
      api("GET", "/queues/live"),
      api("GET", `/metrics/calls${query({ from, to, by: period === "today" ? "hour" : "day" })}`),
      api("GET", `/metrics/requests${query({ from, to })}`),
    ]);
    if (drawing !== state.drawing) return;
    renderLive(live, queues);
    renderFigures(tiles, charts, queues, calls, requests);
  } catch (problem) {
    if (drawing !== state.drawing) return;
    failed(problem);
  }
  state.refresh = debounce(refreshLive, 500);
  clearInterval(showSupervisor.timer);
  showSupervisor.timer = setInterval(() => {
    if (location.hash === "#/supervisor") refreshLive();
    else clearInterval(showSupervisor.timer);
  }, 10000);
}

function renderLive(section, queues) {
  const rows = queues.items.map((item) => {
    const agents = (item.live && item.live.agents_by_state) || {};
    const paused = Object.entries(agents)
      .filter(([key]) => key.startsWith("paused:"))
      .reduce((sum, [, value]) => sum + value, 0);
    return h(
      "tr",
      { dataset: { branch: item.branch } },
      h("th", { scope: "row" }, displayName("branch", item.branch)),
      h("td", { dataset: { figure: "waiting" } }, item.live ? number(item.live.waiting) : "—"),
      h("td", {}, item.live ? `${duration(item.live.longest_wait_s)}` : "—"),
      h("td", {}, item.live ? number(agents.ready || 0) : "—"),
      h("td", {}, item.live ? number(agents.on_call || 0) : "—"),
      h("td", {}, item.live ? number(paused) : "—"),
      h("td", {}, item.live ? number(agents.unavailable || 0) : "—"),
      h("td", { dataset: { figure: "callbacks" } }, number(item.callbacks_pending)),
    );
  });
  section.replaceChildren(
    h("h2", {}, t("live_queues")),
    ...(queues.telephony ? [] : [h("p", { class: "warning" }, t("telephony_off"))]),
    h(
      "table",
      { class: "figures" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, ""),
          [
            "waiting",
            "longest_wait",
            "agents_ready",
            "agents_on_call",
            "agents_paused",
            "agents_unavailable",
            "callbacks_pending",
          ].map((key) => h("th", { scope: "col" }, t(key))),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

function sumBy(rows, field) {
  const total = {};
  for (const row of rows) {
    for (const [key, value] of Object.entries(row[field] || {})) {
      total[key] = (total[key] || 0) + value;
    }
  }
  return total;
}

function renderFigures(tiles, charts, queues, calls, requests) {
  const total = calls.total;
  const targets = queues.targets;
  const days = requests.items;
  const forwarding = days.filter((day) => day.same_day_forwarding_rate !== null);
  const forwardingRate = forwarding.length
    ? forwarding[forwarding.length - 1].same_day_forwarding_rate
    : null;
  const callbacks = queues.items.reduce((sum, item) => sum + item.callbacks_pending, 0);
  const tile = (key, value, extra, id) =>
    h(
      "div",
      { class: "tile", id },
      h("span", { class: "label" }, t(key)),
      h("span", { class: "value" }, value),
      extra ? h("span", { class: "extra" }, extra) : null,
    );
  const level = total.service_level;
  tiles.replaceChildren(
    h(
      "div",
      {
        class: "tile",
        id: "kpi-service-level",
        dataset: { met: level === null ? "none" : String(level >= targets.service_level_percent) },
      },
      h("span", { class: "label" }, t("service_level")),
      h("span", { class: "value" }, percent(level)),
      h(
        "span",
        { class: "extra" },
        `${t("target")} ${percent(targets.service_level_percent)} ≤ ${number(targets.threshold_s)} ${t("seconds")}`,
      ),
    ),
    tile("asa", duration(total.asa_s), null, "kpi-asa"),
    tile("aht", duration(total.aht_s), null, "kpi-aht"),
    tile("abandonment", percent(total.abandonment_rate), null, "kpi-abandonment"),
    tile("callbacks_pending", number(callbacks), null, "kpi-callbacks"),
    tile("forwarding", percent(forwardingRate), null, "kpi-forwarding"),
  );
  const byStatus = sumBy(days, "by_status");
  const byChannel = sumBy(days, "by_channel");
  const byCategory = sumBy(days, "by_category");
  const video = sumBy(days, "video_call_hours");
  charts.replaceChildren(
    chartPanel(
      "requests_by_status",
      barChart(
        STATUSES.map((status) => ({ label: t(`status_${status}`), value: byStatus[status] || 0 })),
        number,
      ),
    ),
    chartPanel(
      "requests_by_channel",
      barChart(
        CHANNELS.map((channel) => ({
          label: t(`channel_${channel}`),
          value: byChannel[channel] || 0,
        })),
        number,
      ),
    ),
    chartPanel(
      "requests_per_day",
      columnChart(
        days.map((day) => ({ label: gregorian(`${day.day}T12:00:00Z`, false), value: day.received })),
        { format: number },
      ),
    ),
    chartPanel(
      "calls_per_hour",
      columnChart(
        calls.items.map((item) => ({
          label: item.start.slice(11, 16) === "00:00" ? item.start.slice(5, 10) : item.start.slice(11, 16),
          value: item.calls_per_hour,
        })),
        { format: number, line: targets.capacity_per_hour, lineLabel: t("capacity") },
      ),
    ),
    chartPanel(
      "split_category",
      barChart(
        [...CATEGORIES, "unknown"].map((category) => ({
          label: t(`category_${category}`),
          value: byCategory[category] || 0,
        })),
        number,
      ),
    ),
    chartPanel(
      "video_hours",
      barChart(
        Object.entries(video).map(([category, hours]) => ({
          label: t(`category_${category}`),
          value: hours,
        })),
        (value) => number(value, 1),
      ),
    ),
  );
}

function chartPanel(key, chart) {
  return h("figure", { class: "panel chart", dataset: { chart: key } }, h("figcaption", {}, t(key)), chart);
}

// -- start -----------------------------------------------------------------------------------

function wire() {
  document.getElementById("switch-language").addEventListener("click", switchLanguage);
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await api("POST", "/auth/logout");
    } catch (problem) {
      // Signing out of a session that already ended is not an error worth showing.
      if (!(problem instanceof ApiError && problem.status === 401)) failed(problem);
    }
    state.me = null;
    await stopPhone();
    setCsrf("");
    showSignIn();
  });
  document.getElementById("go-ready").addEventListener("click", () => changePresence("ready"));
  document.getElementById("go-pause").addEventListener("click", () => changePresence("paused"));
  document.getElementById("go-logout").addEventListener("click", () => changePresence("logged_out"));
  window.addEventListener("hashchange", route);
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
