// The phone in the console: the agent's endpoint registered from the page, its state in the
// header, a ringing queue call answered or declined, the call's controls, and the wrap-up.
// The console calls startPhone() after sign-in, stopPhone() at sign-out, expectCall() before it
// asks the server to ring this page (click-to-call, listen/whisper/barge), and spyButtons() on
// the supervisor's per-agent table. Built with DOM nodes, never HTML strings.

import { api } from "../api.js";
import { toast } from "../dom.js";
import { duration, language } from "../i18n.js";
import { branchStaff } from "../state.js";
import { LINE, Line } from "./line.js";
import { startRinging, stopRinging, unlockSound } from "./ring.js";
import { pt } from "./texts.js";

// A call the page asked for is answered without a click if it arrives within this time.
const EXPECT_S = 30;
const KEYPAD = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

// The phone's own style sheet, added once (the console's page stays as it is).
if (!document.querySelector('link[href="phone/phone.css"]')) {
  document.head.append(Object.assign(document.createElement("link"), { rel: "stylesheet", href: "phone/phone.css" }));
}

const phone = {
  line: null,
  account: null,
  call: null,
  status: "unregistered", // unregistered | connecting | registered | ringing | in_call | wrap_up | none
  expectedUntil: 0,
  declined: false,
  timer: null,
  wrapUp: null,
  presence: null,
};

function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

// -- the header badge and the panel ------------------------------------------------------------

function badge() {
  let found = document.getElementById("phone-state");
  if (!found) {
    found = el("span", { id: "phone-state", class: "badge phone-badge", role: "status" });
    const bar = document.getElementById("bar");
    bar.insertBefore(found, document.getElementById("who"));
  }
  return found;
}

function panel() {
  let found = document.getElementById("phone");
  if (!found) {
    found = el("section", { id: "phone", class: "phone", hidden: true });
    found.setAttribute("aria-labelledby", "phone-title");
    document.body.append(found);
  }
  return found;
}

function setStatus(status) {
  phone.status = status;
  if (status === "none") {
    document.getElementById("phone-state")?.remove();
    return;
  }
  const shown = badge();
  shown.dataset.state = status;
  shown.textContent = pt(`phone_${status}`);
  document.body.dataset.phone = status;
}

// Redraw what depends on the language (the console calls this when the language changes).
export function renderPhone() {
  if (!phone.line && phone.status !== "none") return;
  setStatus(phone.status);
  if (phone.status === "ringing") showRinging();
  else if (phone.status === "in_call") showInCall();
  else if (phone.status === "wrap_up") showWrapUp();
}

// -- start and stop ---------------------------------------------------------------------------

// Staff whose extension is not a SIP endpoint of this system (PJSIP/<digits>) have no phone
// here: nothing is asked and nothing is shown.
const SIP_EXTENSION = /^PJSIP\/[0-9]{2,10}$/;

export async function startPhone(user) {
  unlockSound();
  if (!SIP_EXTENSION.test((user && user.extension) || "")) {
    phone.status = "none";
    return;
  }
  let account;
  try {
    account = await api("GET", "/auth/me/sip");
  } catch (problem) {
    // Staff who take no calls have no extension: no phone, and nothing to warn about.
    setStatus(problem.status === 422 ? "none" : "unregistered");
    if (problem.status !== 422) badge().title = problem.message;
    return;
  }
  phone.account = account;
  if (account.device !== "webrtc") {
    // The account's phone is a desk phone or a softphone: the page must not take its calls.
    setStatus("desk");
    return;
  }
  const audio = el("audio", { id: "phone-audio", autoplay: true });
  document.body.append(audio);
  const line = new Line(account, audio);
  phone.line = line;
  line.addEventListener("state", (event) => onLineState(event.detail.state));
  line.addEventListener("ringing", (event) => onRinging(event.detail.call));
  line.addEventListener("answered", () => onAnswered());
  line.addEventListener("held", () => showInCall());
  line.addEventListener("ended", (event) => onEnded(event.detail.call));
  setStatus("connecting");
  try {
    await line.start();
  } catch (problem) {
    setStatus("unregistered");
    badge().title = `${pt("phone_failed")}: ${problem.message}`;
  }
}

