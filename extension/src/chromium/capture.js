/**
 * Chromium-family capture (Chrome, Chromium, Edge, Brave). Chromium has no
 * `webRequest.getSecurityInfo` (browser-apis.md 2.1), so each https response gets its evidence from
 * the best source available, and the popup names it (record `source`, explain.js SOURCE):
 *
 * 1. `debugger` (opt-in: settings `capture: "debugger"` from the options page or managed policy,
 *    in the debugger build, which has the `debugger` permission): the chain the browser verified,
 *    from `Network.getCertificate` (debugger.js). Chrome shows its "started debugging this browser" bar.
 * 2. `security-info`: where the browser offers the `securityInfo` / `securityInfoRawDer` extra info
 *    of `webRequest.onHeadersReceived` (w3c/webextensions#882, PR #899; Chromium 156 behind
 *    `--enable-features=WebRequestSecurityInfo`; detected by what the listener receives, see
 *    {@link SecurityInfoListener}). It carries the leaf only, so the host judges the leaf and
 *    also probes the origin; {@link combineLeafAndProbe} decides from both.
 * 3. `probe` (default): the host makes its own TLS connection to the origin (host, port, SNI) once
 *    per {@link PROBE_TTL_MS} and route, and judges the chain the network presented. The route is
 *    the browser's (issue 15, ../core/route.js): the address it connected to (`details.ip`, which
 *    Chromium gives in onResponseStarted, not in onHeadersReceived) and the proxy in force
 *    (`chrome.proxy.settings`).
 *    It can still differ from what the browser got: a PAC script's or the system's choice of proxy
 *    (not exposed to extensions; the popup says so), QUIC, an interceptor that picks its victims.
 *
 * A certificate the browser refuses never reaches onHeadersReceived; `onErrorOccurred` gives a
 * `net::ERR_CERT_*` string (browser-apis.md 2.3) and the page becomes `browser-blocked`, explained
 * by a probe (`net::ERR_CERT_KNOWN_INTERCEPTION_BLOCKED`: Chrome itself recognised interception).
 *
 * One listener per response (issue 27): every https response is seen once, in `onResponseStarted`
 * (it carries the address), and only an origin's first response on a tab's page (per address, and a
 * sample of the rest: ../core/cache.js PageOrigins) does any work; the securityInfo listener stays
 * only where the browser fills it in. The rest of a page's responses return at once: each webRequest
 * event is a message to the worker, and three of them per response were part of the +60%.
 *
 * Listeners are registered synchronously when the service worker starts (it is stopped when idle
 * and started again by the next event; field-reports D.20); per-tab verdicts live in
 * storage.session through the core's TabStates.
 */
import { originOf } from "../core/tabstate.js";
import { normalizeHex, originKey } from "../core/cache.js";
import { HostError } from "../core/hostport.js";
import { BLOCKED_PAGE, PROBE_TIMEOUT_MS } from "../core/sentinel.js";
import { DebuggerCapture } from "./debugger.js";
import { PROBE_TTL_MS, TtlCache } from "./probecache.js";
import { PROBING_DISABLED } from "../core/settings.js";
import { chromiumProxyFor, makeRoute, routeKey } from "../core/route.js";
import { onAreasChanged } from "../core/storagewatch.js";

export { PROBE_TTL_MS };

/** extraInfoSpec values that ask for the leaf certificate, best first (PR #899). */
export const SECURITY_INFO_SPECS = Object.freeze(["securityInfoRawDer", "securityInfo"]);

/**
 * True for a Chromium net error that means the certificate was refused
 * (net/base/net_error_list.h: the ERR_CERT_* range, plus a failed HPKP-style pin).
 */
export function isCertificateError(error) {
  if (typeof error !== "string") return false;
  return /^net::ERR_(CERT_[A-Z0-9_]+|SSL_PINNED_KEY_NOT_IN_CERT_CHAIN)$/.test(error.trim());
}

/** Responses without `securityInfo` after which the securityInfo listener is removed (none had it). */
export const SECURITY_INFO_MISSES = 3;

