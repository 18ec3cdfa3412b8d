/**
 * The shared background core: asks the host about captured chains, keeps per-tab state, draws the
 * badge, notifies, and decides enforce-mode blocking. Browser-specific capture lives in ../firefox/
 * (getSecurityInfo: {@link Sentinel#observe}) and ../chromium/ (debugger chain, webRequest leaf,
 * probe: {@link Sentinel#observeEvidence}); both also call {@link Sentinel#insecureMainFrame} and
 * {@link Sentinel#browserBlocked}.
 */
import { badgeStyle, rank } from "./levels.js";
import { iconPath } from "./icon.js";
import { HOST_MISSING, HostError } from "./hostport.js";
import { CapturePlan, KnownCertificates, PageOrigins, PageSeen, cacheKey, originKey } from "./cache.js";
import { originOf } from "./tabstate.js";
import { loadSettings, readManaged } from "./settings.js";
import { explainRecord, tooltip } from "./explain.js";
import { WorkerResponses } from "./workers.js";
import { SubresourceGate } from "./enforce.js";

/** storage.session key: the managed settings were known once in this browser session. */
const POLICY_KNOWN = "policyKnown";

/** How many keys managed storage has now (0 when none, or not yet loaded). */
async function readManagedKeys(storage) {
  return Object.keys(await readManaged(storage)).length;
}

/** Path of the enforce-mode explanation page inside the extension. */
export const BLOCKED_PAGE = "blocked/blocked.html";

/**
 * What a tab's action shows right after the browser cleared its tab-specific values: the manifest's
 * defaults (no text, the default colour, `default_title`, `default_icon`, which is the neutral icon).
 */
const CLEARED_BADGE = Object.freeze({ text: "", color: null, title: null, icon: iconPath(null) });

/** Failures of the host itself (not of its judgement): the next capture would fail alike. */
const HOST_FAILURE_CODES = new Set(["host_unreachable", "timeout"]);

/** Host failures on a page after which its origins' later responses are not captured (Firefox). */
export const HOST_FAILURES_PER_PAGE = 2;

/** {@link Sentinel#recordOf}: the response repeats a leaf and host judged on the page (nothing to record). */
const REPEAT = Symbol("repeat");

/** Longest time an enforce-mode main frame waits for the host before it is let through (ms). */
export const ENFORCE_WAIT_MS = 8000;

/** Probes make their own TLS connection, so they get longer than a check (ms). */
export const PROBE_TIMEOUT_MS = 20000;

/** The record of the worst level in a page state (the main frame wins ties). */
export function worstRecord(state) {
  if (!state) return null;
  let best = state.main ?? null;
  for (const rec of Object.values(state.origins ?? {})) {
    if (!best || rank(rec.level) > rank(best.level)) best = rec;
  }
  return best;
}

/** Builds a tab-state Record from a host verdict (docs/protocol.md "verdict"). */
export function recordFromVerdict(verdict, { url, hostname, fromCache, cached, keepDetail }) {
  const level = typeof verdict?.level === "string" ? verdict.level : "unknown";
  const names = verdict?.names && typeof verdict.names === "object" ? { ...verdict.names } : {};
  if (hostname) names.host = hostname;
  return {
    origin: originOf(url),
    url,
    level,
    category: verdict?.category ?? null,
    reason: verdict?.reason ?? null,
    names,
    evidence: verdict?.evidence ?? null,
    fromCache: Boolean(fromCache),
    cached: Boolean(cached),
    error: null,
    verdict: keepDetail || level !== "ok" ? verdict : null,
  };
}

/** Builds an `unknown` Record for a request the host could not judge. */
export function failureRecord(url, code, message) {
  let hostname = null;
  try { hostname = new URL(url).hostname; } catch { /* keep null */ }
  return {
    origin: originOf(url), url, level: "unknown", category: null, reason: null,
    names: hostname ? { host: hostname } : {}, evidence: null, fromCache: false, cached: false,
    error: { code, message: String(message ?? "") }, verdict: null,
  };
}

/** The origin of a page state's document (null for documents without one). */
function pageOrigin(state) {
  return state?.main?.origin ?? originOf(state?.url);
}

/** Schemes of documents that have no TLS of their own: their content comes from the page that made them. */
const CREATED_BY_PAGE = /^(about:(blank|srcdoc)|blob:|data:|javascript:)/i;

