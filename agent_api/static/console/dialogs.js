// The request page's actions: the moves of the workflow and the dialogs some of them open.

import { api, ApiError, query } from "./api.js";
import { clearErrors, failed, h, showError, toast } from "./dom.js";
import { bothCalendars, clock, number, plural, t } from "./i18n.js";
import { expectCall } from "./phone/phone.js";
import { showRequest } from "./request.js";
import { branchStaff, CATEGORIES, state } from "./state.js";

export const MOVES = {
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

// Complete and No-show before the appointment's start: a supervisor may override with a reason.
const OVERRIDABLE = new Set(["complete", "no-show"]);

async function post(request, path, body) {
  await api("POST", `/requests/${request.id}/${path}`, body);
  closeDialog();
  await showRequest(request.id);
  toast(t("done"));
}

// One of the request page's action buttons pressed; an error shows next to that button.
export async function act(request, action, button) {
  const move = MOVES[action];
  const panel = document.getElementById("actions");
  if (panel) clearErrors(panel);
  try {
    if (move.path && !move.dialog) return await post(request, move.path);
    if (move.call) return await callBack(request);
    if (move.dialog === "category") return categoryDialog(request);
    if (move.dialog === "verify") return verifyDialog(request);
    if (move.dialog === "reason") return reasonDialog(request, action, move);
    if (move.dialog === "slot") return await slotDialog(request);
    if (move.dialog === "reassign") return await reassignDialog(request);
  } catch (problem) {
    if (overridable(problem, move)) return overrideDialog(request, action, move, problem);
    if (panel && button) showError(problem, panel, { near: button });
    else failed(problem);
  }
  return null;
}

function overridable(problem, move) {
  return (
    problem instanceof ApiError &&
    problem.id === "appointment_not_started" &&
    OVERRIDABLE.has(move.path) &&
    (problem.details.override_allowed ?? true)
  );
}

// The appointment has not started: say so, and let a supervisor go on with a reason (audited).
function overrideDialog(request, action, move, problem) {
  const form = h(
    "form",
    { id: "override-form" },
    h("label", { for: "override-reason" }, t("override_reason")),
    h("textarea", { id: "override-reason", name: "override_reason", rows: 2, maxlength: 500, required: true }),
    h("button", { type: "submit", class: "danger" }, t("override")),
  );
  form.addEventListener(
    "submit",
    guarded(form, () => post(request, move.path, { override_reason: form["override-reason"].value })),
  );
  openDialog(t(`action_${action}`), form);
  showError(problem, form, { field: "override_reason" });
}

async function callBack(request) {
  toast(t("calling"));
  expectCall("callback");
  const placed = await api("POST", `/requests/${request.id}/call`);
  toast(placed.connected ? t("call_connected") : `${t("call_not_connected")} (${placed.result || ""})`);
  await showRequest(request.id);
}

export function openDialog(title, ...content) {
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

export function closeDialog() {
  const dialog = document.getElementById("dialog");
  if (dialog.open) dialog.close();
}

// A form's submit handler: its errors show in the form, next to the field they are about.
export function guarded(form, handler, options = {}) {
  return async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await handler(event);
    } catch (problem) {
      showError(problem, form, options);
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
    guarded(form, () => post(request, "claim", { category: form.category.value }), { field: "category" }),
  );
  openDialog(t("action_claim"), form);
}

function verifyDialog(request) {
  const info = h("p", { role: "status", id: "code-status" });
  const send = h("button", { type: "button", id: "send-code" }, t("send_code"));
  const sender = h("div", { id: "send-code-box" }, send, info);
  send.addEventListener("click", async () => {
    clearErrors(sender);
    try {
      await api("POST", `/requests/${request.id}/verification`);
      info.textContent = await codeState(request.id);
    } catch (problem) {
      showError(problem, sender, { near: send });
    }
  });
  const form = h(
    "form",
    { id: "verify-form" },
    h("label", { for: "code" }, t("code")),
    h("input", { id: "code", name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    h("button", { type: "submit", class: "primary" }, t("check_code")),
  );
  form.addEventListener(
    "submit",
    guarded(form, () => post(request, "verification/check", { code: form.code.value.trim() }), {
      field: "code",
      clear: true,
    }),
  );
  openDialog(t("action_verify"), sender, form, inPersonForm(request));
}

// What became of the code's SMS: sent, or held by the per-number limit until a time.
async function codeState(id) {
  const fresh = await api("GET", `/requests/${id}`).catch(() => null);
  const codes = fresh ? (fresh.sms || []).filter((sms) => sms.stage === "verification_code") : [];
  const held = codes.length ? codes[codes.length - 1].held_until && codes[codes.length - 1] : null;
  return held ? t("held_until", { time: clock(held.held_until) }) : t("code_sent");
}

// A walk-in whose ID card the agent has seen (only where the server allows it): audited with
// who, when and which document.
function inPersonForm(request) {
  if (!(request.allowed_actions || []).includes("verify_in_person")) return null;
  const form = h(
    "form",
    { id: "in-person-form" },
    h("h3", {}, t("verify_in_person")),
    h("label", { for: "in-person-document" }, t("document_seen")),
    h(
      "select",
      { id: "in-person-document", name: "document", required: true },
      ["national_id", "iqama", "passport"].map((kind) => h("option", { value: kind }, t(`document_${kind}`))),
    ),
    h("button", { type: "submit", id: "verify-in-person" }, t("confirm")),
  );
  form.addEventListener(
    "submit",
    guarded(form, () => post(request, "verify-in-person", { document: form.elements.namedItem("document").value })),
  );
  return form;
}

function reasonDialog(request, action, move) {
  // A rejection's reason is sent to the requester: a live count of the SMS parts it makes.
  const parts = action === "reject" ? h("p", { id: "sms-parts", "aria-live": "polite" }) : null;
  const form = h(
    "form",
    { id: `${action}-form` },
    h("label", { for: "reason" }, t("reason")),
    h("textarea", { id: "reason", name: "reason", rows: 3, maxlength: 500, required: move.required }),
    parts,
    h("button", { type: "submit", class: "danger" }, t("confirm")),
  );
  if (parts) watchSmsParts(request, form.reason, parts);
  form.addEventListener(
    "submit",
    guarded(form, () => post(request, move.path, { reason: form.reason.value }), { field: "reason" }),
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
    output.textContent = `${plural("sms_parts_n", preview.parts)} (${t("sms_parts_budget")} ${number(preview.budget)})`;
    output.classList.toggle("over", preview.parts > preview.budget);
  };
  field.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => update().catch(() => {}), 250);
  });
  update().catch(() => {});
}