/**
 * The onHeadersReceived listener that asks for the leaf certificate, where it works. Each
 * {@link SECURITY_INFO_SPECS} value is tried; a browser whose schema lacks the value throws at
 * registration. Chromium 156 knows both values but, without its `WebRequestSecurityInfo` feature
 * (`--enable-features=WebRequestSecurityInfo`), accepts the registration and then calls the listener
 * for every response *without* `securityInfo` (issue 27 measured it), so the feature is detected by
 * what arrives: details that carry the `securityInfo` key prove it works; after
 * {@link SECURITY_INFO_MISSES} responses without it, and none with it, the listener is removed and
 * no response waits for a leaf again in this worker.
 */
export class SecurityInfoListener {
  /**
   * @param {object} webRequest  `chrome.webRequest`
   * @param {LeafStore} leaves  where the leaf of each response is put
   * @param {object} filter  the webRequest filter
   */
  constructor(webRequest, leaves, filter) {
    this.webRequest = webRequest;
    this.leaves = leaves;
    this.works = false;
    this.misses = 0;
    this.listener = (details) => this.onHeaders(details);
    this.spec = null;
    for (const spec of SECURITY_INFO_SPECS) {
      try {
        webRequest.onHeadersReceived.addListener(this.listener, filter, [spec]);
        this.spec = spec;
        break;
      } catch {
        // not in this browser's schema
      }
    }
  }

  /** Whether a response may carry a leaf: registered, and not (yet) found to be off. */
  get active() {
    return this.spec !== null;
  }

  onHeaders(details) {
    if (!details || !("securityInfo" in details)) {
      if (!this.works && ++this.misses >= SECURITY_INFO_MISSES) this.remove();
      return;
    }
    this.works = true;
    if (details.tabId >= 0) this.leaves.put(details);
  }

  /** Unregisters the listener (the feature is off). */
  remove() {
    if (this.spec === null) return;
    try { this.webRequest.onHeadersReceived.removeListener(this.listener); } catch { /* gone already */ }
    this.spec = null;
  }
}

/**
 * The leaves the securityInfo listener saw (onHeadersReceived), until the response's
 * onResponseStarted takes them: Chromium dispatches the two events of a response in that order.
 * Keyed by request id and URL (a redirect hop has the same request id, field-reports D.19). Bounded
 * instead of timed: a response that is never taken (a redirect, an error, a response the page gate
 * skips) is dropped when {@link LeafStore#max} newer ones came.
 */
export class LeafStore {
  constructor({ max = 512 } = {}) {
    this.max = max;
    this.leaves = new Map();
  }

  static key(details) {
    return `${details.requestId}|${details.url}`;
  }

  /** From the securityInfo listener: this response's leaf (null when the details had none). */
  put(details) {
    const k = LeafStore.key(details);
    this.leaves.delete(k);
    this.leaves.set(k, leafOf(details));
    if (this.leaves.size > this.max) this.leaves.delete(this.leaves.keys().next().value);
  }

  /** The response's leaf, or null; forgets it. */
  take(details) {
    const k = LeafStore.key(details);
    const leaf = this.leaves.get(k) ?? null;
    this.leaves.delete(k);
    return leaf;
  }
}

/**
 * The proxy settings in force (`chrome.proxy.settings.get({})`), read once and again after
 * `onChange`; without the API (or on error) the mode is `system`: the browser's choice, unknown.
 */
export class ProxySettings {
  constructor(proxyApi) {
    this.api = proxyApi;
    this.value = null;
    this.reading = null;
    this.api?.settings?.onChange?.addListener?.(() => { this.value = null; this.reading = null; });
  }

  /** @returns {Promise<object>} the settings' `value` ({mode, rules?, pacScript?}); one read at a time */
  async current() {
    if (this.value) return this.value;
    if (!this.reading) {
      const reading = (async () => {
        try {
          const got = await this.api.settings.get({});
          const value = got?.value ?? { mode: "system" };
          if (this.reading === reading) this.value = value; // not when onChange came meanwhile
          return value;
        } catch {
          return { mode: "system" };
        } finally {
          if (this.reading === reading) this.reading = null;
        }
      })();
      this.reading = reading;
    }
    return this.reading;
  }

  /** The probe request's `route.proxy` for `url` ({@link chromiumProxyFor}). */
  async proxyFor(url) {
    return chromiumProxyFor(url, await this.current());
  }
}

