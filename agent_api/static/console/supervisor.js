// The supervisor's page: live queues, the period's figures and charts, the CSV exports.

import { api, query } from "./api.js";
import { barChart, columnChart } from "./charts.js";
import { debounce, displayName, failed, h, main, toggleGroup } from "./dom.js";
import { age, clock, duration, gregorian, language, number, percent, plural, t } from "./i18n.js";
import { spyButtons } from "./phone/phone.js";
import { CATEGORIES, CHANNELS, STATUSES, state } from "./state.js";

const LIVE_COLUMNS = [
  "waiting",
  "longest_wait",
  "agents_ready",
  "agents_on_call",
  "agents_paused",
  "agents_unavailable",
  "callbacks_pending",
];

function periodDates(period) {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Riyadh" }).format(new Date());
  const back = { today: 0, week: 6, month: 29 }[period];
  const from = new Date(`${today}T00:00:00Z`);
  from.setUTCDate(from.getUTCDate() - back);
  return { from: from.toISOString().slice(0, 10), to: today };
}

function exportLinks(period, from, to) {
  return h(
    "p",
    { class: "exports" },
    h(
      "a",
      {
        // In the console's language: the export names branches, categories and statuses.
        href: `/metrics/requests${query({ from, to, lang: language(), layout: "long", format: "csv" })}`,
        id: "export-requests",
      },
      `${t("export_csv")} · ${t("requests_per_day")}`,
    ),
    " ",
    h(
      "a",
      {
        href: `/metrics/calls${query({ from, to, by: period === "today" ? "hour" : "day", layout: "long", format: "csv" })}`,
        id: "export-calls",
      },
      `${t("export_csv")} · ${t("calls_per_hour")}`,
    ),
  );
}

function refreshEvery(refreshLive) {
  state.refresh = debounce(refreshLive, 500);
  clearInterval(showSupervisor.timer);
  showSupervisor.timer = setInterval(() => {
    if (location.hash === "#/supervisor") refreshLive();
    else clearInterval(showSupervisor.timer);
  }, 10000);
}

// Reloads the live parts of the page: queues and alerts, agents, callbacks waiting.
function liveRefresher(parts) {
  return async () => {
    try {
      const [queues, people, waiting] = await Promise.all([
        api("GET", "/queues/live"),
        api("GET", "/queues/agents").catch(() => null),
        api("GET", "/queues/callbacks").catch(() => null),
      ]);
      renderLive(parts.live, parts.alerts, queues);
      renderAgents(parts.agents, people);
      renderCallbacks(parts.callbacks, waiting);
    } catch (problem) {
      failed(problem);
    }
  };
}

function skeleton(period, from, to) {
  const panel = (id, key) => h("section", { class: "panel", id }, h("h2", {}, t(key)));
  const parts = {
    alerts: h("div", { id: "alerts" }),
    live: panel("live-queues", "live_queues"),
    agents: panel("agents", "agents_now"),
    callbacks: panel("callbacks", "callbacks_waiting"),
    tiles: h("section", { class: "tiles", id: "kpis" }),
    outcomes: h("div", { id: "outcomes" }),
    charts: h("section", { class: "charts", id: "charts" }),
  };
  const switcher = toggleGroup(["today", "week", "month"], period, "period", (name) => {
    state.supervisorPeriod = name;
    showSupervisor();
  });
  main().replaceChildren(
    h(
      "section",
      { class: "supervisor", id: "supervisor" },
      h("h1", {}, t("supervisor")),
      parts.alerts,
      parts.live,
      h("div", { class: "columns" }, parts.agents, parts.callbacks),
      switcher,
      parts.tiles,
      parts.outcomes,
      parts.charts,
      exportLinks(period, from, to),
    ),
  );
  return parts;
}

export async function showSupervisor() {
  const drawing = ++state.drawing;
  const period = state.supervisorPeriod;
  const { from, to } = periodDates(period);
  const parts = skeleton(period, from, to);
  const refreshLive = liveRefresher(parts);
  const by = period === "today" ? "hour" : "day";
  try {
    const [queues, calls, requests, hourly] = await Promise.all([
      api("GET", "/queues/live"),
      api("GET", `/metrics/calls${query({ from, to, by })}`),
      api("GET", `/metrics/requests${query({ from, to })}`),
      by === "hour" ? api("GET", `/metrics/requests${query({ from, to, by })}`) : null,
    ]);
    if (drawing !== state.drawing) return;
    refreshLive();
    renderFigures(parts, queues, calls, requests, hourly);
  } catch (problem) {
    if (drawing !== state.drawing) return;
    failed(problem);
  }
  refreshEvery(refreshLive);
}

