// The work list: scopes, filters, search, counts by status and the requests table.

import { api, query } from "./api.js";
import { debounce, displayName, failed, h, main, statusBadge, toggleGroup } from "./dom.js";
import { age, gregorian, hijriOf, number, t } from "./i18n.js";
import { CHANNELS, STATUSES, state } from "./state.js";

const PAGE_SIZE = 25;
const COLUMNS = ["reference", "status", "channel", "category", "created", "age", "official", "callback_number"];

// The page's scope buttons and the API's work views (GET /requests?view=...); the ids stay.
const VIEW_OF = { mine: "mine", unclaimed: "new_work", all_branch: "all", awaiting_decision: "awaiting_decision" };
const SCOPE_OF = Object.fromEntries(Object.entries(VIEW_OF).map(([scope, view]) => [scope, view].reverse()));
const SCOPE_LABEL = { mine: "mine", unclaimed: "new_work", all_branch: "all_branch", awaiting_decision: "awaiting_decision" };
// Views that choose the statuses themselves (a status filter moves to "all of the branch").
const FIXED_STATUS = new Set(["unclaimed", "awaiting_decision"]);

// The scope a role lands on (GET /auth/me's default_view), and the scopes it has.
export function landingScope(views, defaultView) {
  state.views = views ? views.map((view) => SCOPE_OF[view]).filter(Boolean) : null;
  if (defaultView && SCOPE_OF[defaultView]) state.list.scope = SCOPE_OF[defaultView];
}

function scopes() {
  const order = ["awaiting_decision", "unclaimed", "mine", "all_branch"];
  return state.views ? order.filter((scope) => state.views.includes(scope)) : ["mine", "unclaimed", "all_branch"];
}

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

// The filters as the counts and the number search take them (no views there).
function listFilters() {
  const list = state.list;
  const params = { channel: list.channel };
  if (list.scope === "mine") params.mine = "true";
  if (list.scope === "unclaimed") params.status = "received";
  if (list.scope === "awaiting_decision") params.status = "identity_verified";
  if (list.search) Object.assign(params, searchTerms(list.search));
  return params;
}

// The list's own query: the scope's work view (oldest first where work waits), with age and due.
function viewFilters() {
  const list = state.list;
  const params = { view: state.views ? VIEW_OF[list.scope] : null, channel: list.channel };
  if (!state.views) Object.assign(params, listFilters());
  else if (list.search) Object.assign(params, searchTerms(list.search));
  if (list.status && !FIXED_STATUS.has(list.scope)) params.status = list.status;
  return params;
}

// A whole number never travels in a URL (proxies and access logs keep URLs): it is sent in
// the body of POST /requests/search, which answers the page and the counts together.
function searchBody(params) {
  const given = ([, value]) => value !== undefined && value !== null && value !== "";
  return Object.fromEntries(Object.entries(params).filter(given));
}

function choiceSelect(id, label, anyKey, values, prefix, current) {
  return h(
    "select",
    { id, "aria-label": t(label) },
    h("option", { value: "" }, t(anyKey)),
    values.map((value) =>
      h("option", { value, selected: current === value }, t(`${prefix}_${value}`)),
    ),
  );
}