export async function stopPhone() {
  stopRinging();
  clearInterval(phone.timer);
  const line = phone.line;
  phone.line = null;
  phone.call = null;
  phone.account = null;
  phone.wrapUp = null;
  phone.status = "unregistered";
  if (line) await line.stop().catch(() => {});
  document.getElementById("phone-audio")?.remove();
  document.getElementById("phone")?.remove();
  document.getElementById("phone-state")?.remove();
  delete document.body.dataset.phone;
}

// The page is about to ask the server for a call to itself ("callback" for click-to-call,
// "spy" for listen/whisper/barge): answer it without a click.
export function expectCall(kind = "callback") {
  unlockSound();
  phone.expectedUntil = Date.now() + EXPECT_S * 1000;
  phone.expectedKind = kind;
}

// The screen-pop of the answered queue call names the call (its uniqueid), which the wrap-up's
// disposition is stored against; the console's screen-pop sends it here.
export function callIdentified(uniqueid) {
  if (phone.call) phone.call.uniqueid = uniqueid;
  else if (phone.wrapUp && !phone.wrapUp.uniqueid) phone.wrapUp.uniqueid = uniqueid;
}

function onLineState(state) {
  if (phone.call) return; // a call's own state is shown while it lasts
  if (phone.status === "wrap_up") return;
  if (state === LINE.REGISTERED) setStatus("registered");
  else if (state === LINE.CONNECTING) setStatus("connecting");
  else setStatus("unregistered");
}

// -- ringing ----------------------------------------------------------------------------------

function callerText(call) {
  const remote = call.remote;
  return remote.name && remote.name !== remote.user ? `${remote.name} ${remote.user}` : remote.user;
}

function onRinging(call) {
  phone.call = call;
  phone.declined = false;
  // A call the agent asked for answers by itself: click-to-call is marked by the server
  // (X-Tawasul-Call, with Call-Info answer-after=0 for desk phones); listening in is the call
  // the supervisor's page asked for a moment ago. A queue call in that moment still rings.
  const asked =
    Date.now() < phone.expectedUntil &&
    (phone.expectedKind === "spy" || call.header("X-Tawasul-Call") === "click-to-call");
  if (asked) {
    phone.expectedUntil = 0;
    call.kind = phone.expectedKind;
    answer();
    return;
  }
  call.kind = "queue";
  setStatus("ringing");
  startRinging(pt("incoming_call"), callerText(call));
  showRinging();
}

function showRinging() {
  const call = phone.call;
  if (!call) return;
  const box = panel();
  box.hidden = false;
  box.dataset.view = "ringing";
  box.replaceChildren(
    el("h2", { id: "phone-title" }, pt("incoming_call")),
    el(
      "p",
      { class: "phone-caller" },
      `${pt("incoming_from")}: `,
      el("span", { dir: "ltr", id: "phone-caller" }, callerText(call)),
    ),
    el(
      "div",
      { class: "phone-actions" },
      el("button", { type: "button", id: "phone-answer", class: "primary", onclick: answer }, pt("answer")),
      el("button", { type: "button", id: "phone-decline", class: "danger", onclick: decline }, pt("decline")),
    ),
  );
  box.querySelector("#phone-answer").focus();
}

async function answer() {
  stopRinging();
  const call = phone.call;
  if (!call) return;
  try {
    await call.answer();
  } catch (problem) {
    notify(problem.name === "NotAllowedError" ? pt("microphone_refused") : problem.message);
  }
}

async function decline() {
  stopRinging();
  phone.declined = true;
  if (phone.call) await phone.call.decline().catch(() => {});
}

// -- in a call ---------------------------------------------------------------------------------

function onAnswered() {
  const call = phone.call;
  if (!call) return;
  if (!call.answeredAt) call.answeredAt = Date.now();
  setStatus("in_call");
  showInCall();
  clearInterval(phone.timer);
  phone.timer = setInterval(tick, 1000);
  call.watchMedia((flowing) => {
    const warning = document.getElementById("phone-media-warning");
    if (warning) warning.hidden = flowing;
    document.body.dataset.phoneMedia = flowing ? "flowing" : "stopped";
  });
}

function tick() {
  const call = phone.call;
  const shown = document.getElementById("phone-timer");
  if (call && call.answeredAt && shown) shown.textContent = duration((Date.now() - call.answeredAt) / 1000);
}

function toggle(id, label, pressed, onclick) {
  return el("button", { type: "button", id, "aria-pressed": pressed ? "true" : "false", onclick }, label);
}