/** Base64 of raw DER given as bytes (array of numbers, typed array, ArrayBuffer) or as base64. */
export function derToBase64(raw) {
  if (typeof raw === "string") return /^[A-Za-z0-9+/]+=*$/.test(raw) ? raw : null;
  let bytes = null;
  if (raw instanceof ArrayBuffer) bytes = new Uint8Array(raw);
  else if (ArrayBuffer.isView(raw)) bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  else if (Array.isArray(raw) && raw.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) bytes = Uint8Array.from(raw);
  if (!bytes || bytes.length === 0) return null;
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * The leaf certificate from webRequest details carrying `securityInfo` (Firefox-shaped
 * CertificateInfo: `fingerprint.sha256`, `rawDER`), or null when the browser sent none.
 * @returns {{der: string, sha256: string|null}|null}
 */
export function leafOf(details) {
  const c = details?.securityInfo?.certificates?.[0];
  const der = derToBase64(c?.rawDER);
  if (!der) return null;
  return { der, sha256: normalizeHex(c?.fingerprint?.sha256) };
}

/** Host and port a probe should connect to for a URL (the host name is also the SNI). */
export function endpointOf(url) {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : 443;
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port };
}

/** Path outcomes (docs/protocol.md `path.outcome`) of a lone leaf whose issuer the host did not have. */
const ISSUER_UNKNOWN = new Set(["unknown_issuer", "missing_issuer", "incomplete_chain"]);

/** Lowercase hex without separators, or null (key identifiers as the host sends them, docs/protocol.md). */
function keyId(v) {
  return typeof v === "string" && v.trim() ? v.replace(/[^0-9a-f]/gi, "").toLowerCase() || null : null;
}

/**
 * How the browser's leaf relates to the probe's chain by its issuer (issue 22 item 7): `key` when a
 * probe certificate has the leaf's issuer name *and* a subject key identifier equal to the leaf's
 * authority key identifier; `imitation` when it has the name and another key identifier (a CA named
 * like the site's issuer with a key that is not the issuer's); `name_only` when a key identifier is
 * missing on either side (a name alone proves nothing); `none` when no probe certificate has the name.
 * @param {object|null} leafCert  the leaf's entry in the host's chain detail (`issuer`, `aki`)
 * @param {object[]} probeChain  the probe verdict's `chain` (`subject`, `ski`)
 * @returns {"key"|"imitation"|"name_only"|"none"}
 */
export function issuerMatch(leafCert, probeChain) {
  const issuer = leafCert?.issuer;
  const named = issuer ? probeChain.filter((c) => c?.subject === issuer) : [];
  if (named.length === 0) return "none";
  const aki = keyId(leafCert?.aki);
  const skis = named.map((c) => keyId(c?.ski)).filter(Boolean);
  if (!aki || skis.length === 0) return "name_only";
  return skis.includes(aki) ? "key" : "imitation";
}

/**
 * The verdict for a page whose browser gave only the leaf: the host's verdict on the leaf alone (the
 * host verifies the leaf's signature where it knows the issuer: a public intermediate it carries,
 * docs/design.md) and its probe of the origin, together.
 *
 * - The leaf alone is banned: banned, whatever the probe saw.
 * - The probe saw the same leaf as the browser: the probe's chain is this page's chain.
 * - The host judged the leaf alone by its issuer (a public intermediate it knows: `ok` verified by
 *   signature, or an imitation; a banned or allow-listed root): that verdict.
 * - The probe saw another leaf (servers rotate them) whose issuer the browser's leaf names, matched
 *   by key ({@link issuerMatch} `key`: the leaf's authority key id is that certificate's subject key
 *   id): the probe's verdict stands.
 * - The same issuer name with another key (`imitation`): interception (`imitated_issuer`), never the
 *   probe's clean verdict.
 * - A name without key ids to compare, or an issuer the network did not show the probe: the leaf's
 *   own verdict (its issuer as anchor: usually interception): the browser's path is not the probe's,
 *   and a name proves nothing.
 * - The probe failed: the leaf's verdict if that is not unknown, else the failure.
 * @param {object|null} leafVerdict  host verdict for `check` with `chain: [leaf]`
 * @param {object|null} probeVerdict  host verdict for `probe`
 * @param {string|null} leafSha256  lowercase hex, when the browser gave it
 * @returns {object|null}  a verdict with `leaf_matches_probe` (true/false/null) and, when the probe's
 *   chain was compared, `issuer_match` ({@link issuerMatch})
 */
