/**
 * Options page: warn or enforce mode, and desktop notifications on banned verdicts; in the Chromium
 * family also the evidence source (probe or debugger; debugger mode needs the debugger build, since
 * Chromium does not allow `debugger` as an optional permission: build/build_extension.mjs). Keys the administrator
 * set in managed storage are shown and locked (settings.js).
 */
import { extensionApi, localizeDocument, translator, uiLanguage, variantsFor } from "../src/core/i18n.js";
import { loadSettings, saveLocal } from "../src/core/settings.js";
import { forget, readList } from "../src/core/acknowledged.js";
import { el, clear } from "../src/core/dom.js";
import { formatDate } from "../src/core/i18n.js";
import { displayName } from "../src/core/safetext.js";

const browser = extensionApi();
const t = translator(browser.i18n, variantsFor(browser.runtime.getManifest()));
const lang = uiLanguage(browser.i18n);
localizeDocument(document, t, lang);

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
  await showAcknowledged(s);
  document.body.dataset.ready = "1";
}

/**
 * "Roots you know" (acknowledged.js): each root with its key and when it was added, and a button that
 * forgets it; a note when the organisation does not allow it (the list is kept but not applied).
 */
async function showAcknowledged(s) {
  const list = await readList(browser.storage);
  const ul = $("ack-list");
  clear(ul);
  for (const entry of list) {
    const button = el(document, "button", { class: "ack-forget", text: t("options_ack_forget"), attrs: { type: "button" } });
    button.addEventListener("click", async () => {
      await forget(browser.storage, entry.spki_sha256);
      $("saved").hidden = false;
      await showAcknowledged(await loadSettings(browser.storage));
    });
    ul.append(el(document, "li", { attrs: { "data-spki": entry.spki_sha256 } }, [
      el(document, "div", { class: "ack-name", text: displayName(entry.name) || t("name_unnamed_root") }),
      el(document, "div", { class: "note mono", text: t("options_ack_key", [entry.spki_sha256]) }),
      entry.added ? el(document, "div", { class: "note", text: t("options_ack_added", [formatDate(entry.added, lang)]) }) : null,
      button,
    ]));
  }
  $("ack-none").hidden = list.length > 0;
  $("ack-locked").hidden = s.allowAcknowledge !== false;
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