/**
 * The state of a page that committed without a main-frame response we judged (tabstate.js commit):
 * - http(s): `unknown` ("not checked", `no_security_info`; `insecure` for http), never a verdict
 *   remembered for the URL (issue 22 item 3);
 * - a document without TLS of its own (about:blank, about:srcdoc, blob:, data:): the records of its
 *   creator (`creator`, the committed state of the page that navigated or opened it), marked
 *   `inherited`, when the creator's origin may have written it (blob: of the same origin, about:blank,
 *   about:srcdoc); else "not checked" (issue 22 item 10);
 * - anything else (the browser's own pages, extension pages): null, no state.
 * @param {string} url  the committed URL
 * @param {object|null} creator  PageState of the document that made this one
 * @returns {{main: object, origins: object, inheritedFrom?: string}|null}
 */
export function freshState(url, creator = null) {
  if (/^https?:/i.test(url)) {
    const rec = failureRecord(url, "no_security_info", "");
    if (/^http:/i.test(url)) { rec.error = null; rec.reason = "insecure"; }
    return { main: rec, origins: {} };
  }
  if (!CREATED_BY_PAGE.test(url)) return null;
  let inherit = Boolean(creator?.main) && !/^(data|javascript):/i.test(url);
  if (inherit && /^blob:/i.test(url)) inherit = originOf(url.slice(5)) === (creator.main.origin ?? originOf(creator.url));
  if (inherit) {
    return {
      main: { ...creator.main, inherited: true },
      origins: { ...(creator.origins ?? {}) },
      inheritedFrom: creator.url,
    };
  }
  const rec = failureRecord(url, "no_security_info", "");
  rec.origin = null;
  return { main: rec, origins: {} };
}

/** Levels a separate connection's verdict may give a page committed without a response of its own
 * ({@link Sentinel#judgeUnseenPage}): only findings, never a clean bill. */
const UNSEEN_PAGE_LEVELS = new Set(["interception", "banned"]);

export class Sentinel {
  /**
   * @param {object} opts
   * @param {object} opts.browser  the WebExtension API object
   * @param {import("./hostport.js").HostPort} opts.host
   * @param {import("./cache.js").VerdictCache} opts.cache
   * @param {import("./tabstate.js").TabStates} opts.tabs
   * @param {(key: string, subs?: string[]) => string} opts.t  translator
   * @param {string} [opts.client]  browser family named in `hello` ("firefox" | "chromium")
   */
  constructor({ browser, host, cache, tabs, t, client = "firefox", managedWaitMs = 0,
    setTimer = (f, ms) => setTimeout(f, ms) }) {
    this.browser = browser;
    this.hostSettings = null; // the `settings` of the host's hello reply (system config), null before it
    this.hostAnswered = false; // a hello reply arrived on some connection
    this.policyListeners = [];
    this.managedWaitMs = managedWaitMs;
    this.setTimer = setTimer;
    this.policyKnownPromise = null;
    this.client = client;
    this.host = host;
    this.cache = cache;
    this.tabs = tabs;
    this.t = t;
    this.settings = null;
    this.settingsLoading = null;
    this.notified = new Set();
    this.known = new KnownCertificates();
    this.plan = new CapturePlan();
    this.seen = new PageSeen();
    this.origins = new PageOrigins();
    this.drawn = new Map(); // tabId -> {text, color, title} last set ({@link applyBadge})
    this.openers = new Map(); // tabId -> the tab that opened it (webNavigation.onCreatedNavigationTarget)
    this.blockedUrls = new Map(); // tabId -> URL of the main frame enforce mode replaced
    this.workers = new WorkerResponses();
    this.gate = new SubresourceGate({ waitMs: ENFORCE_WAIT_MS }); // enforce mode for frames and subresources
    this.hostFailures = new Map(); // tabId -> {gen, n}: host failures on the tab's page ({@link hostFailed})
    /** Set by an adapter that can judge a page committed without a response: (tabId, state) => Promise. */
    this.judgeCommitted = null;
  }

  /**
   * Whether the Firefox listener asks getSecurityInfo for this (non-main-frame) response
   * ({@link PageOrigins#wants}: an origin's first response on the tab's page, and a sample of the rest;
   * responses from the HTTP cache apart from live ones). Synchronous: it runs before getSecurityInfo.
   */
  wantsResponse(tabId, origin, fromCache = false) {
    return this.origins.wants(tabId, this.tabs.genOf(tabId), PageOrigins.keyOf(origin, fromCache));
  }

  /**
   * Loads settings (managed over local). Safe to call repeatedly; resolves with the settings of the
   * newest load: an older load that finishes late (Chromium answers storage.managed only once its
   * policy service is up, seconds after the browser starts) neither overwrites nor is returned.
   */
  loadSettings() {
    const seq = (this.settingsSeq = (this.settingsSeq ?? 0) + 1);
    this.settingsPending = true;
    this.settingsLoading = loadSettings(this.browser.storage, this.hostSettings).then((s) => {
      if (seq !== this.settingsSeq) return this.settingsLoading;
      this.settings = s;
      this.settingsPending = false;
      return s;
    });
    return this.settingsLoading;
  }

