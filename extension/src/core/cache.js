/**
 * Verdict cache keyed by (leaf certificate SHA-256, hostname).
 *
 * A page with a hundred subresources from a few servers presents a few distinct leaf certificates;
 * answering repeats from here keeps it to a few host calls, and a repeat sends no raw DER at all.
 * A request that is still in flight is shared, so concurrent subresources of one server wait for the
 * same host reply instead of each sending the chain.
 *
 * Only real host verdicts are stored; failures (host unreachable, timeout, error reply) are not, so
 * the next request asks again.
 */

/** Lowercase plain hex of a fingerprint given as `7A:5D:...` (Firefox) or plain hex; null if not hex. */
export function normalizeHex(value) {
  if (typeof value !== "string") return null;
  const hex = value.replace(/:/g, "").toLowerCase();
  return /^[0-9a-f]+$/.test(hex) && hex.length % 2 === 0 ? hex : null;
}

/**
 * The cache key for a Firefox SecurityInfo and a hostname, or null when the leaf has no usable
 * fingerprint (then the request is not cached). `certificates[0].fingerprint.sha256` is uppercase
 * colon hex (MDN webRequest.CertificateInfo).
 */
export function cacheKey(securityInfo, hostname) {
  const leaf = securityInfo?.certificates?.[0];
  const fp = normalizeHex(leaf?.fingerprint?.sha256);
  if (!fp || typeof hostname !== "string") return null;
  return `${fp}|${hostname.toLowerCase()}`;
}

export class VerdictCache {
  /** @param {number} [maxEntries]  least recently used entries are dropped above this */
  constructor(maxEntries = 2000) {
    this.maxEntries = maxEntries;
    this.entries = new Map();
    this.inflight = new Map();
    this.hits = 0;
    this.misses = 0;
  }

  /** The stored verdict for `key`, or undefined. Refreshes its recency. */
  get(key) {
    if (key == null || !this.entries.has(key)) return undefined;
    const v = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, v);
    return v;
  }

  set(key, verdict) {
    if (key == null) return;
    this.entries.delete(key);
    this.entries.set(key, verdict);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value);
  }

  clear() {
    this.entries.clear();
    this.inflight.clear();
  }

  /** Whether a reply of the host is stored: a real verdict, not `unknown` (a failure asks again). */
  keeps(verdict) {
    return verdict?.type === "verdict" && verdict.level !== "unknown";
  }

  /**
   * The verdict for `key`: from the cache, from a request already in flight, or from `ask()`.
   * Resolves with `{verdict, cached}`; rejects like `ask()` does (the failure is not cached).
   * @param {string|null} key
   * @param {() => Promise<object>} ask  asks the host; called at most once per key at a time
   */
  async lookup(key, ask) {
    const hit = this.get(key);
    if (hit !== undefined) {
      this.hits += 1;
      return { verdict: hit, cached: true };
    }
    if (key != null && this.inflight.has(key)) {
      this.hits += 1;
      return { verdict: await this.inflight.get(key), cached: true };
    }
    this.misses += 1;
    const p = ask();
    if (key != null) this.inflight.set(key, p);
    try {
      const verdict = await p;
      if (this.keeps(verdict)) this.set(key, verdict);
      return { verdict, cached: false };
    } finally {
      if (key != null) this.inflight.delete(key);
    }
  }
}

/**
 * Certificates the host has already judged, by SHA-256 fingerprint. Their raw DER is not sent again:
 * the host reads a certificate without `rawDER` from Firefox's own fingerprint, SPKI digest, names
 * and validity (native_host/chains.py), which is all a repeat needs. A new interception leaf under a
 * known intermediate and root then costs one certificate of DER, not three.
 */
export class KnownCertificates {
  /** @param {number} [maxEntries]  oldest fingerprints are forgotten above this */
  constructor(maxEntries = 5000) {
    this.maxEntries = maxEntries;
    this.set = new Set();
  }

  has(fp) {
    return fp != null && this.set.has(fp);
  }

