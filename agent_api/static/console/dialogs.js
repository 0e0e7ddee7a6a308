// The request page's actions: the moves of the workflow and the dialogs some of them open.

import { api, query } from "./api.js";
import { failed, h, toast } from "./dom.js";
import { bothCalendars, number, t } from "./i18n.js";
import { showRequest } from "./request.js";
import { CATEGORIES } from "./state.js";

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

async function post(request, path, body) {
  await api("POST", `/requests/${request.id}/${path}`, body);
  closeDialog();
  await showRequest(request.id);
  toast(t("done"));
}

export async function act(request, action) {
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

export function guarded(handler) {
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

function slotButton(request, slot) {
  return h(
    "button",
    {
      type: "button",
      class: "slot",
      dataset: { slotId: slot.id },
      onclick: guarded(() => post(request, "schedule", { slot_id: slot.id })),
    },
    `${bothCalendars(slot.starts_at)} – ${slot.ends_at.time} · ${t(`mode_${slot.mode}`)} · ${number(slot.free)} ${t("free_places")}`,
  );
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
