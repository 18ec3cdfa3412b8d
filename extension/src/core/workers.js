/**
 * Responses that a service worker (or another worker) fetched: Firefox reports them with
 * `tabId: -1` and the worker's script as `documentUrl` / `originUrl` (MDN webRequest details;
 * seen in Firefox ESR 153: a pass-through worker's `fetch(event.request)` of a navigation is an
 * `xmlhttprequest` with tabId -1, and the tab's `main_frame` request gets no onHeadersReceived at
 * all). Such a response is judged for every tab page of the worker's origin (issue 22 item 3): the
 * page a worker serves has no main-frame response of its own, and its verdict is the worker's.
 *
 * Shapes: worker origin (`https://host[:port]`, the origin of the worker's script) ->
 * {response origin -> Record, newest first}; bounded per worker and in number of workers.
 */
import { originOf } from "./tabstate.js";

/** How long a worker's claim on a response origin stands before another response is captured (ms). */
export const WORKER_RECLAIM_MS = 60000;

export class WorkerResponses {
  /**
   * @param {{maxWorkers?: number, maxOrigins?: number, now?: () => number}} [opts]
   */
  constructor({ maxWorkers = 64, maxOrigins = 64, now = () => Date.now() } = {}) {
    this.maxWorkers = maxWorkers;
    this.maxOrigins = maxOrigins;
    this.now = now;
    this.claims = new Map(); // `${worker} ${origin}` -> time claimed
    this.records = new Map(); // worker -> Map(origin -> Record)
  }

  /**
   * The worker origin of a request made outside any tab (`tabId < 0`), or null: the origin of its
   * `documentUrl` (else `originUrl`) when that is an http(s) page's, not the extension's or the browser's.
   */
  static workerOf(details) {
    const doc = details?.documentUrl ?? details?.originUrl ?? null;
    if (typeof doc !== "string" || !/^https?:/i.test(doc)) return null;
    return originOf(doc);
  }

  /**
   * Whether to capture this worker response: the first of each response origin per worker within
   * {@link WORKER_RECLAIM_MS} (getSecurityInfo is most of the cost, docs/design.md), responses from the
   * HTTP cache (an older handshake) apart from live ones. Claims it.
   */
  wants(worker, origin, fromCache = false) {
    const k = `${worker} ${origin}${fromCache ? " cache" : ""}`;
    const at = this.claims.get(k);
    const now = this.now();
    if (at !== undefined && now - at < WORKER_RECLAIM_MS) return false;
    this.claims.delete(k);
    this.claims.set(k, now);
    if (this.claims.size > this.maxWorkers * this.maxOrigins) this.claims.delete(this.claims.keys().next().value);
    return true;
  }

  /**
   * A tab starts a navigation to a page of `origin` (Firefox webRequest.onBeforeRequest, main_frame):
   * what its worker fetched before is not this page's; the worker's next responses are captured
   * afresh (the navigation itself among them).
   */
  navigating(origin) {
    if (!origin) return;
    for (const k of [...this.claims.keys()]) if (k.startsWith(`${origin} `)) this.claims.delete(k);
    this.records.delete(origin);
  }

  /** Gives a claim back (the capture did not judge the origin): the next response is captured. */
  release(worker, origin, fromCache = false) {
    this.claims.delete(`${worker} ${origin}${fromCache ? " cache" : ""}`);
  }

  /** Keeps a judged Record of a worker (its `origin` is the response's origin). */
  put(worker, rec) {
    if (!rec?.origin) return;
    let m = this.records.get(worker);
    if (!m) {
      m = new Map();
      this.records.set(worker, m);
      if (this.records.size > this.maxWorkers) this.records.delete(this.records.keys().next().value);
    }
    m.delete(rec.origin);
    m.set(rec.origin, rec);
    if (m.size > this.maxOrigins) m.delete(m.keys().next().value);
  }

  /** The Records the worker of `pageOrigin` fetched, the page origin's own first (or []). */
  recordsFor(pageOrigin) {
    const m = this.records.get(pageOrigin);
    if (!m) return [];
    const own = m.get(pageOrigin);
    return own ? [own, ...[...m.values()].filter((r) => r !== own)] : [...m.values()];
  }
}