  /**
   * The host's `hello` reply said which settings its system config sets (`settings`, docs/protocol.md):
   * they apply under the managed settings ({@link loadSettings}). Reloads settings when they changed.
   * @returns {Promise<object>|null} the reload, or null when nothing changed
   */
  applyHostSettings(settings) {
    this.hostAnswered = true;
    const next = settings && typeof settings === "object" ? settings : null;
    if (JSON.stringify(next) === JSON.stringify(this.hostSettings)) return null;
    const before = this.settings;
    this.hostSettings = next;
    return this.loadSettings().then((s) => {
      if (before && (before.mode !== s.mode || before.probing !== s.probing)) this.policyChanged();
      return s;
    });
  }

  /**
   * Resolves once the managed settings can be trusted to be known (issue 23 item 5): at once when
   * `managedWaitMs` is 0 (Firefox reads policies before extensions start) or managed storage already has
   * something; else when managed storage changes ({@link managedArrived}) or `managedWaitMs` after the
   * first call, whichever comes first. Chromium answers `storage.managed` only once its policy service
   * is up, seconds after start: what is judged in that window would outlive the policy. The background
   * calls it at start, so the bound counts from the worker's start, not from the first page.
   * @returns {Promise<void>}
   */
  policyKnown() {
    if (this.policyKnownPromise) return this.policyKnownPromise;
    if (!this.managedWaitMs) return (this.policyKnownPromise = Promise.resolve());
    const session = this.browser.storage?.session;
    this.policyKnownPromise = new Promise((resolve) => {
      this.resolvePolicyKnown = resolve;
      this.setTimer(resolve, this.managedWaitMs);
      readManagedKeys(this.browser.storage).then((n) => { if (n > 0) resolve(); });
      // A service worker restarted later in the same browser session does not wait again.
      Promise.resolve(session?.get?.(POLICY_KNOWN)).then((v) => { if (v?.[POLICY_KNOWN]) resolve(); }, () => {});
    }).then(() => { Promise.resolve(session?.set?.({ [POLICY_KNOWN]: true })).catch(() => {}); });
    return this.policyKnownPromise;
  }

  /** Managed storage changed (it arrived, or the administrator changed it): {@link policyKnown} resolves. */
  managedArrived() {
    if (!this.policyKnownPromise) this.policyKnownPromise = Promise.resolve();
    this.resolvePolicyKnown?.();
  }

  /**
   * Registers `fn()`, called when a setting that changes verdicts or enforcement changed (policy,
   * probing, mode): the Chromium adapter drops its probe cache and judges open tabs again.
   */
  onPolicyChange(fn) {
    this.policyListeners.push(fn);
  }

  /** Forgets every verdict judged under the settings before, and tells the listeners ({@link onPolicyChange}). */
  policyChanged() {
    this.cache.clear();
    this.known.clear();
    for (const fn of this.policyListeners) {
      try { fn(); } catch { /* one adapter's failure does not stop the others */ }
    }
  }

  /** Settings, loading them first if the event page just started. */
  async currentSettings() {
    if (this.settings && !this.settingsPending) return this.settings;
    return await (this.settingsLoading ?? this.loadSettings()); // a newer load (policy, host's hello) is on its way
  }

  /**
   * True when a main frame must be held until its verdict (enforce mode), or when that is not yet known:
   * no settings yet, or the host's hello (which says the system config's `mode`) not answered on an open port.
   * A port that retries a host last found missing (HostPort.navigated, at every navigation) holds nothing:
   * without a host each page would wait for the browser to fail the port again (issue 27).
   */
  holdsMainFrames() {
    if (this.settings === null || this.settings.mode === "enforce") return true;
    return !this.hostAnswered && Boolean(this.host?.connected) && !HOST_MISSING.test(this.host?.lastError ?? "");
  }

  /**
   * Enforce mode for a frame or subresource (Firefox, ./enforce.js): the blocking response once its
   * Record is known, `{cancel: true}` when banned; `{}` at once outside enforce mode.
   * @param {string} url
   * @param {Promise<object|null>} recordPromise
   */
  async blockingSubresource(url, recordPromise) {
    const settings = await this.currentSettings();
    if (settings.mode !== "enforce") return {};
    const res = await this.gate.hold(url, recordPromise);
    if (res.cancel) recordPromise.then((rec) => { if (rec) this.reportBlocked(rec); }).catch(() => {});
    return res;
  }

  /** The `hello` request: client name and the managed policy (docs/protocol.md). */
  helloMessage() {
    const msg = { type: "hello", client: `${this.client}/${this.browser.runtime.getManifest().version}` };
    if (this.settings?.policy) msg.policy = this.settings.policy;
    if (this.settings?.acknowledged?.length) msg.acknowledged_spki_sha256 = this.settings.acknowledged;
    return msg;
  }