export function combineLeafAndProbe(leafVerdict, probeVerdict, leafSha256 = null) {
  const probeDetail = probeVerdict?.probe ?? null;
  const withProbe = (v, matches, extra = {}) => ({ ...v, probe: probeDetail, leaf_matches_probe: matches, ...extra });
  if (leafVerdict?.level === "banned") return withProbe(leafVerdict, null);
  const probed = probeVerdict && probeVerdict.level !== "unknown" && Array.isArray(probeVerdict.chain);
  const sha = leafSha256 ?? leafVerdict?.chain?.[0]?.cert_sha256 ?? null;
  if (probed && sha && probeVerdict.chain[0]?.cert_sha256 === sha) return { ...probeVerdict, leaf_matches_probe: true };
  // The host judged the leaf by its issuer itself (a public intermediate it knows, a banned or allow-listed
  // root, an imitation of a public issuer): that is evidence about the browser's own certificate.
  const issuerUnknown = ISSUER_UNKNOWN.has(leafVerdict?.path?.outcome);
  if (leafVerdict && leafVerdict.level !== "unknown" && !issuerUnknown) return withProbe(leafVerdict, probed ? false : null);
  if (probed) {
    if (!leafVerdict) return { ...probeVerdict, leaf_matches_probe: false };
    const match = issuerMatch(leafVerdict.chain?.[0] ?? null, probeVerdict.chain);
    if (match === "key") return { ...probeVerdict, leaf_matches_probe: false, issuer_match: match };
    if (match === "imitation") {
      return withProbe(leafVerdict, false, {
        level: "interception", category: "unknown-interception", reason: "imitated_issuer", issuer_match: match,
        explanation: "The browser's certificate names the site's issuer, but with another key than the issuer the site presents.",
      });
    }
    return withProbe(leafVerdict, false, { issuer_match: match });
  }
  if (leafVerdict && leafVerdict.level !== "unknown") return withProbe(leafVerdict, null);
  return probeVerdict ?? leafVerdict ?? null;
}

/**
 * Registers the Chromium listeners. Must run synchronously when the service worker starts.
 * @param {object} browser  the `chrome` API object
 * @param {import("../core/sentinel.js").Sentinel} sentinel
 * @param {{debuggerCapture?: DebuggerCapture, probeCache?: TtlCache}} [opts]  injectable for tests
 * @returns {{dbg: DebuggerCapture, probes: TtlCache, leaves: LeafStore, proxies: ProxySettings,
 *   securityInfo: SecurityInfoListener, securityInfoSpec: string|null}}  `securityInfoSpec` (a getter):
 *   the spec of the securityInfo listener while it is registered, else null
 */
