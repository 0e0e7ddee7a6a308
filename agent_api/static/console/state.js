// What the console knows while it runs, shared by every view.

import { api } from "./api.js";

export const STATUSES = [
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
export const CHANNELS = ["phone", "fax", "telegram", "manual", "portal"];
export const CATEGORIES = ["man", "woman", "company"];

export const state = {
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
  // The branch's staff (a promise, see branchStaff), for names, reassigning and transfers.
  staff: null,
  // The work views of the user's role and the one they land on (GET /auth/me).
  views: null,
};

// The branch's active agents and supervisors (GET /users/staff), asked once a session.
export async function branchStaff() {
  if (!state.staff) state.staff = api("GET", "/users/staff").then((answer) => answer.items);
  return state.staff.catch(() => {
    state.staff = null;
    return [];
  });
}
