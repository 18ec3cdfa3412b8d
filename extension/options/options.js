/**
 * Options page: warn or enforce mode, and desktop notifications on banned verdicts; in the Chromium
 * family also the evidence source (probe or debugger; the debugger is an optional permission that
 * only a click here can grant: `permissions.request` needs a user gesture). Keys the administrator
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

/** The debugger permission, when this browser has the permissions API. */
async function debuggerGranted() {
  try {
    return Boolean(await browser.permissions.contains({ permissions: ["debugger"] }));
  } catch {
    return false;
  }
}

async function showCapture(s) {
  $("capture-set").hidden = false;
  $("capture-probe").checked = s.capture !== "debugger";
  $("capture-debugger").checked = s.capture === "debugger";
  const locked = s.locked.includes("capture");
  $("capture-probe").disabled = locked;
  $("capture-debugger").disabled = locked;
  $("capture-locked").hidden = !locked;
  const missing = s.capture === "debugger" && !(await debuggerGranted());
  $("capture-not-granted").hidden = !missing;
  $("capture-grant").hidden = !missing;
}

async function saveCapture() {
  const capture = $("capture-debugger").checked ? "debugger" : "probe";
  // Ask while the click's user gesture lasts, before any other await.
  const asked = capture === "debugger" ? browser.permissions.request({ permissions: ["debugger"] }).catch(() => false) : null;
  await asked;
  await saveLocal(browser.storage, { capture });
  $("saved").hidden = false;
  await showCapture(await loadSettings(browser.storage));
}

async function grant() {
  await browser.permissions.request({ permissions: ["debugger"] }).catch(() => false);
  await showCapture(await loadSettings(browser.storage));
}

async function save() {
  const mode = $("mode-enforce").checked ? "enforce" : "warn";
  await saveLocal(browser.storage, { mode, notifications: $("notifications").checked });
  $("saved").hidden = false;
}

for (const id of ["mode-warn", "mode-enforce", "notifications"]) $(id).addEventListener("change", save);
for (const id of ["capture-probe", "capture-debugger"]) $(id).addEventListener("change", saveCapture);
$("capture-grant").addEventListener("click", grant);
await show();