export function registerCapture(browser, sentinel, { debuggerCapture, probeCache } = {}) {
  const { webRequest } = browser;
  const dbg = debuggerCapture ?? new DebuggerCapture(browser);
  const probes = probeCache ?? new TtlCache();
  const proxies = new ProxySettings(browser.proxy);

  /** The route of this response: the address the browser used and the proxy in force. */
  const routeOf = async (url, ip) => makeRoute(typeof ip === "string" && ip ? ip : null, await proxies.proxyFor(url));
  const probeKey = (url, route) => {
    const { host, port } = endpointOf(url);
    return `probe|${host}:${port}|${routeKey(route)}`;
  };
  const askProbe = (url, route) => {
    const { host, port } = endpointOf(url);
    return () => (sentinel.settings?.probing === false ? Promise.resolve(probingDisabledVerdict(url, host, port))
      : sentinel.host.request({ type: "probe", host, port, url, route }, { timeoutMs: PROBE_TIMEOUT_MS }));
  };
  const probeEvidence = (url, route) => ({ source: "probe", key: probeKey(url, route), cache: probes, ask: askProbe(url, route) });

  /** The evidence for one https response (onResponseStarted details), best source first (module doc). */
  async function evidenceFor(details) {
    const { url, tabId } = details;
    const leaf = leaves.take(details);
    await sentinel.policyKnown(); // nothing is judged before the managed settings are known (bounded)
    if (leaf) {
      const { host, port } = endpointOf(url);
      const route = await routeOf(url, details.ip);
      return {
        source: "security-info",
        key: `leaf|${leaf.sha256 ?? leaf.der}|${host}:${port}|${routeKey(route)}`,
        cache: probes,
        ask: async () => {
          const [lv, pv] = await Promise.allSettled([
            sentinel.host.request({ type: "check", url, chain: [leaf.der] }),
            probes.lookup(probeKey(url, route), askProbe(url, route)).then((r) => r.verdict),
          ]);
          const combined = combineLeafAndProbe(lv.value ?? null, pv.value ?? null, leaf.sha256);
          if (!combined) throw lv.reason instanceof HostError ? lv.reason : new HostError("host_unreachable", String(lv.reason?.message ?? ""));
          return combined;
        },
      };
    }
    // A tab is attached only in debugger mode: no other response waits for the settings to load.
    if (dbg.isAttached(tabId) && (await sentinel.currentSettings()).capture === "debugger") {
      const chain = await dbg.chain(tabId, originOf(url));
      if (chain.length) {
        return {
          source: "debugger",
          key: `chain|${new URL(url).hostname}|${chain[0]}`,
          ask: () => sentinel.host.request({ type: "check", url, chain }),
        };
      }
    }
    return probeEvidence(url, await routeOf(url, details.ip));
  }

  /** Enforce mode without blocking webRequest: a banned main frame is replaced once judged. */
  async function enforce(tabId, rec) {
    if (rec?.level !== "banned") return;
    const settings = await sentinel.currentSettings();
    if (settings.mode !== "enforce") return;
    await browser.storage.session.set({ [`blocked:${tabId}`]: { record: rec, at: Date.now() } });
    await browser.tabs.update(tabId, { url: `${browser.runtime.getURL(BLOCKED_PAGE)}?tab=${encodeURIComponent(tabId)}` });
    sentinel.reportBlocked(rec);
  }

  // Registered first, so that where it works it fires (in onHeadersReceived) before the response starts.
  const leaves = new LeafStore();
  const filter = { urls: ["https://*/*", "wss://*/*"] };
  const securityInfo = new SecurityInfoListener(webRequest, leaves, filter);

  // The one listener every https response reaches: it carries the address the browser connected to.
  // A response of an origin (and address) already captured on the tab's page returns at once, but for
  // a sample (PageOrigins), as Firefox does; main frames always do the work.
  webRequest.onResponseStarted.addListener((details) => {
    if (details.tabId < 0) return;
    const main = details.type === "main_frame";
    const gate = `${originKey(details.url)} ${details.ip ?? ""}`;
    if (!main && !sentinel.wantsResponse(details.tabId, gate, details.fromCache)) {
      if (securityInfo.active) leaves.take(details);
      return;
    }
    const req = { tabId: details.tabId, url: details.url, requestId: details.requestId, main, fromCache: Boolean(details.fromCache) };
    const work = sentinel.observeEvidence(req, evidenceFor(details));
    (main ? work.then((rec) => enforce(details.tabId, rec)) : work).catch(() => {});
  }, filter);

  // A page that committed without a main-frame response of its own (a service worker fetched it, with
  // tabId -1; the back/forward cache restored it): the probe of its origin can show that the network
  // intercepts it (never that it is fine: Sentinel.judgeUnseenPage), never what the tab showed before
  // (issue 22 item 3). Not for a site whose access the person or the administrator withheld from the
  // extension (webRequest hides its responses, webNavigation does not): the helper connects to no such site.
  sentinel.judgeCommitted = async (tabId, state) => {
    if (typeof browser.permissions?.contains === "function") {
      const allowed = await browser.permissions.contains({ origins: [`${originOf(state.url)}/*`] }).catch(() => false);
      if (!allowed) return;
    }
    const rec = await sentinel.judgeUnseenPage(tabId, state, evidenceFor({ tabId, url: state.url }));
    await enforce(tabId, rec);
  };

  // Plain-http main frames start a new page too (their own level is unknown: not judged).
  webRequest.onHeadersReceived.addListener((details) => {
    if (details.tabId >= 0) sentinel.insecureMainFrame({ tabId: details.tabId, url: details.url, requestId: details.requestId });
  }, { urls: ["http://*/*"], types: ["main_frame"] });

  webRequest.onErrorOccurred.addListener((details) => {
    if (details.tabId < 0 || details.type !== "main_frame" || !isCertificateError(details.error)) return;
    routeOf(details.url, details.ip)
      .then((route) => sentinel.browserBlocked({ tabId: details.tabId, url: details.url, requestId: details.requestId,
        error: details.error, route }))
      .catch(() => {});
  }, { urls: ["https://*/*"], types: ["main_frame"] });

  // Debugger mode: attach to every tab before it loads anything.
  dbg.listen();
  const applyMode = (s) => (s?.capture === "debugger" ? dbg.enable() : dbg.disable()).catch(() => {});
  browser.tabs.onCreated.addListener((tab) => { if (dbg.active) dbg.attach(tab.id); });
  browser.webNavigation.onBeforeNavigate.addListener((d) => { if (d.frameId === 0 && dbg.active) dbg.attach(d.tabId); });
  onAreasChanged(browser.storage, (changes) => {
    if (changes.capture) sentinel.loadSettings().then(applyMode);
  });
  browser.permissions?.onAdded?.addListener(() => sentinel.currentSettings().then(applyMode));
  browser.permissions?.onRemoved?.addListener(() => { dbg.attached.clear(); });
  sentinel.currentSettings().then(applyMode);

  // The policy arrived or changed: no probe verdict judged under the old one may stand; judge open tabs again.
  const rejudge = () => rejudgeOpenTabs(browser, sentinel, async (url, tabId) => {
    // the best evidence a fresh visit would have: the chain the browser verified (debugger mode), else a probe
    const settings = await sentinel.currentSettings();
    if (settings.capture === "debugger" && dbg.isAttached(tabId)) {
      const chain = await dbg.chain(tabId, originOf(url)).catch(() => []);
      if (chain.length) {
        return { source: "debugger", key: `chain|${new URL(url).hostname}|${chain[0]}`,
          ask: () => sentinel.host.request({ type: "check", url, chain }) };
      }
    }
    return probeEvidence(url, await routeOf(url, null));
  }, enforce);
  sentinel.onPolicyChange(() => { probes.clear(); rejudge().catch(() => {}); });

  return {
    dbg, probes, leaves, proxies, securityInfo, rejudge,
    get securityInfoSpec() { return securityInfo.spec; },
  };
}