  /**
   * One https response with its security info, as captured by a browser adapter.
   * @param {object} req  {tabId, url, requestId, main: boolean, fromCache: boolean, origin?: string,
   *   der?: boolean}: `origin` the {@link originKey} the capture plan was asked for, `der` whether
   *   rawDER was asked for ({@link CapturePlan#take})
   * @param {Promise<object|undefined>} securityInfoPromise  from getSecurityInfo, already started
   * @returns {Promise<object|null>} the Record added to the tab (null when nothing to record)
   */
  async observe(req, securityInfoPromise) {
    const { tabId, url, main } = req;
    const origin = req.origin ?? originKey(url);
    const start = await this.startObservation(req, securityInfoPromise, undefined);
    if (!start) return null;
    const { gen, hostname, evidence: si } = start;
    const rec = await this.recordOf(req, gen, hostname, origin, si);
    // Judged (now, or a repeat of a leaf judged on the page): the page's other responses of this origin
    // need not be captured (PageOrigins). Not judged (not secure, no chain, no verdict): the next one is.
    const judged = si?.state === "secure" && (rec === REPEAT || (rec !== null && !rec.provisional && !rec.error));
    const claimKey = PageOrigins.keyOf(origin, req.fromCache);
    // A host that could not be asked (not installed, crashed, silent) stays so for a while: after
    // HOST_FAILURES_PER_PAGE such failures on a page its origins are not captured again there (each
    // capture would only fail again: 72 getSecurityInfo calls a load instead of 15, issue 27).
    const backOff = !judged && rec?.error && HOST_FAILURE_CODES.has(rec.error.code)
      && this.hostFailed(tabId, gen) >= HOST_FAILURES_PER_PAGE;
    if (!judged && !backOff) this.origins.release(tabId, gen, claimKey);
    else if (main) this.origins.claim(tabId, gen, claimKey);
    return rec === null || rec === REPEAT ? null : this.finishObservation(tabId, gen, rec, main);
  }

  /** Counts a failure to reach the host on page `gen` of `tabId`; returns the page's count. */
  hostFailed(tabId, gen) {
    const prev = this.hostFailures.get(tabId);
    const n = prev?.gen === gen ? prev.n + 1 : 1;
    this.hostFailures.set(tabId, { gen, n });
    return n;
  }

  /**
   * The Record of one captured response, {@link REPEAT} for a leaf and host judged on the page already,
   * or null when there is nothing to record; see {@link observe}.
   */
  async recordOf(req, gen, hostname, origin, si) {
    const { tabId, url, main } = req;
    // Not secure: the host may need the DER of what this origin presents (its next response brings it).
    if (si?.state !== "secure" && !req.der) this.plan.wantAgain(origin);
    const leafFp = si?.certificates?.[0]?.fingerprint?.sha256;
    const seenKey = typeof leafFp === "string" ? `${hostname}|${leafFp}` : null;
    // Fast path: this leaf on this host was judged on this page already; nothing new to record.
    if (!main && seenKey !== null && this.seen.has(tabId, gen, seenKey)) return REPEAT;

    if (!si || !Array.isArray(si.certificates) || si.certificates.length === 0) {
      if (si?.state === "insecure") return recordFromVerdict({ level: "unknown", reason: "insecure" }, { url, hostname });
      // Restricted or revoked host permission gives undefined (browser-apis.md 1.1): never "ok".
      return main ? failureRecord(url, "no_security_info", "") : null;
    }
    const rec = await this.judge(req, hostname, this.cache, cacheKey(si, hostname), () => this.askHost(url, si, req.fromCache));
    if (rec.verdict?.der_wanted) rec.provisional = true;
    if (rec.provisional) {
      // Not judged for want of DER: the next response of this origin sends it. (A host that could not
      // be asked does not re-arm the plan: DER would not help it, and a host that comes back without
      // the facts says der_wanted itself.)
      this.plan.wantAgain(origin);
    } else if (seenKey !== null && rec.level !== "unknown") {
      this.seen.add(tabId, gen, seenKey);
    }
    return rec;
  }

