// The header's queue presence (ready, paused, logged out) and the live event stream.

import { api } from "./api.js";
import { failed, toast } from "./dom.js";
import { duration, t } from "./i18n.js";
import { state } from "./state.js";

export async function loadPresence() {
  try {
    state.presence = await api("GET", "/agent/state");
  } catch (problem) {
    state.presence = { state: "unknown", unavailable: true, detail: problem.message };
  }
  renderPresence();
}

export async function changePresence(wanted) {
  const body = { state: wanted };
  if (wanted === "paused") body.reason = document.getElementById("pause-reason").value;
  try {
    state.presence = await api("PUT", "/agent/state", body);
    renderPresence();
  } catch (problem) {
    failed(problem);
  }
}

export function renderPresence() {
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

function refreshWith(event) {
  if (state.refresh) state.refresh(JSON.parse(event.data));
}

export function openStream() {
  closeStream();
  const source = new EventSource("/agent/stream");
  source.addEventListener("request_filed", (event) => {
    const data = JSON.parse(event.data);
    toast(`${t("new_request_arrived")} · ${t(`status_${data.status}`)}`);
    if (state.refresh) state.refresh(data);
  });
  source.addEventListener("request_changed", refreshWith);
  source.addEventListener("presence", () => loadPresence());
  source.addEventListener("queue", refreshWith);
  source.addEventListener("screen_pop", (event) => {
    const data = JSON.parse(event.data);
    location.hash = `#/pop/${encodeURIComponent(data.pop_id)}`;
  });
  state.stream = source;
}

export function closeStream() {
  if (state.stream) state.stream.close();
  state.stream = null;
}
