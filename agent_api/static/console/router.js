// The address after # picks the view.

import { showRequest } from "./request.js";
import { showScreenPop } from "./screenpop.js";
import { showSettings } from "./settings.js";
import { state } from "./state.js";
import { showSupervisor } from "./supervisor.js";
import { showWorkList } from "./worklist.js";

export function route() {
  if (!state.me) return;
  state.refresh = null;
  state.revealed = null;
  const hash = location.hash || "#/work";
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", hash.startsWith(link.getAttribute("href")));
  }
  let match;
  if ((match = hash.match(/^#\/request\/(\d+)$/))) showRequest(Number(match[1]));
  else if ((match = hash.match(/^#\/pop\/([A-Za-z0-9_-]+)$/))) showScreenPop(match[1]);
  else if (hash === "#/supervisor" && state.me.role !== "agent") showSupervisor();
  else if (hash === "#/settings") showSettings();
  else showWorkList();
}
