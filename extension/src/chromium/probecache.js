/**
 * Verdicts with a time-to-live, for evidence that goes stale: a probe says what the network
 * presented at one moment, so an origin is probed again once its verdict is older than the TTL.
 *
 * The core's VerdictCache (`lookup(key, ask)` resolving `{verdict, cached}`; a request in flight
 * is shared, so the many subresources of one new origin cost one probe), plus: a verdict expires
 * `ttlMs` after it arrived; an `unknown` verdict (the probe could not connect) is kept only
 * `failureTtlMs`, so a server that was briefly down is tried again soon; failures of the host
 * itself (rejections) are not kept at all.
 */

import { VerdictCache } from "../core/cache.js";

/** How long a probe verdict stands for its origin and route (host, port, address, proxy; capture.js keys): 10 minutes. */
export const PROBE_TTL_MS = 10 * 60 * 1000;

/** How long a probe that saw no certificate stands (ms). */
export const PROBE_FAILURE_TTL_MS = 30 * 1000;

export class TtlCache extends VerdictCache {
  /**
   * @param {object} [opts]
   * @param {number} [opts.ttlMs]
   * @param {number} [opts.failureTtlMs]
   * @param {number} [opts.maxEntries]  oldest entries are dropped above this
   * @param {() => number} [opts.now]  clock in ms, injectable for tests
   */
  constructor({ ttlMs = PROBE_TTL_MS, failureTtlMs = PROBE_FAILURE_TTL_MS, maxEntries = 2000, now = () => Date.now() } = {}) {
    super(maxEntries);
    this.ttlMs = ttlMs;
    this.failureTtlMs = failureTtlMs;
    this.now = now;
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
    if (key == null || !this.keeps(verdict)) return;
    const ttl = verdict.level === "unknown" ? this.failureTtlMs : this.ttlMs;
    super.set(key, { verdict, expires: this.now() + ttl });
  }

  /** Every verdict is kept, an `unknown` one for `failureTtlMs`. */
  keeps(verdict) {
    return verdict?.type === "verdict";
  }
}