function showInCall() {
  const call = phone.call;
  if (!call || !call.answeredAt) return;
  setStatus(call.held ? "on_hold" : "in_call");
  const box = panel();
  box.hidden = false;
  box.dataset.view = "in-call";
  const keypadOpen = box.querySelector("#phone-keypad-grid")?.hidden === false;
  const stopped = document.body.dataset.phoneMedia === "stopped";
  box.replaceChildren(
    el("h2", { id: "phone-title" }, pt(call.held ? "phone_on_hold" : "phone_in_call")),
    el(
      "p",
      { class: "phone-caller" },
      el("span", { dir: "ltr", id: "phone-caller" }, callerText(call)),
      " · ",
      el("span", { class: "visually-hidden" }, `${pt("call_time")} `),
      el("time", { id: "phone-timer", dir: "ltr" }, duration((Date.now() - call.answeredAt) / 1000)),
    ),
    el("p", { id: "phone-media-warning", class: "phone-warning", role: "alert", hidden: !stopped }, pt("media_stopped")),
    el(
      "div",
      { class: "phone-actions" },
      toggle("phone-mute", pt(call.muted ? "unmute" : "mute"), call.muted, () => {
        call.setMuted(!call.muted);
        showInCall();
      }),
      toggle("phone-hold", pt(call.held ? "resume" : "hold"), call.held, () => {
        call.setHeld(!call.held).catch((problem) => notify(problem.message));
      }),
      el(
        "button",
        {
          type: "button",
          id: "phone-keypad",
          "aria-expanded": keypadOpen ? "true" : "false",
          "aria-controls": "phone-keypad-grid",
          onclick: (event) => {
            const grid = document.getElementById("phone-keypad-grid");
            grid.hidden = !grid.hidden;
            event.currentTarget.setAttribute("aria-expanded", String(!grid.hidden));
          },
        },
        pt("keypad"),
      ),
      el("button", { type: "button", id: "phone-transfer", onclick: showTransfer }, pt("transfer")),
      el("button", { type: "button", id: "phone-hangup", class: "danger", onclick: hangUp }, pt("hang_up")),
    ),
    el(
      "div",
      { id: "phone-keypad-grid", class: "phone-keypad", hidden: !keypadOpen, role: "group", "aria-label": pt("keypad") },
      KEYPAD.map((digit) =>
        el(
          "button",
          {
            type: "button",
            dir: "ltr",
            "aria-label": `${pt("keypad_digit")} ${digit}`,
            onclick: () => call.dtmf(digit).catch((problem) => notify(problem.message)),
          },
          digit,
        ),
      ),
    ),
    el("div", { id: "phone-transfer-box" }),
    el("p", { id: "phone-notice", role: "status" }),
  );
}

async function hangUp() {
  if (phone.call) await phone.call.hangup().catch((problem) => notify(problem.message));
}

async function showTransfer() {
  const call = phone.call;
  const box = document.getElementById("phone-transfer-box");
  if (!call || !box) return;
  const open = box.querySelector("#phone-transfer-target");
  if (open) {
    // Already open: a second press must not replace what the agent has typed.
    open.focus();
    return;
  }
  // A colleague of the branch with a desk or browser phone (GET /users/staff: the endpoint is
  // the digits of PJSIP/<digits>), a branch's queue (Asterisk's tawasul-agents context takes
  // "queue-<branch>"), or any extension, typed.
  let branches = {};
  let staff = [];
  try {
    [branches, staff] = await Promise.all([
      api("GET", "/display-names").then((names) => names.branch || {}),
      branchStaff(),
    ]);
  } catch (problem) {
    notify(problem.message);
  }
  const colleagues = staff
    .map((member) => ({ ...member, endpoint: (/^PJSIP\/([0-9]{2,10})$/.exec(member.extension || "") || [])[1] }))
    .filter((member) => member.endpoint && member.endpoint !== ownEndpoint());
  const choice = el(
    "select",
    { id: "phone-transfer-target" },
    el("option", { value: "" }, "—"),
    colleagues.map((member) =>
      el("option", { value: member.endpoint }, `${member.name} · ${member.endpoint}`),
    ),
    Object.entries(branches).map(([code, names]) =>
      el("option", { value: `queue-${code}` }, `${pt("transfer_queue")} · ${names[language()] || code}`),
    ),
  );
  const typed = el("input", { id: "phone-transfer-number", dir: "ltr", inputmode: "tel", maxlength: 32 });
  const form = el(
    "form",
    { class: "phone-transfer" },
    el("label", { for: "phone-transfer-target" }, pt("transfer_to")),
    choice,
    el("label", { for: "phone-transfer-number" }, pt("transfer_or_number")),
    typed,
    el("button", { type: "submit", class: "primary" }, pt("transfer_go")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const target = transferUri(typed.value.trim() || choice.value);
    if (!target) {
      notify(pt("transfer_invalid"));
      typed.focus();
      return;
    }
    try {
      await call.transfer(target, (done) => notify(pt(done ? "transferred" : "transfer_failed")));
      notify(pt("transferring"));
    } catch (problem) {
      notify(problem.message);
    }
  });
  box.replaceChildren(form);
  choice.focus();
}

