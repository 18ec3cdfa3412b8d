/**
 * Options page: warn or enforce mode, and desktop notifications on banned verdicts. Keys the
 * administrator set in managed storage are shown and locked (settings.js).
 */
import { localizeDocument, translator, uiLanguage } from "../src/core/i18n.js";
import { loadSettings, saveLocal } from "../src/core/settings.js";

const t = translator(browser.i18n);
localizeDocument(document, t, uiLanguage(browser.i18n));

const $ = (id) => document.getElementById(id);

async function show() {
  const s = await loadSettings(browser.storage);
  $("mode-warn").checked = s.mode === "warn";
  $("mode-enforce").checked = s.mode === "enforce";
  $("notifications").checked = s.notifications;
  const modeLocked = s.locked.includes("mode");
  const notifyLocked = s.locked.includes("notifications");
  $("mode-warn").disabled = modeLocked;
  $("mode-enforce").disabled = modeLocked;
  $("mode-locked").hidden = !modeLocked;
  $("notifications").disabled = notifyLocked;
  $("notifications-locked").hidden = !notifyLocked;
  document.body.dataset.ready = "1";
}

async function save() {
  const mode = $("mode-enforce").checked ? "enforce" : "warn";
  await saveLocal(browser.storage, { mode, notifications: $("notifications").checked });
  $("saved").hidden = false;
}

for (const id of ["mode-warn", "mode-enforce", "notifications"]) $(id).addEventListener("change", save);
await show();
