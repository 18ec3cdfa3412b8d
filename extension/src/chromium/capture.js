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
 *    `--enable-features=WebRequestSecurityInfo`; feature-detected, see
 *    {@link addSecurityInfoListener}). It carries the leaf only, so the host judges the leaf and
 *    also probes the origin; {@link combineLeafAndProbe} decides from both.
 * 3. `probe` (default): the host makes its own TLS connection to the origin (host, port, SNI) once
 *    per {@link PROBE_TTL_MS} and route, and judges the chain the network presented. The route is
 *    the browser's (issue 15, ../core/route.js): the address it connected to (`details.ip`, which
 *    Chromium gives in onResponseStarted / onBeforeRedirect / onErrorOccurred, not in
 *    onHeadersReceived: {@link AddressWaiter}) and the proxy in force (`chrome.proxy.settings`).
 *    It can still differ from what the browser got: a PAC script's or the system's choice of proxy
 *    (not exposed to extensions; the popup says so), QUIC, an interceptor that picks its victims.
 *
 * A certificate the browser refuses never reaches onHeadersReceived; `onErrorOccurred` gives a
 * `net::ERR_CERT_*` string (browser-apis.md 2.3) and the page becomes `browser-blocked`, explained
 * by a probe (`net::ERR_CERT_KNOWN_INTERCEPTION_BLOCKED`: Chrome itself recognised interception).
 *
 * Listeners are registered synchronously when the service worker starts (it is stopped when idle
 * and started again by the next event; field-reports D.20); per-tab verdicts live in
 * storage.session through the core's TabStates.
 */
import { originOf } from "../core/tabstate.js";
import { normalizeHex } from "../core/cache.js";
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

/**
 * Registers `listener` on onHeadersReceived asking for the leaf certificate, trying each
 * {@link SECURITY_INFO_SPECS} value. A browser whose schema lacks the value throws here; Chromium
 * 156 knows both values but, without its `WebRequestSecurityInfo` feature
 * (`--enable-features=WebRequestSecurityInfo`), rejects the registration later and silently
 * ("ExtraInfoSpec.securityInfo is allowed only with WebRequestSecurityInfo developer flag"): the
 * listener then never fires. So this listener only ever *adds* the leaf; a plain listener beside
 * it handles every response ({@link LeafWaiter}).
 * @returns {string|null} the value the schema accepted, or null
 */
export function addSecurityInfoListener(webRequest, listener, filter) {
  for (const spec of SECURITY_INFO_SPECS) {
    try {
      webRequest.onHeadersReceived.addListener(listener, filter, [spec]);
      return spec;
    } catch {
      // not in this browser's schema
    }
  }
  return null;
}

/** How long a response waits for its leaf once the securityInfo listener has proved to work (ms). */
export const LEAF_WAIT_MS = 1000;

/** How long a response waits for a leaf before the securityInfo listener has ever fired (ms). */
export const LEAF_PROBE_WAIT_MS = 50;

/**
 * Meets the two onHeadersReceived listeners of one response: the securityInfo listener `put`s the
 * leaf (or null), the plain listener `take`s it, waiting briefly when it comes first. Keyed by
 * request id and URL (a redirect hop has the same request id, field-reports D.19).
 */
export class LeafWaiter {
  constructor({ setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (h) => clearTimeout(h) } = {}) {
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.leaves = new Map();
    this.waiting = new Map();
    this.seen = false;
  }

  static key(details) {
    return `${details.requestId}|${details.url}`;
  }

  /** From the securityInfo listener: this response's leaf (null when the details had none). */
  put(details) {
    this.seen = true;
    const k = LeafWaiter.key(details);
    const leaf = leafOf(details);
    const waiter = this.waiting.get(k);
    if (waiter) {
      this.waiting.delete(k);
      waiter(leaf);
      return;
    }
    this.leaves.set(k, leaf);
    this.setTimer(() => this.leaves.delete(k), 30000);
  }

  /** From the plain listener: resolves with the leaf, or null when none came in time. */
  take(details) {
    const k = LeafWaiter.key(details);
    if (this.leaves.has(k)) {
      const leaf = this.leaves.get(k);
      this.leaves.delete(k);
      return Promise.resolve(leaf);
    }
    const waitMs = this.seen ? LEAF_WAIT_MS : LEAF_PROBE_WAIT_MS;
    return new Promise((resolve) => {
      const timer = this.setTimer(() => {
        this.waiting.delete(k);
        resolve(null);
      }, waitMs);
      this.waiting.set(k, (leaf) => {
        this.clearTimer(timer);
        resolve(leaf);
      });
    });
  }
}

/** How long a response's evidence waits for the address the browser connected to (ms). */
export const ADDRESS_WAIT_MS = 1000;