// This page's own endpoint (a call is not transferred to oneself).
function ownEndpoint() {
  return phone.account.uri.replace(/^sip:([^@]*)@.*$/, "$1");
}

// An extension or a branch queue becomes a SIP URI in the endpoint's own domain.
function transferUri(value) {
  if (!/^([0-9]{2,10}|queue-[a-z][a-z0-9_]{0,31})$/.test(value)) return "";
  const domain = phone.account.uri.replace(/^sip:[^@]*@/, "");
  return `sip:${value}@${domain}`;
}

function notify(message) {
  const shown = document.getElementById("phone-notice");
  if (shown) shown.textContent = message;
  else badge().title = message;
}

// -- after the call ----------------------------------------------------------------------------

function onEnded(call) {
  stopRinging();
  clearInterval(phone.timer);
  delete document.body.dataset.phoneMedia;
  phone.call = null;
  const wasAnswered = Boolean(call.answeredAt);
  if (!wasAnswered) {
    panel().hidden = true;
    setStatus(idleStatus());
    // A queue call the agent neither answered nor declined rang out: the server paused them.
    if (!phone.declined) showMissed();
    return;
  }
  if (call.kind === "spy") {
    // Listening to an agent is not a call of one's own: no wrap-up.
    panel().hidden = true;
    setStatus(idleStatus());
    return;
  }
  if (!phone.wrapUp) startWrapUp(call);
}

// What the badge says between calls.
function idleStatus() {
  if (!phone.line) return phone.account && phone.account.device !== "webrtc" ? "desk" : "unregistered";
  return phone.line.state === LINE.REGISTERED ? "registered" : "unregistered";
}

// The server's word that a queue call of this agent ended (AgentComplete), whatever the phone:
// it names the call for the disposition, and opens the wrap-up when a desk phone took the call.
export function wrapUpFromServer(data) {
  if (phone.wrapUp) {
    if (!phone.wrapUp.uniqueid) phone.wrapUp.uniqueid = data.call;
    return;
  }
  if (phone.call) {
    // The page's own call is ending: its hang-up opens the wrap-up with this call's name.
    if (!phone.call.uniqueid) phone.call.uniqueid = data.call;
    return;
  }
  startWrapUp({ kind: "queue", uniqueid: data.call }, data.after_call_work_s);
}

function showMissed() {
  const box = panel();
  box.hidden = false;
  box.dataset.view = "missed";
  box.replaceChildren(
    el("h2", { id: "phone-title" }, pt("phone_registered")),
    el("p", { id: "phone-missed", role: "alert" }, pt("missed_call")),
    el("button", { type: "button", onclick: () => (box.hidden = true) }, "×"),
  );
}

async function startWrapUp(call, afterCallWorkS = null) {
  phone.wrapUp = { setup: { dispositions: [] }, endsAt: Date.now(), uniqueid: call.uniqueid || "" };
  let setup = { dispositions: [], after_call_work_s: 0 };
  try {
    setup = await api("GET", "/agent/wrap-up");
  } catch (problem) {
    notify(problem.message);
  }
  // Asterisk keeps the agent's queue member out of rotation for the same time (wrapuptime):
  // the countdown shows it; a click-to-call has none but still gets its disposition.
  const seconds = call.kind === "queue" ? (afterCallWorkS ?? setup.after_call_work_s) : 0;
  const uniqueid = phone.wrapUp.uniqueid || call.uniqueid || "";
  phone.wrapUp = { setup, endsAt: Date.now() + seconds * 1000, uniqueid };
  setStatus("wrap_up");
  showWrapUp();
  clearInterval(phone.timer);
  phone.timer = setInterval(wrapUpTick, 1000);
}

