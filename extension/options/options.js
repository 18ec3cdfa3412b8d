/**
 * Options page: warn or enforce mode, and desktop notifications on banned verdicts; in the Chromium
 * family also the evidence source (probe or debugger; debugger mode needs the debugger build, since
 * Chromium does not allow `debugger` as an optional permission: build/build_extension.mjs). Keys the administrator
 * set in managed storage are shown and locked (settings.js).
 */
import { extensionApi, localizeDocument, translator, uiLanguage, variantsFor } from "../src/core/i18n.js";
import { loadSettings, saveLocal } from "../src/core/settings.js";

const browser = extensionApi();
const t = translator(browser.i18n, variantsFor(browser.runtime.getManifest()));
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
  if (variantsFor(browser.runtime.getManifest())) await showCapture(s);
  document.body.dataset.ready = "1";
}

async function showCapture(s) {
  $("capture-set").hidden = false;
  $("capture-probe").checked = s.capture !== "debugger";
  $("capture-debugger").checked = s.capture === "debugger";
  const locked = s.locked.includes("capture");
  $("capture-probe").disabled = locked;
  $("capture-debugger").disabled = locked;
  $("capture-locked").hidden = !locked;
  // Only the debugger build has the API (build/build_extension.mjs --with-debugger).
  const hasDebugger = (browser.runtime.getManifest().permissions ?? []).includes("debugger");
  $("capture-not-granted").hidden = !(s.capture === "debugger" && !hasDebugger);
}

async function save() {
  const mode = $("mode-enforce").checked ? "enforce" : "warn";
  await saveLocal(browser.storage, { mode, notifications: $("notifications").checked });
  $("saved").hidden = false;
}

async function saveCapture() {
  await saveLocal(browser.storage, { capture: $("capture-debugger").checked ? "debugger" : "probe" });
  $("saved").hidden = false;
  await showCapture(await loadSettings(browser.storage));
}

for (const id of ["mode-warn", "mode-enforce", "notifications"]) $(id).addEventListener("change", save);
for (const id of ["capture-probe", "capture-debugger"]) $(id).addEventListener("change", saveCapture);
await show();
