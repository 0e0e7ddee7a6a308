// The header's queue presence (ready, paused, logged out) and the live event stream.

import { api } from "./api.js";
import { failed, toast } from "./dom.js";
import { duration, t } from "./i18n.js";
import { callIdentified, wrapUpFromServer } from "./phone/phone.js";
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

// The words of the badge: the state, why a pause, or why there is no queue presence.
function presenceLabel(presence) {
  if (presence.telephony === false || presence.unavailable) return t("telephony_off");
  const label = t(`state_${presence.state}`);
  return presence.state === "paused" && presence.reason
    ? `${label} · ${t(`reason_${presence.reason}`)}`
    : label;
}

// Said once when the state changes (the per-second timer beside it is not announced).
function announce(label) {
  const live = document.getElementById("presence-announce");
  if (live.textContent !== label) live.textContent = label;
}

export function renderPresence() {
  const presence = state.presence;
  const badge = document.getElementById("presence-state");
  const since = document.getElementById("presence-since");
  if (!presence) return;
  const controls = document.getElementById("presence-controls");
  // Staff who take no calls have no queue presence: no badge, no buttons.
  document.getElementById("presence").hidden = presence.state === "not_an_agent";
  controls.hidden = presence.state === "no_extension" || presence.telephony === false;
  document.getElementById("set-extension").hidden = presence.state !== "no_extension";
  const label = presenceLabel(presence);
  badge.dataset.state = presence.state;
  if (badge.textContent !== label) badge.textContent = label;
  announce(label);
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
    callIdentified(data.call);
    location.hash = `#/pop/${encodeURIComponent(data.pop_id)}`;
  });
  source.addEventListener("wrap_up", (event) => wrapUpFromServer(JSON.parse(event.data)));
  state.stream = source;
}

export function closeStream() {
  if (state.stream) state.stream.close();
  state.stream = null;
}