  /** Remembers every certificate fingerprint of a SecurityInfo that the host judged. */
  addFrom(securityInfo) {
    for (const c of securityInfo?.certificates ?? []) {
      const fp = normalizeHex(c?.fingerprint?.sha256);
      if (!fp) continue;
      this.set.delete(fp);
      this.set.add(fp);
    }
    while (this.set.size > this.maxEntries) this.set.delete(this.set.values().next().value);
  }

  clear() {
    this.set.clear();
  }

  /** Forgets the certificates of a SecurityInfo (the host asked for their DER: it does not have them). */
  forgetFrom(securityInfo) {
    for (const c of securityInfo?.certificates ?? []) this.set.delete(normalizeHex(c?.fingerprint?.sha256));
  }

  /**
   * A copy of `securityInfo` without `rawDER` on the certificates already judged.
   * @returns {{securityInfo: object, stripped: number[]}}  `stripped`: chain indexes sent without DER
   */
  strip(securityInfo) {
    const stripped = [];
    const certificates = (securityInfo?.certificates ?? []).map((c, i) => {
      if (!c || !("rawDER" in c) || !this.has(normalizeHex(c.fingerprint?.sha256))) return c;
      stripped.push(i);
      const { rawDER, ...rest } = c; // eslint-disable-line no-unused-vars
      return rest;
    });
    return { securityInfo: { ...securityInfo, certificates }, stripped };
  }
}

/**
 * The origin part (`scheme://host[:port]`) of an absolute URL by string search, without a URL parse:
 * the Firefox listener calls it for every response before getSecurityInfo.
 */
export function originKey(url) {
  if (typeof url !== "string") return "";
  const start = url.indexOf("//");
  if (start === -1) return url;
  const end = url.indexOf("/", start + 2);
  return end === -1 ? url : url.slice(0, end);
}

/**
 * Which responses Firefox is asked for `rawDER` (issue 16: serialising every certificate of every
 * response as an array of numbers, and cloning it to the host, was most of RootSentinel's page-load
 * cost). The DER is asked for an origin's first response, and again for its next response once
 * {@link CapturePlan#wantAgain} was called: the host replied `der_wanted: true` (it got a certificate
 * without DER that it has not parsed), or the response was not `secure`.
 * Every other response carries Firefox's certificate info only (fingerprints, names, validity,
 * isBuiltInRoot), which the host reads against the facts it remembers from the DER
 * (docs/protocol.md "DER only where needed"). Bounded: least recently used origins are forgotten
 * above `maxOrigins` (a forgotten origin simply sends its DER again).
 */
export class CapturePlan {
  /** @param {number} [maxOrigins] */
  constructor(maxOrigins = 4096) {
    this.maxOrigins = maxOrigins;
    this.done = new Map(); // origin -> true once a response of it was captured with DER
  }

  /**
   * Whether this response of `origin` is to be captured with rawDER; synchronous and cheap (it runs
   * in the listener before getSecurityInfo). Answers true once per origin until {@link wantAgain}.
   */
  take(origin) {
    const seen = this.done.delete(origin); // delete + set: the origin becomes the most recent
    this.done.set(origin, true);
    if (seen) return false;
    if (this.done.size > this.maxOrigins) this.done.delete(this.done.keys().next().value);
    return true;
  }

  /** The next response of `origin` is captured with rawDER again. */
  wantAgain(origin) {
    this.done.delete(origin);
  }

  clear() {
    this.done.clear();
  }
}

/**
 * Responses already judged on the current page of a tab, keyed by host name and leaf fingerprint: a
 * repeat (the 99 other images of a server) records nothing new, so the Firefox path skips it at once
 * after getSecurityInfo answers (no settings, cache lookup or tab-state write).
 */
export class PageSeen {
  /** @param {number} [maxPerPage] */
  constructor(maxPerPage = 4096) {
    this.maxPerPage = maxPerPage;
    this.tabs = new Map(); // tabId -> {gen, keys: Set<string>}
  }

