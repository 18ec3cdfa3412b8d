/**
 * Wires the shared core together and registers the browser-independent listeners
 * (navigation commits, tab updates, settings changes). A browser adapter's background entry calls
 * {@link startBackground} with its capture registration.
 *
 * Firefox clears tab-specific badge data when a tab navigates (ExtensionActions.sys.mjs
 * handleLocationChange; browser-apis.md 4.3), and Chromium on a cross-document commit, so the badge
 * is redrawn from the defaults on webNavigation.onCommitted (frameId 0); tabs.onUpdated sets only
 * what differs from what was drawn (a woken event page has drawn nothing).
 */
import { HostPort } from "./hostport.js";
import { VerdictCache } from "./cache.js";
import { TabStates } from "./tabstate.js";
import { Sentinel } from "./sentinel.js";
import { translator, variantsFor } from "./i18n.js";
import { onAreasChanged } from "./storagewatch.js";

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
 * @param {{client?: string, managedWaitMs?: number}} [opts]  `client`: the browser family named in `hello`
 *   (default "firefox"); `managedWaitMs`: how long judging waits for managed storage after start
 *   ({@link Sentinel#policyKnown}; Chromium)
 * @returns {Sentinel}
 */
export function startBackground(browser, registerCapture, { client = "firefox", managedWaitMs = 0 } = {}) {
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
    // The port opens at once (a missing host shows at once, issue 27: Chromium answers storage.managed
    // about 20 s after it starts); hello, with the policy, waits for the settings, and requests for it.
    helloReady: () => sentinel.currentSettings(),
    onStatus: (status) => {
      if (status.hello) sentinel?.applyHostSettings(status.hello.settings ?? null);
      browser.storage.session.set({ host: { ...status, at: Date.now() } }).catch(() => {});
    },
  });
  sentinel = new Sentinel({ browser, host, cache: new VerdictCache(), tabs, t, client, managedWaitMs });

  // All listeners synchronously, at top level of the event page.
  registerCapture(browser, sentinel);
  // The host may have been installed since the last attempt: a navigation retries at once (hostport.js navigated).
  browser.webNavigation.onBeforeNavigate?.addListener((d) => { if (d.frameId === 0) host.navigated(); });
  browser.webNavigation.onCommitted.addListener((d) => {
    if (isTopDocument(d)) sentinel.committed(d.tabId, d.url).catch(() => {});
  });
  // A tab opened by a page (window.open): its about:blank shows what the opener writes (issue 22 item 10).
  browser.webNavigation.onCreatedNavigationTarget?.addListener((d) => {
    sentinel.opened(d.tabId, d.sourceTabId, d.url).catch(() => {});
  });
  // A navigation that ends in an error page (a refused certificate: Chromium commits its error page
  // without webNavigation.onCommitted) clears the badge too.
  browser.webNavigation.onErrorOccurred?.addListener((d) => {
    if (d.frameId === 0) tabs.ready().then(() => sentinel.applyBadge(d.tabId, { cleared: true }));
  });
  browser.tabs.onUpdated.addListener((tabId, changeInfo) => {
    // After ready(): an event page woken by this event must not draw "no state" over a saved verdict.
    // Not forced: a tab update clears nothing (a commit does, and redraws), so only what changed is set
    // (a new event page has drawn nothing yet and sets every part).
    if (changeInfo.status || changeInfo.url) tabs.ready().then(() => sentinel.applyBadge(tabId));
  });
  browser.tabs.onRemoved.addListener((tabId) => sentinel.forget(tabId));
  // Only the settings' areas: a listener on storage.onChanged would be woken by every tab-state write.
  onAreasChanged(browser.storage, (changes, area) => {
    if (area === "managed") sentinel.managedArrived();
    const sent = (s) => JSON.stringify([s?.policy ?? null, s?.acknowledged ?? []]); // what hello carries
    const judged = (s) => JSON.stringify([s?.mode, s?.probing]); // what changes a verdict's consequence
    const before = sent(sentinel.settings);
    const beforeJudged = judged(sentinel.settings);
    sentinel.loadSettings().then((s) => {
      const resend = sent(s) !== before;
      // Nothing judged before the policy was known may outlive it (issue 23 item 5): forget verdicts,
      // and let the adapter drop its probe cache and judge open tabs again.
      // (Nothing to forget when no settings were in force yet: nothing was judged under them.)
      if (beforeJudged !== judged(null) && (resend || (area === "managed" && judged(s) !== beforeJudged))) {
        sentinel.policyChanged();
      }
      if (resend) {
        // A new policy applies per connection (docs/protocol.md "hello"): reconnect.
        host.disconnect("policy changed");
        host.connect({ force: true });
      }
    });
  });
  browser.runtime.onMessage.addListener((msg) => {
    // The popup, before it reads the tab state: what the coalescing delay still holds is written first.
    if (msg?.type === "flush-tab-states") return tabs.ready().then(() => tabs.flush()).then(() => true);
    if (msg?.type === "retry-host") {
      host.connect({ force: true });
      return Promise.resolve(host.status());
    }
    return undefined;
  });

  // An event page about to unload writes what the coalescing delay still holds (Firefox fires it; a
  // Chromium worker is stopped after 30 s idle, long after the delay).
  browser.runtime.onSuspend?.addListener(() => { tabs.flush(); });

  tabs.ready();
  sentinel.policyKnown(); // the bounded wait for managed settings counts from the worker's start
  sentinel.loadSettings();
  host.connect();
  return sentinel;
}
