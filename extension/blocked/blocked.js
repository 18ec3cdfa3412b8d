/**
 * Enforce-mode explanation page: a main frame whose chain is banned was replaced by this page
 * (sentinel.js blockingResponse). The record of the blocked response is read from storage.session
 * `blocked:<tabId>`.
 */
import { extensionApi, localizeDocument, translator, uiLanguage, variantsFor } from "../src/core/i18n.js";
import { explainRecord } from "../src/core/explain.js";
import { renderAdvice, renderChain } from "../src/core/render.js";
import { guidePath } from "../src/core/advice.js";

const browser = extensionApi();
const variants = variantsFor(browser.runtime.getManifest());
const t = translator(browser.i18n, variants);
const lang = uiLanguage(browser.i18n);
localizeDocument(document, t, lang);

const tab = new URLSearchParams(location.search).get("tab");
const key = `blocked:${tab}`;
const data = await browser.storage.session.get(key);
const rec = data[key]?.record ?? null;
if (rec) {
  document.getElementById("explanation").textContent = explainRecord(t, rec);
  document.getElementById("url").textContent = rec.url ?? "";
  let os = "";
  try { os = (await browser.runtime.getPlatformInfo())?.os ?? ""; } catch { os = ""; }
  const advice = renderAdvice(document, document.getElementById("advice"), rec, t, {
    env: { os, browser: variants ? "chromium" : "firefox" }, guideUrl: (verdict) => browser.runtime.getURL(guidePath(lang, verdict)),
  });
  // the general advice stays only when there is no advice for this verdict
  document.getElementById("blocked-advice").hidden = Boolean(advice);
  if (rec.verdict?.chain) {
    document.getElementById("chain-section").hidden = false;
    renderChain(document, document.getElementById("chain"), rec.verdict, t, lang);
  }
}
document.getElementById("back").addEventListener("click", () => history.back());
document.body.dataset.ready = "1";
