// The supervisor's page: live queues, the period's figures and charts, the CSV exports.

import { api, query } from "./api.js";
import { barChart, columnChart } from "./charts.js";
import { debounce, displayName, failed, h, main, toggleGroup } from "./dom.js";
import { duration, gregorian, language, number, percent, t } from "./i18n.js";
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
}

function refreshEvery(refreshLive) {
  state.refresh = debounce(refreshLive, 500);
  clearInterval(showSupervisor.timer);
  showSupervisor.timer = setInterval(() => {
    if (location.hash === "#/supervisor") refreshLive();
    else clearInterval(showSupervisor.timer);
  }, 10000);
}

export async function showSupervisor() {
  const drawing = ++state.drawing;
  const period = state.supervisorPeriod;
  const { from, to } = periodDates(period);
  const live = h("section", { class: "panel", id: "live-queues" }, h("h2", {}, t("live_queues")));
  const tiles = h("section", { class: "tiles", id: "kpis" });
  const charts = h("section", { class: "charts", id: "charts" });
  const switcher = toggleGroup(["today", "week", "month"], period, "period", (name) => {
    state.supervisorPeriod = name;
    showSupervisor();
  });
  main().replaceChildren(
    h(
      "section",
      { class: "supervisor", id: "supervisor" },
      h("h1", {}, t("supervisor")),
      live,
      switcher,
      tiles,
      charts,
      exportLinks(period, from, to),
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

function renderLive(section, queues) {
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
          LIVE_COLUMNS.map((key) => h("th", { scope: "col" }, t(key))),
        ),
      ),
      h("tbody", {}, queues.items.map(liveRow)),
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

function tile(key, value, extra, id) {
  return h(
    "div",
    { class: "tile", id },
    h("span", { class: "label" }, t(key)),
    h("span", { class: "value" }, value),
    extra ? h("span", { class: "extra" }, extra) : null,
  );
}

function serviceLevelTile(level, targets) {
  const met = level === null ? "none" : String(level >= targets.service_level_percent);
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
  const forwarding = days.filter((day) => day.same_day_forwarding_rate !== null);
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

function splitChart(key, names, prefix, totals, format = number) {
  const items = names.map((name) => ({ label: t(`${prefix}_${name}`), value: totals[name] || 0 }));
  return chartPanel(key, barChart(items, format));
}

function callsLabel(item) {
  const time = item.start.slice(11, 16);
  return time === "00:00" ? item.start.slice(5, 10) : time;
}

function renderFigures(tiles, charts, queues, calls, requests) {
  const days = requests.items;
  renderTiles(tiles, queues, calls, days);
  const video = sumBy(days, "video_call_hours");
  charts.replaceChildren(
    splitChart("requests_by_status", STATUSES, "status", sumBy(days, "by_status")),
    splitChart("requests_by_channel", CHANNELS, "channel", sumBy(days, "by_channel")),
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