/**
 * Meets onHeadersReceived (where the evidence is gathered) and the later events that carry
 * `details.ip` (onResponseStarted, onBeforeRedirect, onErrorOccurred): `put` stores the address
 * (or null), `take` resolves with it, waiting up to {@link ADDRESS_WAIT_MS}. Keyed like
 * {@link LeafWaiter} by request id and URL.
 */
export class AddressWaiter {
  constructor({ setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (h) => clearTimeout(h), waitMs = ADDRESS_WAIT_MS } = {}) {
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.waitMs = waitMs;
    this.addresses = new Map();
    this.waiting = new Map();
  }

  /** From an event with `details.ip` (absent: null). The first report of a response wins. */
  put(details) {
    const k = LeafWaiter.key(details);
    const ip = typeof details?.ip === "string" && details.ip ? details.ip : null;
    const waiters = this.waiting.get(k);
    if (waiters) {
      this.waiting.delete(k);
      for (const w of waiters) w(ip);
      return;
    }
    if (this.addresses.has(k)) return;
    this.addresses.set(k, ip);
    this.setTimer(() => this.addresses.delete(k), 30000);
  }

  /** Resolves with the response's address, or null when none came in time. */
  take(details) {
    const k = LeafWaiter.key(details);
    if (this.addresses.has(k)) return Promise.resolve(this.addresses.get(k));
    return new Promise((resolve) => {
      const timer = this.setTimer(() => {
        const list = this.waiting.get(k) ?? [];
        const rest = list.filter((w) => w !== done);
        if (rest.length) this.waiting.set(k, rest); else this.waiting.delete(k);
        resolve(null);
      }, this.waitMs);
      const done = (ip) => {
        this.clearTimer(timer);
        resolve(ip);
      };
      this.waiting.set(k, [...(this.waiting.get(k) ?? []), done]);
    });
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
    this.api?.settings?.onChange?.addListener?.(() => { this.value = null; });
  }

