/**
 * Verdicts with a time-to-live, for evidence that goes stale: a probe says what the network
 * presented at one moment, so an origin is probed again once its verdict is older than the TTL.
 *
 * Same contract as the core's VerdictCache (`lookup(key, ask)` resolving `{verdict, cached}`; a
 * request in flight is shared, so the many subresources of one new origin cost one probe), plus:
 * a verdict expires `ttlMs` after it arrived; an `unknown` verdict (the probe could not connect) is
 * kept only `failureTtlMs`, so a server that was briefly down is tried again soon; failures of the
 * host itself (rejections) are not kept at all.
 */

/** How long a probe verdict stands for its origin (host, port, SNI): 10 minutes. */
export const PROBE_TTL_MS = 10 * 60 * 1000;

/** How long a probe that saw no certificate stands (ms). */
export const PROBE_FAILURE_TTL_MS = 30 * 1000;

export class TtlCache {
  /**
   * @param {object} [opts]
   * @param {number} [opts.ttlMs]
   * @param {number} [opts.failureTtlMs]
   * @param {number} [opts.maxEntries]  oldest entries are dropped above this
   * @param {() => number} [opts.now]  clock in ms, injectable for tests
   */
  constructor({ ttlMs = PROBE_TTL_MS, failureTtlMs = PROBE_FAILURE_TTL_MS, maxEntries = 2000, now = () => Date.now() } = {}) {
    this.ttlMs = ttlMs;
    this.failureTtlMs = failureTtlMs;
    this.maxEntries = maxEntries;
    this.now = now;
    this.entries = new Map();
    this.inflight = new Map();
    this.hits = 0;
    this.misses = 0;
  }

  /** The live verdict for `key`, or undefined (an expired entry is dropped). */
  get(key) {
    const e = key == null ? undefined : this.entries.get(key);
    if (!e) return undefined;
    if (this.now() >= e.expires) {
      this.entries.delete(key);
      return undefined;
    }
    return e.verdict;
  }

  set(key, verdict) {
    if (key == null || verdict?.type !== "verdict") return;
    const ttl = verdict.level === "unknown" ? this.failureTtlMs : this.ttlMs;
    this.entries.delete(key);
    this.entries.set(key, { verdict, expires: this.now() + ttl });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value);
  }

  clear() {
    this.entries.clear();
    this.inflight.clear();
  }

  /**
   * @param {string|null} key  e.g. `probe|example.org:443`
   * @param {() => Promise<object>} ask
   * @returns {Promise<{verdict: object, cached: boolean}>}
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
      this.set(key, verdict);
      return { verdict, cached: false };
    } finally {
      if (key != null) this.inflight.delete(key);
    }
  }
}
