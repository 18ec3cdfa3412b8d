/**
 * Wires the shared core together and registers the browser-independent listeners
 * (navigation commits, tab updates, settings changes). A browser adapter's background entry calls
 * {@link startBackground} with its capture registration.
 *
 * Firefox clears tab-specific badge data when a tab navigates (ExtensionActions.sys.mjs
 * handleLocationChange; browser-apis.md 4.3), so the badge is redrawn on webNavigation.onCommitted
 * (frameId 0) and tabs.onUpdated.
 */
import { HostPort } from "./hostport.js";
import { VerdictCache } from "./cache.js";
import { TabStates } from "./tabstate.js";
import { Sentinel } from "./sentinel.js";
import { translator, variantsFor } from "./i18n.js";

/**
 * Whether a webNavigation event is about the document a tab shows: frameId 0, and (Chromium, which
 * says so: chrome.webNavigation `documentLifecycle`, `frameType`) not a prerendered page or a fenced
 * frame. A prerender commits in its own frame (frameId not 0) and becomes the tab's page only when
 * activated (issue 22 item 2).
 */
export function isTopDocument(d) {
  if (d?.frameId !== 0) return false;
  if (d.documentLifecycle !== undefined && d.documentLifecycle !== "active") return false;
  return d.frameType === undefined || d.frameType === "outermost_frame";
}

/** Native messaging host name (docs/protocol.md). */
export const HOST_NAME = "io.rootsentinel.host";

/**
 * @param {object} browser  the WebExtension API object
 * @param {(browser: object, sentinel: Sentinel) => void} registerCapture  the adapter's listeners
 * @param {{client?: string}} [opts]  `client`: the browser family named in `hello` (default "firefox")
 * @returns {Sentinel}
 */
export function startBackground(browser, registerCapture, { client = "firefox" } = {}) {
  const t = translator(browser.i18n, variantsFor(browser.runtime.getManifest()));
  let sentinel = null;
  const tabs = new TabStates({
    session: browser.storage.session,
    onChange: (tabId) => sentinel?.applyBadge(tabId),
  });
  const host = new HostPort({
    runtime: browser.runtime,
    name: HOST_NAME,
    hello: () => sentinel.helloMessage(),
    onStatus: (status) => {
      browser.storage.session.set({ host: { ...status, at: Date.now() } }).catch(() => {});
    },
  });
  sentinel = new Sentinel({ browser, host, cache: new VerdictCache(), tabs, t, client });

  // All listeners synchronously, at top level of the event page.
  registerCapture(browser, sentinel);
  browser.webNavigation.onCommitted.addListener((d) => {
    if (isTopDocument(d)) sentinel.committed(d.tabId, d.url).catch(() => {});
  });
  // A tab opened by a page (window.open): its about:blank shows what the opener writes (issue 22 item 10).
  browser.webNavigation.onCreatedNavigationTarget?.addListener((d) => {
    sentinel.opened(d.tabId, d.sourceTabId, d.url).catch(() => {});
  });
  browser.tabs.onUpdated.addListener((tabId, changeInfo) => {
    // After ready(): an event page woken by this event must not draw "no state" over a saved verdict.
    if (changeInfo.status || changeInfo.url) tabs.ready().then(() => sentinel.applyBadge(tabId, { force: true }));
  });
  browser.tabs.onRemoved.addListener((tabId) => sentinel.forget(tabId));
  browser.storage.onChanged.addListener((changes, area) => {
    if (area !== "local" && area !== "managed") return;
    const sent = (s) => JSON.stringify([s?.policy ?? null, s?.acknowledged ?? []]); // what hello carries
    const before = sent(sentinel.settings);
    sentinel.loadSettings().then((s) => {
      if (sent(s) !== before) {
        // A new policy applies per connection (docs/protocol.md "hello"): reconnect, forget verdicts.
        sentinel.cache.clear();
        sentinel.known.clear();
        host.disconnect("policy changed");
        host.connect({ force: true });
      }
    });
  });
  browser.runtime.onMessage.addListener((msg) => {
    if (msg?.type === "retry-host") {
      host.connect({ force: true });
      return Promise.resolve(host.status());
    }
    return undefined;
  });

  tabs.ready();
  sentinel.loadSettings().then(() => host.connect());
  return sentinel;
}