  /** @returns {Promise<object>} the settings' `value` ({mode, rules?, pacScript?}) */
  async current() {
    if (this.value) return this.value;
    try {
      const got = await this.api.settings.get({});
      this.value = got?.value ?? { mode: "system" };
    } catch {
      return { mode: "system" };
    }
    return this.value;
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

/**
 * The verdict for a page whose browser gave only the leaf: the host's verdict on the leaf alone
 * and its probe of the origin, together.
 *
 * - The leaf alone matches a banned root by its issuer (name, key id): banned, whatever the probe saw.
 * - The probe saw the same leaf as the browser: the probe's chain is this page's chain.
 * - The probe saw another leaf (servers rotate them) from an issuer that is in the probe's chain:
 *   the probe's verdict stands.
 * - The browser's leaf comes from an issuer the network did not show the probe: the leaf's own
 *   verdict (its issuer is the anchor; usually interception), since the browser's path differs.
 * - The probe failed: the leaf's verdict if that is `ok` or worse than unknown, else the failure.
 * @param {object|null} leafVerdict  host verdict for `check` with `chain: [leaf]`
 * @param {object|null} probeVerdict  host verdict for `probe`
 * @param {string|null} leafSha256  lowercase hex, when the browser gave it
 * @returns {object|null}  a verdict with `leaf_matches_probe` (true/false/null)
 */
export function combineLeafAndProbe(leafVerdict, probeVerdict, leafSha256 = null) {
  const probeDetail = probeVerdict?.probe ?? null;
  if (leafVerdict?.level === "banned") return { ...leafVerdict, probe: probeDetail, leaf_matches_probe: null };
  const probed = probeVerdict && probeVerdict.level !== "unknown" && Array.isArray(probeVerdict.chain);
  if (probed) {
    const sha = leafSha256 ?? leafVerdict?.chain?.[0]?.cert_sha256 ?? null;
    if (sha && probeVerdict.chain[0]?.cert_sha256 === sha) return { ...probeVerdict, leaf_matches_probe: true };
    const issuer = leafVerdict?.chain?.[0]?.issuer;
    if (!leafVerdict || leafVerdict.level === "unknown" || (issuer && probeVerdict.chain.some((c) => c.subject === issuer))) {
      return { ...probeVerdict, leaf_matches_probe: false };
    }
    return { ...leafVerdict, probe: probeDetail, leaf_matches_probe: false };
  }
  if (leafVerdict && leafVerdict.level !== "unknown") return { ...leafVerdict, probe: probeDetail, leaf_matches_probe: null };
  return probeVerdict ?? leafVerdict ?? null;
}

/**
 * Registers the Chromium listeners. Must run synchronously when the service worker starts.
 * @param {object} browser  the `chrome` API object
 * @param {import("../core/sentinel.js").Sentinel} sentinel
 * @param {{debuggerCapture?: DebuggerCapture, probeCache?: TtlCache, addressWaiter?: AddressWaiter}} [opts]
 *   injectable for tests
 * @returns {{dbg: DebuggerCapture, probes: TtlCache, leaves: LeafWaiter, addresses: AddressWaiter,
 *   proxies: ProxySettings, securityInfoSpec: string|null}}
 */
export function registerCapture(browser, sentinel, { debuggerCapture, probeCache, addressWaiter } = {}) {
  const { webRequest } = browser;
  const dbg = debuggerCapture ?? new DebuggerCapture(browser);
  const probes = probeCache ?? new TtlCache();
  const addresses = addressWaiter ?? new AddressWaiter();
  const proxies = new ProxySettings(browser.proxy);

  /** The route of this response: the address the browser used and the proxy in force. */
  const routeOf = async (url, addressPromise) => {
    const [ip, proxy] = await Promise.all([addressPromise, proxies.proxyFor(url)]);
    return makeRoute(ip, proxy);
  };
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

  /** The evidence for one https response, best source first (module doc). */
  async function evidenceFor(details) {
    const { url, tabId } = details;
    const addressPromise = addresses.take(details); // started now: the address comes in a later event
    await sentinel.policyKnown(); // nothing is judged before the managed settings are known (bounded)
    const leaf = securityInfoSpec ? await leaves.take(details) : null;
    if (leaf) {
      const { host, port } = endpointOf(url);
      const route = await routeOf(url, addressPromise);
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
    const settings = await sentinel.currentSettings();
    if (settings.capture === "debugger" && dbg.isAttached(tabId)) {
      const chain = await dbg.chain(tabId, originOf(url));
      if (chain.length) {
        return {
          source: "debugger",
          key: `chain|${new URL(url).hostname}|${chain[0]}`,
          ask: () => sentinel.host.request({ type: "check", url, chain }),
        };
      }
    }
    return probeEvidence(url, await routeOf(url, addressPromise));
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

  // Registered first, so that where it works it fires before the plain listener below.
  const leaves = new LeafWaiter();
  const filter = { urls: ["https://*/*", "wss://*/*"] };
  const securityInfoSpec = addSecurityInfoListener(webRequest, (details) => {
    if (details.tabId >= 0) leaves.put(details);
  }, filter);

  webRequest.onHeadersReceived.addListener((details) => {
    if (details.tabId < 0) return;
    const main = details.type === "main_frame";
    const req = { tabId: details.tabId, url: details.url, requestId: details.requestId, main, fromCache: Boolean(details.fromCache) };
    const work = sentinel.observeEvidence(req, evidenceFor(details));
    (main ? work.then((rec) => enforce(details.tabId, rec)) : work).catch(() => {});
  }, filter);

  // Plain-http main frames start a new page too (their own level is unknown: not judged).
  webRequest.onHeadersReceived.addListener((details) => {
    if (details.tabId >= 0) sentinel.insecureMainFrame({ tabId: details.tabId, url: details.url, requestId: details.requestId });
  }, { urls: ["http://*/*"], types: ["main_frame"] });

  // The address the browser connected to (details.ip) comes after onHeadersReceived.
  const putAddress = (details) => { if (details.tabId >= 0) addresses.put(details); };
  for (const event of ["onResponseStarted", "onBeforeRedirect", "onErrorOccurred"]) {
    webRequest[event]?.addListener(putAddress, filter);
  }

  webRequest.onErrorOccurred.addListener((details) => {
    if (details.tabId < 0 || details.type !== "main_frame" || !isCertificateError(details.error)) return;
    routeOf(details.url, Promise.resolve(details.ip ?? null))
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
  const rejudge = () => rejudgeOpenTabs(browser, sentinel, async (url) => probeEvidence(url, await routeOf(url, Promise.resolve(null))), enforce);
  sentinel.onPolicyChange(() => { probes.clear(); rejudge().catch(() => {}); });

  return { dbg, probes, leaves, addresses, proxies, securityInfoSpec, rejudge };
}

/**
 * Judges the https page of every open tab again, by a probe of its origin (what a fresh visit would get),
 * and applies enforce mode to the result.
 * @param {object} browser  the extension API (`tabs.query`)
 * @param {Sentinel} sentinel
 * @param {(url: string) => Promise<object>} evidence  the probe evidence for a URL
 * @param {(tabId: number, rec: object) => Promise<void>} enforce
 * @returns {Promise<number>} how many tabs were judged again
 */
export async function rejudgeOpenTabs(browser, sentinel, evidence, enforce) {
  const tabs = await browser.tabs.query({});
  const work = [];
  for (const tab of tabs ?? []) {
    const url = typeof tab?.url === "string" ? tab.url : "";
    if (!url.startsWith("https://") || typeof tab.id !== "number" || tab.id < 0) continue;
    const req = { tabId: tab.id, url, requestId: `rejudge:${Date.now()}`, main: true, fromCache: false };
    work.push(sentinel.observeEvidence(req, evidence(url)).then((rec) => enforce(tab.id, rec)).catch(() => {}));
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