  /**
   * The start shared by {@link observe} and {@link observeEvidence}: a main frame starts a pending
   * page, which the badge shows once it commits ({@link committed}); any other response belongs to
   * the page of its top-level document (`documentUrl`, where the browser says: a response can race
   * its page's commit), else to the committed page. Then the evidence is awaited (`failed` if its
   * promise rejects).
   * @returns {Promise<{gen: number, hostname: string, evidence: any}|null>}  null: nothing to record
   */
  async startObservation({ tabId, url, main, requestId, documentUrl, onScreen }, evidencePromise, failed) {
    let gen;
    if (!main) gen = this.tabs.genOf(tabId, documentUrl);
    else if (onScreen) gen = this.tabs.startPage(tabId, url, requestId); // the page shown now, judged again
    else gen = this.tabs.startResponse(tabId, url, requestId);
    let evidence;
    try { evidence = await evidencePromise; } catch { evidence = failed; }
    await this.tabs.ready();
    if (gen === null) gen = this.tabs.genOf(tabId, documentUrl);
    if (gen === null) return null;
    let hostname = null;
    try { hostname = new URL(url).hostname; } catch { return null; }
    return { gen, hostname, evidence };
  }

  /** The Record of a verdict looked up in `cache` (asked with `ask` when not there); a failure's Record otherwise. */
  async judge({ url, fromCache, main }, hostname, cache, key, ask) {
    // No wait for the settings here: requests to the host wait for its hello, which carries them
    // (HostPort helloReady), and a missing host is known before they load.
    try {
      const { verdict, cached } = await cache.lookup(key, ask);
      return recordFromVerdict(verdict, { url, hostname, fromCache, cached, keepDetail: main });
    } catch (e) {
      return e instanceof HostError ? failureRecord(url, e.code, e.message) : failureRecord(url, "internal", e?.message);
    }
  }

  /**
   * One https response a worker fetched outside any tab (Firefox `tabId: -1`, ./workers.js): judged
   * like any response, kept for the worker's origin, and added to every tab whose page has that
   * origin; it is the page's own (main) record where that page committed without a response of its
   * own (a navigation the worker served).
   * @param {object} req  {url, requestId, fromCache, origin, worker, der}
   * @param {Promise<object|undefined>} securityInfoPromise  from getSecurityInfo, already started
   * @returns {Promise<object|null>} the Record, or null when nothing was judged
   */
  async observeWorker(req, securityInfoPromise) {
    const { url, origin, worker } = req;
    let si;
    try { si = await securityInfoPromise; } catch { si = undefined; }
    let hostname = null;
    try { hostname = new URL(url).hostname; } catch { return null; }
    if (si?.state !== "secure" || !Array.isArray(si.certificates) || si.certificates.length === 0) {
      if (!req.der) this.plan.wantAgain(origin);
      this.workers.release(worker, origin, req.fromCache);
      return null;
    }
    const rec = await this.judge({ ...req, main: true }, hostname, this.cache, cacheKey(si, hostname),
      () => this.askHost(url, si, req.fromCache));
    if (rec.verdict?.der_wanted || rec.error) {
      if (rec.verdict?.der_wanted) this.plan.wantAgain(origin);
      this.workers.release(worker, origin, req.fromCache);
      if (rec.verdict?.der_wanted) return null;
    }
    rec.source = "service-worker";
    this.workers.put(worker, rec);
    await this.tabs.ready();
    for (const [tabId, state] of this.tabs.tabs) {
      if (pageOrigin(state) === worker) this.addWorkerRecord(tabId, state, rec);
    }
    return rec;
  }

  /**
   * Adds a worker's Record to a tab's committed page: as its main record where the page has none of
   * its own and the record is a live response of the page's origin (not the HTTP cache's older
   * handshake), else as an origin record.
   */
  addWorkerRecord(tabId, state, rec) {
    const own = rec.origin === pageOrigin(state) && !rec.fromCache && state.requestId == null
      && state.main?.error?.code === "no_security_info";
    this.finishObservation(tabId, state.gen, { ...rec }, own);
  }

  /** Adds a Record to the tab's page `gen` and notifies when it is banned; returns it. */
  finishObservation(tabId, gen, rec, main) {
    this.gate.judged(rec.url, rec.level);
    this.tabs.record(tabId, gen, rec, { main });
    if (rec.level === "banned") this.notifyBanned(tabId, gen, rec);
    return rec;
  }

  /**
   * One `check` request: the SecurityInfo as Firefox gave it (rawDER as arrays of byte values),
   * without the raw DER of certificates already judged, with `fromCache` inside it
   * (native_host/schemas/securityinfo.schema.json). Resolves with the verdict.
   */
  async askHost(url, si, fromCache) {
    const { securityInfo } = this.known.strip(si);
    securityInfo.fromCache = Boolean(fromCache);
    const verdict = await this.host.request({ type: "check", url, securityInfo });
    if (verdict?.der_wanted) {
      this.known.forgetFrom(si); // the host does not have them (it restarted, or forgot them)
    } else if (verdict?.type === "verdict" && verdict.level !== "unknown") {
      this.known.addFrom(si);
    }
    // Which certificates went without DER (already judged, or captured without rawDER), so the popup
    // does not report the host's "no rawDER" note as a parse problem (render.js).
    const withoutDer = [];
    securityInfo.certificates.forEach((c, i) => { if (c && !("rawDER" in c)) withoutDer.push(i); });
    if (verdict && withoutDer.length) verdict.sent_without_der = withoutDer;
    return verdict;
  }