function liveRow(item) {
  const agents = (item.live && item.live.agents_by_state) || {};
  const paused = Object.entries(agents)
    .filter(([key]) => key.startsWith("paused:"))
    .reduce((sum, [, value]) => sum + value, 0);
  const known = (value) => (item.live ? value() : "—");
  return h(
    "tr",
    { dataset: { branch: item.branch } },
    h("th", { scope: "row" }, displayName("branch", item.branch)),
    h("td", { dataset: { figure: "waiting" } }, known(() => number(item.live.waiting))),
    h("td", {}, known(() => `${duration(item.live.longest_wait_s)}`)),
    h("td", {}, known(() => number(agents.ready || 0))),
    h("td", {}, known(() => number(agents.on_call || 0))),
    h("td", {}, known(() => number(paused))),
    h("td", {}, known(() => number(agents.unavailable || 0))),
    h("td", { dataset: { figure: "callbacks" } }, number(item.callbacks_pending)),
  );
}

// Waiting callers or the longest wait over target: said at the top of the page.
function renderAlerts(box, queues) {
  const found = queues.items.flatMap((item) => (item.alerts || []).map((alert) => [item, alert]));
  box.replaceChildren(
    ...found.map(([item, alert]) =>
      h(
        "p",
        { class: "alert", dataset: { alert: alert.kind, branch: item.branch } },
        `${displayName("branch", item.branch)} · `,
        alert.kind === "waiting_callers"
          ? t("alert_waiting", { n: number(alert.value), max: number(alert.threshold) })
          : t("alert_longest", { wait: duration(alert.value), max: duration(alert.threshold) }),
      ),
    ),
  );
}

function renderLive(section, alertBox, queues) {
  renderAlerts(alertBox, queues);
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
          h("td", {}),
          LIVE_COLUMNS.map((key) => h("th", { scope: "col" }, t(key))),
        ),
      ),
      h("tbody", {}, queues.items.map(liveRow)),
    ),
  );
}

function simpleTable(id, columns, rows) {
  return h(
    "table",
    { class: "figures", id },
    h("thead", {}, h("tr", {}, columns.map((key) => h("th", { scope: "col" }, t(key))))),
    h("tbody", {}, rows),
  );
}

function agentState(item) {
  const label = t(`state_${item.state}`);
  return item.state === "paused" && item.reason ? `${label} · ${t(`reason_${item.reason}`)}` : label;
}

function agentRow(item) {
  const call = item.current_call;
  return h(
    "tr",
    { dataset: { agent: item.user.name, state: item.state } },
    h("th", { scope: "row" }, h("bdi", {}, item.user.name)),
    h("td", {}, agentState(item)),
    h("td", {}, duration(item.time_in_state_s)),
    h("td", {}, call ? [h("bdi", { dir: "ltr" }, call.caller_masked || "—"), " · ", duration((Date.now() - Date.parse(call.since)) / 1000)] : "—"),
    h("td", {}, number(item.calls_today)),
    h("td", {}, duration(item.aht_s)),
    // Listen, whisper or barge from one's own phone (this page) on the agent's live call.
    h("td", {}, item.interface ? spyButtons({ user_id: item.user.id, display_name: item.user.name }) : "—"),
  );
}

// Per agent who takes calls: state, time in state, current call, calls today, AHT.
function renderAgents(section, people) {
  const columns = ["agent", "agent_state", "time_in_state", "current_call", "calls_today", "aht", "listen_in"];
  section.replaceChildren(
    h("h2", {}, t("agents_now")),
    people && people.items.length
      ? simpleTable("agents-table", columns, people.items.map(agentRow))
      : h("p", {}, t("none")),
  );
}

function callbackRow(item) {
  return h(
    "tr",
    { dataset: { callback: item.id } },
    h("td", {}, item.request_id ? h("a", { href: `#/request/${item.request_id}` }, h("bdi", {}, item.reference_number)) : "—"),
    h("td", {}, h("bdi", { dir: "ltr" }, item.number_masked)),
    h("td", {}, age(item.age_s)),
    h("td", {}, `${number(item.attempts)} / ${number(item.max_attempts)}`),
  );
}