  has(tabId, gen, key) {
    const t = this.tabs.get(tabId);
    return t !== undefined && t.gen === gen && t.keys.has(key);
  }

  add(tabId, gen, key) {
    let t = this.tabs.get(tabId);
    if (t === undefined || t.gen !== gen) {
      t = { gen, keys: new Set() };
      this.tabs.set(tabId, t);
    }
    if (t.keys.size < this.maxPerPage) t.keys.add(key);
  }

  /** Drops `key` from page `gen` of `tabId` (nothing when that page is not the tab's current one). */
  delete(tabId, gen, key) {
    const t = this.tabs.get(tabId);
    if (t !== undefined && t.gen === gen) t.keys.delete(key);
  }

  forget(tabId) {
    this.tabs.delete(tabId);
  }

  clear() {
    this.tabs.clear();
  }
}

/**
 * Which responses of a page the Firefox listener asks `getSecurityInfo` for at all (issue 16: the call
 * itself, not what it returns, is most of what capture costs; bench/NOTES.md). The first response of
 * each origin on a tab's page is captured; while it is being judged, and after it was, the other
 * responses of that origin on the page are not, except an unpredictable sample of them
 * (`resample`, 1 in 16 by default), so a connection of the origin that presents another chain than the
 * first (webRequest does not say which connection a response came on; HTTP/1.1 opens up to six) is
 * still seen on a page that loads enough of that origin, and never at a response a network could
 * predict. A capture that did not judge the origin ({@link PageOrigins#release}: not `secure`, no
 * chain, the host failed or wanted the DER) makes the next response of it captured again. Main frames
 * are always captured (their verdict is the page's; enforce mode blocks on it).
 *
 * Keyed by tab and page generation (tabstate.js): a new page captures every origin again. A tab whose
 * page is not known (`gen` null: the event page is restoring its state) captures every response.
 * Responses from the HTTP cache carry the security info of the handshake that fetched them, perhaps
 * on another network (browser-apis.md 1.5), so they claim their origin apart from live responses
 * ({@link PageOrigins.keyOf}): a cached first response never stands for the live connections.
 */
export class PageOrigins {
  /** The claim key of a response: its origin, and whether it came from the HTTP cache. */
  static keyOf(origin, fromCache) {
    return fromCache ? `${origin} cache` : origin;
  }

  /**
   * @param {object} [opts]
   * @param {number} [opts.resample]  chance (0..1) that a response of an origin already claimed on the
   *   page is captured anyway
   * @param {() => number} [opts.random]  uniform in [0, 1); Math.random (tests pass their own)
   * @param {number} [opts.maxPerPage]  origins remembered per page; above it every response is captured
   */
  constructor({ resample = 1 / 16, random = Math.random, maxPerPage = 4096 } = {}) {
    this.resample = resample;
    this.random = random;
    this.claimed = new PageSeen(maxPerPage); // the same per-tab, per-page bounded key set
    this.sampled = 0;
    this.skipped = 0;
  }

  /**
   * Whether to capture this response of `origin` on page `gen` of `tabId`; synchronous and cheap (the
   * listener calls it before getSecurityInfo). The first call for an origin on a page answers true and
   * claims it; later calls answer true only for the sample.
   */
  wants(tabId, gen, origin) {
    if (gen === null || gen === undefined) return true;
    if (!this.claimed.has(tabId, gen, origin)) {
      this.claimed.add(tabId, gen, origin);
      return true;
    }
    if (this.random() < this.resample) {
      this.sampled += 1;
      return true;
    }
    this.skipped += 1;
    return false;
  }

  /** Claims `origin` on the page without asking (its main frame was judged). */
  claim(tabId, gen, origin) {
    if (gen !== null && gen !== undefined) this.claimed.add(tabId, gen, origin);
  }

  /** The capture of `origin` on the page did not judge it: its next response is captured. */
  release(tabId, gen, origin) {
    this.claimed.delete(tabId, gen, origin);
  }

  forget(tabId) {
    this.claimed.forget(tabId);
  }

  clear() {
    this.claimed.clear();
  }
}