  /**
   * One https response whose evidence the browser adapter gathers itself (the Chromium family has
   * no getSecurityInfo: a chain read through chrome.debugger, a leaf from webRequest plus a probe,
   * or a probe alone). Like {@link observe}, a main frame starts a new page at once (`pending`).
   * @param {object} req  {tabId, url, requestId, main: boolean, fromCache: boolean, onScreen?: boolean}:
   *   `onScreen` for the page the tab shows now, judged again (no commit follows)
   * @param {Promise<object|null>} evidencePromise  resolves with
   *   `{source, key, ask, cache?}`: `source` names the evidence source for the popup
   *   ("debugger" | "security-info" | "probe"), `ask()` resolves with the host's verdict,
   *   `key` is its cache key (null: not cached), `cache` a cache with a `lookup(key, ask)` like
   *   {@link VerdictCache} (default: the shared verdict cache);
   *   or with null when there is no evidence (a main frame is then `unknown`, never `ok`).
   * @returns {Promise<object|null>} the Record added to the tab
   */
  async observeEvidence(req, evidencePromise) {
    const { tabId, url, main } = req;
    const start = await this.startObservation(req, evidencePromise, null);
    if (!start) return null;
    const { gen, hostname, evidence: ev } = start;

    let rec;
    if (!ev || typeof ev.ask !== "function") {
      if (!main) return null;
      rec = failureRecord(url, "no_security_info", "");
    } else {
      rec = await this.judge(req, hostname, ev.cache ?? this.cache, ev.key ?? null, ev.ask);
      rec.source = ev.source ?? null;
    }
    return this.finishObservation(tabId, gen, rec, main);
  }

  /** A plain-http main frame: a new (pending) page whose own level is `unknown` (reason `insecure`). */
  insecureMainFrame({ tabId, url, requestId }) {
    const gen = this.tabs.startResponse(tabId, url, requestId);
    let hostname = null;
    try { hostname = new URL(url).hostname; } catch { /* keep null */ }
    this.tabs.record(tabId, gen, recordFromVerdict({ level: "unknown", reason: "insecure" }, { url, hostname }), { main: true });
  }

  /**
   * The browser refused the main frame's certificate (no chain reaches the extension; browser-apis.md
   * 1.4): the page is `browser-blocked` and the host probes the server to say what it presents,
   * along `route` when the adapter knows the browser's (../core/route.js; probe request `route`).
   */
  async browserBlocked({ tabId, url, requestId, error, route }) {
    await this.tabs.ready();
    const gen = this.tabs.startPage(tabId, url, requestId);
    let u;
    try { u = new URL(url); } catch { return null; }
    const rec = {
      origin: originOf(url), url, level: "browser-blocked", category: null, reason: null,
      names: { host: u.hostname }, evidence: null, fromCache: false, cached: false,
      error: { code: "browser_blocked", message: String(error ?? "") }, verdict: null, probe: null,
    };
    this.tabs.record(tabId, gen, rec, { main: true });
    const port = u.port ? Number(u.port) : 443;
    let probe;
    try {
      // installed_in: whether the refused root is installed on this computer (levels.js refusedRootInstalled)
      const msg = { type: "probe", host: u.hostname, port, url, installed_in: true };
      if (route) msg.route = route;
      const verdict = await this.host.request(msg, { timeoutMs: PROBE_TIMEOUT_MS });
      probe = recordFromVerdict(verdict, { url, hostname: u.hostname, keepDetail: true });
    } catch (e) {
      probe = failureRecord(url, e?.code ?? "internal", e?.message);
    }
    probe.source = "probe";
    const updated = { ...rec, probe, verdict: probe.verdict };
    this.tabs.record(tabId, gen, updated, { main: true });
    if (probe.level === "banned") this.notifyBanned(tabId, gen, probe);
    return updated;
  }

  /**
   * Enforce mode: the blocking response for a main frame once its record is known. A banned main
   * frame is redirected to the explanation page (MDN webRequest.BlockingResponse `redirectUrl`;
   * the page is listed in web_accessible_resources so a web request may be redirected to it).
   */
  async blockingResponse(tabId, recordPromise) {
    if ((await this.currentSettings()).mode !== "enforce" && this.hostAnswered) return {};
    let timer;
    const rec = await Promise.race([
      recordPromise.catch(() => null),
      new Promise((resolve) => { timer = setTimeout(() => resolve(null), ENFORCE_WAIT_MS); }),
    ]);
    clearTimeout(timer);
    // the host's hello (the system config's mode) came before its verdict on the same port
    if ((await this.currentSettings()).mode !== "enforce") return {};
    if (!rec || rec.level !== "banned") return {};
    this.blockedUrls.set(tabId, rec.url);
    await this.browser.storage.session.set({ [`blocked:${tabId}`]: { record: rec, at: Date.now() } });
    this.reportBlocked(rec);
    const page = this.browser.runtime.getURL(BLOCKED_PAGE);
    return { redirectUrl: `${page}?tab=${encodeURIComponent(tabId)}` };
  }

