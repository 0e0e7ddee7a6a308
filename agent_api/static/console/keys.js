// Keyboard shortcuts: / search, j and k next and previous request, Enter open, c claim, ? help.
// None while typing in a field, and none but Escape while a dialog is open.

import { openDialog } from "./dialogs.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { state } from "./state.js";

const SHEET = [
  ["/", "key_search"],
  ["j", "key_next"],
  ["k", "key_previous"],
  ["Enter", "key_open"],
  ["c", "key_claim"],
  ["?", "key_help"],
  ["Esc", "key_escape"],
];

function typing(target) {
  return target.closest("input, textarea, select, [contenteditable]") !== null;
}

function rows() {
  return [...document.querySelectorAll("#requests tbody tr[data-id], #pop-requests tr[data-id]")];
}

// Moves the selection by `step` rows and puts the focus on the selected row's link.
function select(step) {
  const all = rows();
  if (!all.length) return;
  const at = all.findIndex((row) => row.dataset.selected === "true");
  const next = all[Math.min(all.length - 1, Math.max(0, at < 0 ? 0 : at + step))];
  for (const row of all) delete row.dataset.selected;
  next.dataset.selected = "true";
  next.querySelector("a.reference").focus();
}

function selected() {
  return rows().find((row) => row.dataset.selected === "true") || null;
}

function claim() {
  const button = document.getElementById("action-claim");
  if (button) return button.click();
  const row = selected();
  if (!row) return null;
  state.claimOnOpen = Number(row.dataset.id);
  location.hash = `#/request/${row.dataset.id}`;
  return null;
}

export function helpSheet() {
  openDialog(
    t("shortcuts"),
    h(
      "dl",
      { class: "shortcuts", id: "shortcuts" },
      SHEET.map(([key, words]) => [h("dt", {}, h("kbd", {}, key)), h("dd", {}, t(words))]),
    ),
  );
}

const ACTIONS = {
  "/": () => document.getElementById("search")?.focus(),
  j: () => select(1),
  k: () => select(-1),
  c: claim,
  "?": helpSheet,
  Enter: () => {
    const row = selected();
    if (row) location.hash = `#/request/${row.dataset.id}`;
  },
};

function onKey(event) {
  if (!state.me || event.ctrlKey || event.metaKey || event.altKey) return;
  if (document.getElementById("dialog").open || typing(event.target)) return;
  // Enter on a link or button does what it does already.
  if (event.key === "Enter" && event.target.closest("a, button")) return;
  const action = ACTIONS[event.key];
  if (!action) return;
  event.preventDefault();
  action();
}

export function listenForKeys() {
  document.addEventListener("keydown", onKey);
}