function slotButton(request, slot) {
  const button = h(
    "button",
    { type: "button", class: "slot", dataset: { slotId: slot.id } },
    `${bothCalendars(slot.starts_at)} – ${clock(slot.ends_at.utc)} · ${t(`mode_${slot.mode}`)} · ${plural("free_places_n", slot.free)}`,
  );
  button.addEventListener("click", async () => {
    const box = document.getElementById("slots");
    clearErrors(box);
    try {
      await post(request, "schedule", { slot_id: slot.id });
    } catch (problem) {
      showError(problem, box, { near: button });
    }
  });
  return button;
}

async function slotDialog(request) {
  const params = { branch: request.branch, free: "true", mode: request.meeting_mode };
  const slots = await api("GET", `/slots${query(params)}`);
  const list = slots.items.length
    ? h(
        "ul",
        { class: "slots", id: "slots" },
        slots.items.map((slot) => h("li", {}, slotButton(request, slot))),
      )
    : h("p", {}, t("no_slots"));
  openDialog(t("choose_slot"), list);
}

async function reassignDialog(request) {
  const staff = (await branchStaff()).filter((member) => member.id !== request.assigned_to);
  if (!staff.length) return openDialog(t("action_reassign"), h("p", {}, t("no_staff")));
  const form = h(
    "form",
    { id: "reassign-form" },
    h("label", { for: "user-id" }, t("staff_member")),
    h(
      "select",
      { id: "user-id", name: "user_id", required: true },
      h("option", { value: "" }, t("choose_staff")),
      staff.map((member) => h("option", { value: member.id }, `${member.name} · ${t(`role_${member.role}`)}`)),
    ),
    h("button", { type: "submit", class: "primary" }, t("confirm")),
  );
  form.addEventListener(
    "submit",
    guarded(form, () => post(request, "assignment", { user_id: Number(form["user-id"].value) }), {
      field: "user_id",
    }),
  );
  return openDialog(t("action_reassign"), form);
}