  /**
   * Tells the host that enforce mode replaced a banned page (a `blocked` message, docs/protocol.md), so
   * the audit log records the block itself (`event.action` page-blocked) apart from the verdict. Fire and
   * forget: the page is blocked whether or not the host answers.
   * @param {object} rec  the banned page's Record
   */
  reportBlocked(rec) {
    const msg = { type: "blocked", url: String(rec?.url ?? "") };
    const leaf = rec?.verdict?.chain?.[0]?.cert_sha256;
    if (typeof leaf === "string" && /^[0-9a-f]{64}$/.test(leaf)) msg.cert_sha256 = leaf;
    this.host.request(msg).catch(() => {});
  }

  /**
   * webNavigation.onCommitted for frameId 0 (callers skip prerendered documents): the tab's state
   * becomes the one of the response that committed; a page committed without one is "not checked"
   * (`unknown`), and a document without TLS of its own (about:blank, blob:, data:) inherits the
   * state of the document that made it (the page it replaces, or the tab that opened it) or is "not
   * checked" ({@link freshState}). Then the badge is redrawn.
   */
  async committed(tabId, url) {
    // At once when the saved states are in: a response of the new page may follow in the same turn.
    if (!this.tabs.isLoaded) await this.tabs.ready();
    // The browser reset the tab's badge, colour, title and icon when the document committed: the
    // draw on the change below sets only what differs from those defaults (once).
    this.drawn.set(tabId, CLEARED_BADGE);
    if (url.startsWith(this.browser.runtime.getURL(BLOCKED_PAGE))) {
      // The blocked page keeps the banned state of the response it replaced (which never committed).
      const blocked = this.blockedUrls.get(tabId);
      this.blockedUrls.delete(tabId);
      if (!blocked || !this.tabs.promote(tabId, blocked)) this.applyBadge(tabId, { cleared: true });
    } else {
      const creator = this.tabs.get(tabId) ?? this.tabs.get(this.openers.get(tabId));
      const state = this.tabs.commit(tabId, url, (u) => freshState(u, creator));
      // Committed without a response of its own: what a worker of its origin fetched is judged for it,
      // and an adapter that can judge an origin without a response (Chromium's probe) judges it.
      if (state && state.requestId == null) {
        for (const rec of this.workers.recordsFor(pageOrigin(state))) this.addWorkerRecord(tabId, state, rec);
        if (typeof this.judgeCommitted === "function" && /^https:/i.test(state.url)
          && state.main?.error?.code === "no_security_info") {
          Promise.resolve().then(() => this.judgeCommitted(tabId, state)).catch(() => {});
        }
      }
    }
  }

  /**
   * Judges a committed page that had no main-frame response of its own (a service worker fetched it:
   * Chromium's webRequest gives that fetch tabId -1; or the back/forward cache restored it) from
   * evidence the adapter gathers without a response (Chromium: the probe of the page's origin). The
   * probe is a separate connection, not the one that brought the document (a restored page came over
   * an earlier one, and an interceptor may pick its victims), so it can only make the page look worse:
   * its Record becomes the page's main record when it is `interception` or `banned`,
   * and only while that page is still the tab's (same generation) and has none of its own; a better
   * (or failed) probe leaves the page "not checked".
   * @param {number} tabId
   * @param {{gen: number, url: string}} state  the committed page state
   * @param {Promise<{ask: Function, key?: string, cache?: object, source?: string}|null>} evidencePromise
   * @returns {Promise<object|null>} the Record, or null when nothing was judged or the tab moved on
   */
  async judgeUnseenPage(tabId, state, evidencePromise) {
    let hostname;
    try { hostname = new URL(state.url).hostname; } catch { return null; }
    const ev = await evidencePromise;
    if (!ev || typeof ev.ask !== "function") return null;
    const rec = await this.judge({ url: state.url, fromCache: false, main: true }, hostname,
      ev.cache ?? this.cache, ev.key ?? null, ev.ask);
    rec.source = ev.source ?? null;
    if (!UNSEEN_PAGE_LEVELS.has(rec.level)) return null;
    const now = this.tabs.get(tabId);
    if (!now || now.gen !== state.gen || now.main?.error?.code !== "no_security_info") return null;
    return this.finishObservation(tabId, state.gen, rec, true);
  }

