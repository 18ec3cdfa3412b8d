/**
 * The toolbar popup: the verdict of the current tab, its explanation in the user's language, the
 * intercepted origins and the certificate chain. Reads the tab state that the background keeps in
 * storage.session. `popup.html?tab=<id>` shows a given tab (used when the popup is opened as a page).
 */
import { extensionApi, localizeDocument, translator, uiLanguage, variantsFor } from "../src/core/i18n.js";
import { renderPopup } from "../src/core/render.js";
import { GUIDE_PATH } from "../src/core/advice.js";

const browser = extensionApi();
const variants = variantsFor(browser.runtime.getManifest());
const t = translator(browser.i18n, variants);
const lang = uiLanguage(browser.i18n);
localizeDocument(document, t, lang);

/** What the advice depends on: the OS (runtime.getPlatformInfo) and the browser family of this build. */
async function platform() {
  let os = "";
  try { os = (await browser.runtime.getPlatformInfo())?.os ?? ""; } catch { os = ""; }
  return { env: { os, browser: variants ? "chromium" : "firefox" }, guideUrl: browser.runtime.getURL(GUIDE_PATH) };
}
const opts = await platform();

async function currentTabId() {
  const param = new URLSearchParams(location.search).get("tab");
  if (param !== null && /^\d+$/.test(param)) return Number(param);
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  return tab?.id ?? null;
}

async function draw(tabId) {
  const key = `tab:${tabId}`;
  const data = await browser.storage.session.get([key, "host"]);
  renderPopup(document, data[key]?.state ?? null, data.host ?? null, t, lang, opts);
  document.body.dataset.ready = "1";
}

const tabId = await currentTabId();
await draw(tabId);
browser.storage.onChanged.addListener((changes, area) => {
  if (area === "session" && (changes[`tab:${tabId}`] || changes.host)) draw(tabId);
});
document.getElementById("open-options").addEventListener("click", () => browser.runtime.openOptionsPage());
// Reconnect now instead of waiting for the backoff delay (e.g. right after installing the host).
document.getElementById("retry-host").addEventListener("click", () => {
  browser.runtime.sendMessage({ type: "retry-host" }).catch(() => {});
});
