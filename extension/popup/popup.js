/**
 * The toolbar popup: the verdict of the current tab, what to do, "I know this root" where it applies, and
 * the evidence and certificates on demand. Reads the tab state that the background keeps in storage.session.
 * `popup.html?tab=<id>` shows a given tab (used when the popup is opened as a page).
 */
import { extensionApi, localizeDocument, translator, uiLanguage, variantsFor } from "../src/core/i18n.js";
import { renderPopup } from "../src/core/render.js";
import { guidePath } from "../src/core/advice.js";
import { acknowledge } from "../src/core/acknowledged.js";
import { loadSettings } from "../src/core/settings.js";

const browser = extensionApi();
const variants = variantsFor(browser.runtime.getManifest());
const t = translator(browser.i18n, variants);
const lang = uiLanguage(browser.i18n);
localizeDocument(document, t, lang);

/** What the advice depends on: the OS (runtime.getPlatformInfo), the browser family of this build, the language. */
async function platform() {
  let os = "";
  try { os = (await browser.runtime.getPlatformInfo())?.os ?? ""; } catch { os = ""; }
  return {
    env: { os, browser: variants ? "chromium" : "firefox" },
    guideUrl: (verdict) => browser.runtime.getURL(guidePath(lang, verdict)),
  };
}
const opts = await platform();

async function currentTabId() {
  const param = new URLSearchParams(location.search).get("tab");
  if (param !== null && /^\d+$/.test(param)) return Number(param);
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  return tab?.id ?? null;
}

const tabId = await currentTabId();

/** Resolves when the background has said `hello` to the helper again after `since` (or after `ms`). */
function helloAfter(since, ms = 3000) {
  return new Promise((resolve) => {
    const done = () => { browser.storage.onChanged.removeListener(listen); clearTimeout(timer); resolve(); };
    const listen = (changes, area) => {
      const host = changes.host?.newValue;
      if (area === "session" && host?.hello && host.at >= since) done();
    };
    const timer = setTimeout(done, ms);
    browser.storage.onChanged.addListener(listen);
  });
}

/**
 * "I know this root", confirmed: keep it for this profile; the background sends the new list to the helper
 * in a new `hello` (background.js) and forgets cached verdicts; once it has, the page is judged again.
 */
async function acknowledged(root) {
  const since = Date.now();
  const said = helloAfter(since);
  await acknowledge(browser.storage, root.spki, root.name);
  document.body.dataset.acknowledged = root.spki;
  await said;
  await browser.tabs.reload(tabId).catch(() => {});
}

async function draw() {
  const key = `tab:${tabId}`;
  const [data, settings] = await Promise.all([browser.storage.session.get([key, "host"]), loadSettings(browser.storage)]);
  renderPopup(document, data[key]?.state ?? null, data.host ?? null, t, lang,
    { ...opts, acknowledge: { allowed: settings.allowAcknowledge, onConfirm: acknowledged } });
  document.body.dataset.ready = "1";
}

// The background writes tab states at most a second after they change (tabstate.js PERSIST_DELAY_MS): have it write them now.
await browser.runtime.sendMessage({ type: "flush-tab-states" }).catch(() => {});
await draw();
browser.storage.onChanged.addListener((changes, area) => {
  if (area === "session" && (changes[`tab:${tabId}`] || changes.host)) draw();
});
document.getElementById("open-options").addEventListener("click", () => browser.runtime.openOptionsPage());
// Reconnect now instead of waiting for the backoff delay (e.g. right after installing the host).
document.getElementById("retry-host").addEventListener("click", () => {
  browser.runtime.sendMessage({ type: "retry-host" }).catch(() => {});
});
