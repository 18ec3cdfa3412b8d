/**
 * Enforce mode beyond main frames (issue 22 item 6), where the browser can hold a request (Firefox
 * blocking webRequest: a listener may return a Promise of `{cancel: true}`; MDN
 * webRequest.BlockingResponse): a frame's own document is held until its verdict like a main frame,
 * a subresource whose origin is being judged waits for that verdict, and any response of an origin
 * already judged banned is cancelled at once. Chromium's MV3 webRequest cannot block (only
 * policy-installed extensions may), so there enforce mode replaces banned main frames after the fact
 * and leaves frames and subresources alone (docs/reference/browser-apis.md).
 */
import { originOf } from "./tabstate.js";

/** How long an origin judged banned stays banned for enforce mode without a new verdict (ms). */
export const BANNED_ORIGIN_TTL_MS = 10 * 60 * 1000;

export class SubresourceGate {
  /**
   * @param {{waitMs: number, now?: () => number, setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout}} opts
   *   `waitMs`: the longest a held response waits for its verdict (then it is let through)
   */
  constructor({ waitMs, now = () => Date.now(), setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (h) => clearTimeout(h) }) {
    this.waitMs = waitMs;
    this.now = now;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.banned = new Map(); // origin -> time judged banned
    this.inflight = new Map(); // origin -> Promise<Record|null> of the capture judging it now
  }

  /** A verdict arrived for a response of `url`'s origin: remembers a ban, and forgets one that no longer holds. */
  judged(url, level) {
    const origin = originOf(url);
    if (!origin) return;
    if (level === "banned") this.banned.set(origin, this.now());
    else if (level !== "unknown" && level !== "pending") this.banned.delete(origin);
  }

  /** Whether `url`'s origin was judged banned within {@link BANNED_ORIGIN_TTL_MS}. */
  isBanned(url) {
    const origin = originOf(url);
    const at = origin ? this.banned.get(origin) : undefined;
    if (at === undefined) return false;
    if (this.now() - at > BANNED_ORIGIN_TTL_MS) {
      this.banned.delete(origin);
      return false;
    }
    return true;
  }

  /** A capture of `url`'s origin is judging it now (`work` resolves with its Record). */
  judging(url, work) {
    const origin = originOf(url);
    if (!origin) return;
    const p = work.catch(() => null);
    this.inflight.set(origin, p);
    p.then(() => { if (this.inflight.get(origin) === p) this.inflight.delete(origin); });
  }

  /** The Promise of the verdict being judged for `url`'s origin, or null. */
  inflightFor(url) {
    return this.inflight.get(originOf(url)) ?? null;
  }

  /**
   * The blocking response for a held frame or subresource: `{cancel: true}` when its Record (or the
   * origin's, judged meanwhile) is banned, `{}` otherwise or after {@link waitMs}.
   * @param {string} url
   * @param {Promise<object|null>} recordPromise
   * @returns {Promise<{cancel?: boolean}>}
   */
  async hold(url, recordPromise) {
    let timer;
    const rec = await Promise.race([
      recordPromise.catch(() => null),
      new Promise((resolve) => { timer = this.setTimer(() => resolve(null), this.waitMs); }),
    ]);
    this.clearTimer(timer);
    return rec?.level === "banned" || this.isBanned(url) ? { cancel: true } : {};
  }
}