  /**
   * A tab opened by another (webNavigation.onCreatedNavigationTarget): remembered as the creator of
   * its documents without TLS. A tab opened at about:blank shows the opener's document from the
   * start (the opener may write into it, and no commit may follow), so it inherits at once.
   */
  async opened(tabId, sourceTabId, url) {
    if (!Number.isInteger(sourceTabId) || sourceTabId < 0) return;
    this.openers.set(tabId, sourceTabId);
    await this.tabs.ready();
    if ((url ?? "") === "" || url === "about:blank") {
      const now = this.tabs.get(tabId);
      if (now && now.url !== "about:blank") return; // something else committed in it already
      this.tabs.commit(tabId, "about:blank", (u) => freshState(u, this.tabs.get(sourceTabId))); // drawn on the change
    }
  }

  /**
   * Draws the badge, its colour and tooltip for a tab from its state (Firefox clears them on
   * navigation, and so does Chromium for cross-document navigations). Each call is guarded on its
   * own: the tab may be gone, and Chromium's bindings throw synchronously on arguments Firefox takes
   * (`title: null`, which in Firefox restores the default title), so the default is passed there.
   * A part that equals what the tab shows is not set again (each call is a message to the browser
   * process while the page loads; issue 27: the badge is drawn once per change). `cleared` says the
   * browser has just reset the tab's parts to the manifest's defaults (a committed cross-document
   * navigation: Firefox ExtensionActions handleLocationChange, Chromium's action TabHelper), so only
   * the parts that differ from the defaults are set; `force` sets every part.
   * @param {number} tabId
   * @param {{force?: boolean, cleared?: boolean}} [opts]
   */
  applyBadge(tabId, { force = false, cleared = false } = {}) {
    const action = this.browser.action;
    const state = this.tabs.get(tabId);
    const call = (fn, ...fallback) => {
      try {
        return Promise.resolve(fn()).catch(() => {});
      } catch {
        for (const f of fallback) {
          try { return Promise.resolve(f()).catch(() => {}); } catch { /* try the next */ }
        }
        return Promise.resolve();
      }
    };
    let want;
    if (!state) {
      want = { text: "", color: null, title: null, icon: iconPath(null) };
    } else {
      const rec = worstRecord(state);
      const style = badgeStyle(state, rec);
      want = {
        text: style.text ? this.t(style.text) : "",
        color: style.color,
        title: tooltip(this.t, style.title, rec),
        icon: iconPath(style.level),
      };
    }
    const drawn = force ? undefined : this.drawn.get(tabId);
    this.drawn.set(tabId, want);
    // After a clear, a part is set where it differs from the default or from what was drawn (the latter
    // in case the browser did not clear after all): right either way.
    const differs = (get) => drawn === undefined || get(want) !== get(drawn) || (cleared && get(want) !== get(CLEARED_BADGE));
    const calls = [];
    if (differs((b) => b.text)) calls.push(call(() => action.setBadgeText({ tabId, text: want.text })));
    if (want.color !== null && differs((b) => b.color)) {
      calls.push(call(() => action.setBadgeBackgroundColor({ tabId, color: want.color })));
    }
    if (differs((b) => b.icon?.[16])) calls.push(call(() => action.setIcon({ tabId, path: want.icon })));
    if (differs((b) => b.title)) {
      calls.push(want.title === null
        ? call(() => action.setTitle({ tabId, title: null }), () => action.setTitle({ tabId, title: this.t("ext_name") }))
        : call(() => action.setTitle({ tabId, title: want.title })));
    }
    return Promise.all(calls);
  }

  /** A desktop notification for a banned verdict, once per page and origin, when enabled. */
  notifyBanned(tabId, gen, rec) {
    if (this.settings && this.settings.notifications === false) return;
    const id = `banned:${tabId}:${gen}:${rec.origin}`;
    if (this.notified.has(id) || !this.browser.notifications) return;
    this.notified.add(id);
    Promise.resolve(this.browser.notifications.create(id, {
      type: "basic",
      iconUrl: this.browser.runtime.getURL("icons/rootsentinel-128.png"), // Chromium notifications take no SVG
      title: this.t("notify_banned_title"),
      message: explainRecord(this.t, rec),
    })).catch(() => {});
  }

  /** A tab closed. */
  forget(tabId) {
    this.seen.forget(tabId);
    this.origins.forget(tabId);
    this.drawn.delete(tabId);
    this.openers.delete(tabId);
    this.blockedUrls.delete(tabId);
    this.hostFailures.delete(tabId);
    this.tabs.remove(tabId);
  }
}
