/**
 * Firefox capture: the chain of the https responses of a tab, through
 * `webRequest.getSecurityInfo(requestId, {certificateChain: true})`, with `rawDER: true` only where
 * the host needs the DER (../core/cache.js CapturePlan: an origin's first response, and again after
 * the host asked for it; docs/protocol.md "DER only where needed"). Serialising every certificate
 * of every response as an array of numbers was most of the extension's page-load cost (issue 16).
 * The call itself is made only for an origin's first response on the tab's page and a 1-in-16 sample
 * of the rest (../core/cache.js PageOrigins; docs/design.md says what that trades).
 *
 * - getSecurityInfo only answers inside `onHeadersReceived`, for a listener registered with
 *   "blocking" (MDN webRequest.getSecurityInfo,
 *   https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/API/webRequest/getSecurityInfo;
 *   Gecko toolkit/components/extensions/webrequest/WebRequest.sys.mjs looks the channel up with
 *   ChannelWrapper.getRegisteredChannel, which only a blocking listener registers). So it is called
 *   first thing in the listener, before any await (browser-apis.md 1.7).
 * - The listener returns nothing, so page loads never wait for the host; only in enforce mode does
 *   a main frame wait (bounded) for its verdict so a banned page can be replaced.
 * - A certificate the browser refuses never reaches onHeadersReceived; it shows up in
 *   onErrorOccurred (browser-apis.md 1.4); its probe goes along the request's route (`ip`,
 *   `proxyInfo`: ../core/route.js).
 */
import { firefoxProxyOf, makeRoute } from "../core/route.js";
import { originKey } from "../core/cache.js";
import { WorkerResponses } from "../core/workers.js";

/** getSecurityInfo options: with the DER (the host has not seen the origin's chain), and without. */
const WITH_DER = Object.freeze({ certificateChain: true, rawDER: true });
const WITHOUT_DER = Object.freeze({ certificateChain: true });

/**
 * True when a webRequest `error` string names a security (NSS/PSM) failure. Gecko's
 * ChannelWrapper::GetErrorString (toolkit/components/extensions/webrequest/ChannelWrapper.cpp)
 * gives the localized NSS message for errors of NS_ERROR_MODULE_SECURITY and the `NS_ERROR_*` /
 * `NS_BINDING_*` name for every other failure; the localized text (with a U+2019 apostrophe in
 * English, field-reports D.17) is not a stable code, so we only test that it is not a network name.
 */
export function isSecurityError(error) {
  if (typeof error !== "string" || error === "") return false;
  return !/^NS_[A-Z0-9_]+$/.test(error.trim());
}

/**
 * The URL of the top-level document a (non-main-frame) request belongs to: the outermost of
 * `frameAncestors` for a request made in a frame, else `documentUrl` (MDN webRequest details;
 * Firefox only). Undefined when Firefox gives neither.
 */
export function topDocumentUrl(details) {
  const anc = details?.frameAncestors;
  if (Array.isArray(anc) && anc.length) return anc[anc.length - 1]?.url ?? null;
  return details?.documentUrl ?? null;
}

/**
 * Registers the Firefox listeners. Must run synchronously when the event page starts
 * (MV3 event pages must register listeners at top level; browser-apis.md pitfall 20).
 * @param {object} browser  the WebExtension API object
 * @param {import("../core/sentinel.js").Sentinel} sentinel
 */
export function registerCapture(browser, sentinel) {
  const { webRequest } = browser;

  /**
   * A response fetched outside any tab: a service worker's (documentUrl its script) is judged for
   * the pages of its origin (../core/workers.js); Firefox's own and the extension's are not.
   */
  function observeWorker(details) {
    const worker = WorkerResponses.workerOf(details);
    const origin = originKey(details.url);
    const fromCache = Boolean(details.fromCache);
    if (!worker || !sentinel.workers.wants(worker, origin, fromCache)) return undefined;
    // Always with the DER: a worker's response may be the only one its page gets (no second chance).
    const securityInfo = webRequest.getSecurityInfo(details.requestId, WITH_DER);
    sentinel.observeWorker({ url: details.url, requestId: details.requestId, fromCache, origin, worker, der: true },
      securityInfo).catch(() => {});
    return undefined;
  }

  webRequest.onHeadersReceived.addListener(
    (details) => {
      if (details.tabId < 0) return observeWorker(details);
      // Immediately (no await before it): the registered channel is only found while the response is
      // being processed. The plan is a synchronous Map lookup by origin. A main frame (one response
      // of a page) always brings its DER, so the page's own verdict (and enforce mode's block) never
      // waits for a second response.
      const origin = originKey(details.url);
      const main = details.type === "main_frame";
      const frame = details.type === "sub_frame";
      const hold = !main && sentinel.holdsMainFrames(); // enforce mode (or settings not known yet)
      // Enforce mode: a response of an origin already judged banned is cancelled (issue 22 item 6).
      if (hold && sentinel.settings?.mode === "enforce" && sentinel.gate.isBanned(details.url)) return { cancel: true };
      // An origin already claimed on this tab's page is not captured again (but for a sample):
      // the call is most of the cost (../core/cache.js PageOrigins). A frame's own document always is.
      if (!main && !frame && !sentinel.wantsResponse(details.tabId, origin, details.fromCache)) {
        // Enforce mode: while its origin is being judged, it waits for that verdict.
        const judging = hold ? sentinel.gate.inflightFor(details.url) : null;
        return judging ? sentinel.blockingSubresource(details.url, judging) : undefined;
      }
      const der = sentinel.plan.take(origin) || main;
      const securityInfo = webRequest.getSecurityInfo(details.requestId, der ? WITH_DER : WITHOUT_DER);
      const work = sentinel.observe(
        { tabId: details.tabId, url: details.url, requestId: details.requestId, main, fromCache: Boolean(details.fromCache), origin, der,
          documentUrl: main ? null : topDocumentUrl(details) },
        securityInfo,
      );
      if (main && sentinel.holdsMainFrames()) return sentinel.blockingResponse(details.tabId, work);
      if (hold) {
        // A frame's document, or a subresource of an origin not judged on the page yet: held until judged.
        sentinel.gate.judging(details.url, work);
        return sentinel.blockingSubresource(details.url, work);
      }
      work.catch(() => {});
      return undefined;
    },
    { urls: ["https://*/*", "wss://*/*"] },
    ["blocking"],
  );

  // A navigation a service worker may serve: its worker's earlier responses are not this page's.
  webRequest.onBeforeRequest.addListener(
    (details) => { if (details.tabId >= 0) sentinel.workers.navigating(originKey(details.url)); },
    { urls: ["https://*/*"], types: ["main_frame"] },
  );

  // Plain-http main frames start a new page too (their own level is unknown: not judged).
  webRequest.onHeadersReceived.addListener(
    (details) => {
      if (details.tabId >= 0) sentinel.insecureMainFrame({ tabId: details.tabId, url: details.url, requestId: details.requestId });
    },
    { urls: ["http://*/*"], types: ["main_frame"] },
  );

  webRequest.onErrorOccurred.addListener(
    (details) => {
      if (details.tabId < 0 || !isSecurityError(details.error)) return;
      // Firefox says which proxy this request used, and the address it reached (MDN webRequest
      // onErrorOccurred: `proxyInfo`, `ip`): the probe follows the same route.
      const route = makeRoute(details.ip ?? null, firefoxProxyOf(details.proxyInfo));
      sentinel.browserBlocked({ tabId: details.tabId, url: details.url, requestId: details.requestId, error: details.error, route })
        .catch(() => {});
    },
    { urls: ["https://*/*"], types: ["main_frame"] },
  );
}