// Callbacks waiting (queued or being dialled), oldest first.
function renderCallbacks(section, waiting) {
  section.replaceChildren(
    h("h2", {}, t("callbacks_waiting")),
    waiting && waiting.items.length
      ? simpleTable("callbacks-table", ["reference", "callback_number", "age", "attempts"], waiting.items.map(callbackRow))
      : h("p", {}, t("none")),
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

// A figure's tile, with what it means beside it (in the user's language).
function tile(key, value, extra, id) {
  const definition = `def_${key}`;
  return h(
    "div",
    { class: "tile", id },
    h("span", { class: "label" }, t(key)),
    h("span", { class: "value" }, value),
    extra ? h("span", { class: "extra" }, extra) : null,
    TEXTS_WITH_DEFINITION.has(key) ? h("p", { class: "definition" }, t(definition, DEFINITION_PARAMS)) : null,
  );
}

const TEXTS_WITH_DEFINITION = new Set(["service_level", "asa", "aht", "abandonment"]);
const DEFINITION_PARAMS = {};

function serviceLevelTile(level, targets) {
  const met = level === null ? "none" : String(level >= targets.service_level_percent);
  DEFINITION_PARAMS.s = number(targets.threshold_s);
  const shown = tile(
    "service_level",
    percent(level),
    `${t("target")} ${percent(targets.service_level_percent)} ≤ ${number(targets.threshold_s)} ${t("seconds")}`,
    "kpi-service-level",
  );
  shown.dataset.met = met;
  return shown;
}

function renderTiles(tiles, queues, calls, days) {
  const total = calls.total;
  const forwarding = days.filter((day) => day.same_day_forwarding_rate !== null && day.same_day_forwarding_rate !== undefined);
  const forwardingRate = forwarding.length
    ? forwarding[forwarding.length - 1].same_day_forwarding_rate
    : null;
  const callbacks = queues.items.reduce((sum, item) => sum + item.callbacks_pending, 0);
  tiles.replaceChildren(
    serviceLevelTile(total.service_level, queues.targets),
    tile("asa", duration(total.asa_s), null, "kpi-asa"),
    tile("aht", duration(total.aht_s), null, "kpi-aht"),
    tile("abandonment", percent(total.abandonment_rate), null, "kpi-abandonment"),
    tile("callbacks_pending", number(callbacks), null, "kpi-callbacks"),
    tile("forwarding", percent(forwardingRate), null, "kpi-forwarding"),
  );
}

// Every inbound call, by how it ended (the phone menu's own endings too), one tile each.
function outcomeTiles(calls) {
  const inbound = calls.inbound;
  if (!inbound) return null;
  const endings = Object.entries(inbound.by_ending || {}).filter(([, count]) => count);
  return h(
    "section",
    { class: "panel", id: "calls-by-outcome" },
    h("h2", {}, `${t("calls_by_outcome")} · ${plural("calls_n", inbound.total)}`),
    h(
      "div",
      { class: "tiles outcome-tiles" },
      endings.map(([ending, count]) =>
        h(
          "div",
          { class: "tile", dataset: { ending } },
          h("span", { class: "label" }, t(`ending_${ending}`)),
          h("span", { class: "value" }, number(count)),
        ),
      ),
    ),
  );
}

function splitChart(key, names, prefix, totals, format = number) {
  const items = names.map((name) => ({ label: t(`${prefix}_${name}`), value: totals[name] || 0 }));
  return chartPanel(key, barChart(items, format));
}

function callsLabel(item) {
  const time = item.start.slice(11, 16);
  return time === "00:00" ? gregorian(item.start, false) : clock(item.start);
}

// Requests received: one column an hour for Today, else one a day.
function requestsChart(requests, hourly) {
  if (hourly) {
    return chartPanel(
      "requests_by_hour",
      columnChart(
        hourly.items.map((item) => ({ label: clock(item.start), value: item.received })),
        { format: number },
      ),
    );
  }
  return chartPanel(
    "requests_per_day",
    columnChart(
      requests.items.map((day) => ({ label: gregorian(`${day.day}T12:00:00Z`, false), value: day.received })),
      { format: number },
    ),
  );
}

function renderFigures(parts, queues, calls, requests, hourly) {
  const days = requests.items;
  renderTiles(parts.tiles, queues, calls, days);
  parts.outcomes.replaceChildren(outcomeTiles(calls) || "");
  const video = sumBy(days, "video_call_hours");
  parts.charts.replaceChildren(
    splitChart("requests_by_status", STATUSES, "status", sumBy(days, "by_status")),
    splitChart("requests_by_channel", CHANNELS, "channel", sumBy(days, "by_channel")),
    requestsChart(requests, hourly),
    chartPanel(
      "calls_per_hour",
      columnChart(
        calls.items.map((item) => ({ label: callsLabel(item), value: item.calls_per_hour })),
        { format: number, line: queues.targets.capacity_per_hour, lineLabel: t("capacity") },
      ),
    ),
    splitChart("split_category", [...CATEGORIES, "unknown"], "category", sumBy(days, "by_category")),
    splitChart("video_hours", Object.keys(video), "category", video, (value) => number(value, 1)),
  );
}

function chartPanel(key, chart) {
  return h("figure", { class: "panel chart", dataset: { chart: key } }, h("figcaption", {}, t(key)), chart);
}