function filtersForm(load) {
  const list = state.list;
  const scopeButtons = toggleGroup(scopes(), list.scope, "scope", (scope) => {
    list.scope = scope;
    list.status = "";
    showWorkList();
  });
  for (const button of scopeButtons.children) button.textContent = t(SCOPE_LABEL[button.id.slice(6)]);
  const statusSelect = choiceSelect("filter-status", "status", "any_status", STATUSES, "status", list.status);
  const channelSelect = choiceSelect(
    "filter-channel", "channel", "any_channel", CHANNELS, "channel", list.channel,
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
    scopeButtons,
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
  return filters;
}

export function requestsTable(rows, id = "requests") {
  return h(
    "table",
    { class: "requests", id },
    h("thead", {}, h("tr", {}, COLUMNS.map((key) => h("th", { scope: "col" }, t(key))))),
    rows,
  );
}

function countButton(status, found) {
  const list = state.list;
  return h(
    "button",
    {
      type: "button",
      class: "count",
      "aria-pressed": String(list.status === status),
      dataset: { status },
      onclick: () => {
        list.status = list.status === status ? "" : status;
        if (FIXED_STATUS.has(list.scope)) list.scope = "all_branch";
        showWorkList();
      },
    },
    h("span", { class: "label" }, t(`status_${status}`)),
    h("span", { class: "value" }, number(found[status])),
  );
}

// Loads pages of the list and the counts into the given nodes.
function listLoader(rows, counts, more) {
  const list = state.list;
  let cursor = null;
  const showCounts = (found) =>
    counts.replaceChildren(...STATUSES.map((status) => countButton(status, found)));
  async function page(append) {
    const paging = { limit: PAGE_SIZE, cursor: append ? cursor : null };
    const params = { ...viewFilters(), ...paging };
    const answer = params.number
      ? await api("POST", "/requests/search", searchBody({ ...listFilters(), ...paging, status: list.status || listFilters().status }))
      : await api("GET", `/requests${query(params)}`);
    if (answer.counts) showCounts(answer.counts);
    if (!append) rows.replaceChildren();
    for (const item of answer.items) rows.append(requestRow(item));
    if (!rows.children.length) {
      rows.append(h("tr", {}, h("td", { colspan: COLUMNS.length, class: "empty" }, t("none_found"))));
    }
    cursor = answer.next_cursor;
    more.hidden = !cursor;
  }
  async function loadCounts() {
    const params = state.views ? { ...viewFilters() } : listFilters();
    if (params.number) return; // the search's own answer brings them (see page)
    delete params.status;
    const answer = await api("GET", `/requests/counts${query(params)}`);
    showCounts(answer.counts);
  }
  async function load() {
    try {
      await Promise.all([page(false), loadCounts()]);
    } catch (problem) {
      failed(problem);
    }
  }
  return { page, load };
}

export async function showWorkList() {
  state.drawing += 1;
  const counts = h("div", { class: "counts", role: "group", "aria-label": t("status") });
  const rows = h("tbody");
  const more = h("button", { type: "button", class: "more", hidden: true }, t("more"));
  const loader = listLoader(rows, counts, more);
  main().replaceChildren(
    h(
      "section",
      { class: "work" },
      h("h1", {}, t("work_list")),
      filtersForm(loader.load),
      counts,
      requestsTable(rows),
      more,
    ),
  );
  more.addEventListener("click", () => loader.page(true).catch(failed));
  state.refresh = debounce(loader.load, 300);
  await loader.load();
}

// How long the request has waited, and a marker near or past its deadline.
function ageCell(item) {
  const seconds = item.age_s ?? (Date.now() - Date.parse(item.created_at.utc)) / 1000;
  const due = item.due && item.due.state !== "ok" ? item.due.state : null;
  return h(
    "td",
    { class: "age", dataset: { due: due || "ok" } },
    age(seconds),
    due ? h("span", { class: `due due-${due}` }, ` · ${t(`due_${due}`)}`) : null,
  );
}

// A whole row opens its request (the reference stays a link, for keyboard and new tabs).
function openRow(event) {
  if (event.target.closest("a, button, input, select, textarea")) return;
  const link = event.currentTarget.querySelector("a.reference");
  if (link) location.hash = link.getAttribute("href");
}

export function requestRow(item) {
  return h(
    "tr",
    { class: "row-link", dataset: { id: item.id, status: item.status }, onclick: openRow },
    h(
      "td",
      {},
      h(
        "a",
        { href: `#/request/${item.id}`, class: "reference" },
        item.reference_number,
      ),
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
      h("small", {}, item.created_at.hijri ? hijriOf(item.created_at) : ""),
    ),
    ageCell(item),
    h("td", {}, displayName("official", item.target_official)),
    h("td", { class: "number" }, h("bdi", { dir: "ltr" }, item.callback_number || "—")),
  );
}