/**
 * Judges the https page of every open tab again, by a probe of its origin (what a fresh visit would get),
 * and applies enforce mode to the result.
 * @param {object} browser  the extension API (`tabs.query`)
 * @param {Sentinel} sentinel
 * @param {(url: string, tabId: number) => Promise<object>} evidence  the evidence for the tab's page
 * @param {(tabId: number, rec: object) => Promise<void>} enforce
 * @returns {Promise<number>} how many tabs were judged again
 */
export async function rejudgeOpenTabs(browser, sentinel, evidence, enforce) {
  const tabs = await browser.tabs.query({});
  const work = [];
  for (const tab of tabs ?? []) {
    const url = typeof tab?.url === "string" ? tab.url : "";
    if (!url.startsWith("https://") || typeof tab.id !== "number" || tab.id < 0) continue;
    const req = { tabId: tab.id, url, requestId: `rejudge:${Date.now()}`, main: true, fromCache: false, onScreen: true };
    work.push(sentinel.observeEvidence(req, evidence(url, tab.id)).then((rec) => enforce(tab.id, rec)).catch(() => {}));
  }
  await Promise.all(work);
  return work.length;
}

/** The verdict of a probe not made because probing is off (the host answers the same, reason `probing_disabled`). */
export function probingDisabledVerdict(url, host, port) {
  return { type: "verdict", level: "unknown", category: null, reason: "probing_disabled",
    explanation: `Probing disabled by policy: the helper does not connect to sites itself, so this page was not judged.`,
    names: { host }, evidence: "probe", chain: [], url, host,
    probe: { host, port, sni: null, elapsed_ms: 0, error: PROBING_DISABLED } };
}