function wrapUpTick() {
  const wrap = phone.wrapUp;
  if (!wrap) return;
  const left = Math.max(0, (wrap.endsAt - Date.now()) / 1000);
  const shown = document.getElementById("wrap-up-countdown");
  if (shown) shown.textContent = duration(left);
  if (left <= 0) endWrapUp();
}

function showWrapUp() {
  const wrap = phone.wrapUp;
  if (!wrap) return;
  const box = panel();
  box.hidden = false;
  box.dataset.view = "wrap-up";
  const choice = el(
    "select",
    { id: "wrap-up-disposition", required: true, disabled: Boolean(wrap.saved) },
    el("option", { value: "" }, pt("choose_disposition")),
    wrap.setup.dispositions.map((item) =>
      el("option", { value: item.code, selected: item.code === wrap.saved }, item[language()] || item.code),
    ),
  );
  const form = el(
    "form",
    { id: "wrap-up", class: "phone-wrap-up" },
    el("h2", { id: "phone-title" }, pt("wrap_up")),
    el("label", { for: "wrap-up-disposition" }, pt("disposition")),
    choice,
    el(
      "p",
      {},
      `${pt("after_call_work")} `,
      el("time", { id: "wrap-up-countdown", dir: "ltr" }, duration((wrap.endsAt - Date.now()) / 1000)),
    ),
    el("button", { type: "submit", class: "primary", id: "wrap-up-save", disabled: Boolean(wrap.saved) }, pt("save_disposition")),
    el("p", { id: "phone-notice", role: "status" }, wrap.saved ? pt("disposition_saved") : ""),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveDisposition().then((saved) => {
      if (saved && Date.now() >= wrap.endsAt) endWrapUp();
    });
  });
  box.replaceChildren(form);
  if (!wrap.saved) choice.focus();
}

// Store the chosen disposition against the call (once); false when nothing was stored.
async function saveDisposition() {
  const wrap = phone.wrapUp;
  const code = document.getElementById("wrap-up-disposition")?.value || "";
  if (!wrap || wrap.saved || !code) return false;
  if (!wrap.uniqueid) {
    notify(pt("no_call_to_dispose"));
    return false;
  }
  try {
    await api("POST", `/agent/calls/${encodeURIComponent(wrap.uniqueid)}/disposition`, { code });
  } catch (problem) {
    notify(problem.message);
    return false;
  }
  wrap.saved = code;
  showWrapUp();
  return true;
}

// The after-call work is over: Asterisk rings the agent again (its wrapuptime ran out too).
// A disposition chosen but not saved is saved now; the page goes back to "registered".
async function endWrapUp() {
  const wrap = phone.wrapUp;
  if (!wrap || wrap.ending) return;
  wrap.ending = true;
  clearInterval(phone.timer);
  if (!wrap.saved && document.getElementById("wrap-up-disposition")?.value) await saveDisposition();
  if (!wrap.saved && wrap.uniqueid) {
    // Still to be chosen: the form stays, the agent takes calls again meanwhile.
    setStatus(idleStatus());
    return;
  }
  phone.wrapUp = null;
  panel().hidden = true;
  setStatus(idleStatus());
}

// -- the supervisor on a live call ---------------------------------------------------------------

// Listen / whisper / barge buttons for one row of the per-agent table: the server calls the
// supervisor's own page, which answers at once because it asked.
export function spyButtons(agent) {
  const name = agent.display_name || agent.username;
  return el(
    "span",
    { class: "spy", role: "group", "aria-label": name },
    ["listen", "whisper", "barge"].map((mode) =>
      el(
        "button",
        {
          type: "button",
          class: "link",
          "data-spy": mode,
          "aria-label": `${pt({ listen: "listen_to", whisper: "whisper_to", barge: "barge_into" }[mode])} ${name}`,
          onclick: async () => {
            if (phone.status !== "registered") {
              toast(pt(phone.status === "none" ? "phone_none" : "spy_needs_phone"), "error");
              return;
            }
            expectCall("spy");
            try {
              await api("POST", "/supervisor/spy", { agent_id: agent.user_id, mode });
              toast(pt("spy_ringing"));
            } catch (problem) {
              phone.expectedUntil = 0;
              toast(problem.message, "error");
            }
          },
        },
        pt(mode),
      ),
    ),
  );
}

export function phoneStatus() {
  return phone.status;
}
