/**
 * Per-tab verdict state: the worst verdict among the page's main frame, frames and subresources,
 * with a record per origin so the popup can name the intercepted origins.
 *
 * Kept in `storage.session` (key `tab:<tabId>`) so that an event-page restart loses nothing
 * (Firefox MV3 background pages unload when idle; MDN storage.session,
 * https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/API/storage/session).
 *
 * A new main-frame response starts a new page state with a new generation number; results that
 * arrive for an older generation (a redirect hop, the previous page's subresources) are dropped, so
 * the badge follows the final main-frame response (field-reports D.19: each redirect hop has its own
 * security info and the same requestId).
 *
 * Shapes:
 *   PageState = {tabId, gen, url, requestId, level, main: Record|null, origins: {[origin]: Record}, updated}
 *   Record = {origin, url, level, category, reason, names, evidence, fromCache, error, verdict, probe}
 *     `verdict` is the host's full verdict (chain detail), kept for the main frame and for origins at
 *     notice or worse; `error` is {code, message} when the host could not judge; `provisional` when
 *     the host replied `der_wanted` (judged again once the DER comes, and replaced by that record).
 */
import { worse, rank } from "./levels.js";

const KEY_PREFIX = "tab:";
const HISTORY = 3;

/** `scheme://host[:port]` of a URL, or null. */
export function originOf(url) {
  try {
    const u = new URL(url);
    return u.origin === "null" ? null : u.origin;
  } catch {
    return null;
  }
}

/** The URL without its fragment: the key that matches a committed navigation to its response. */
export function pageKey(url) {
  if (typeof url !== "string") return "";
  const i = url.indexOf("#");
  return i === -1 ? url : url.slice(0, i);
}

/** Worst level of a page: its main record and every origin record. */
export function pageLevel(state) {
  let level = state.main?.level ?? null;
  for (const rec of Object.values(state.origins)) level = worse(level, rec.level);
  return level ?? "unknown";
}

export class TabStates {
  /**
   * @param {object} opts
   * @param {object} [opts.session]  `browser.storage.session` (omitted: memory only)
   * @param {(tabId: number, state: object|null) => void} [opts.onChange]  called after every change
   */
  constructor({ session, onChange } = {}) {
    this.session = session ?? null;
    this.onChange = onChange ?? (() => {});
    this.tabs = new Map();
    this.history = new Map();
    this.gen = 0;
    this.loaded = null;
  }

  /** Loads the states saved by a previous instance of the event page. Idempotent. */
  ready() {
    if (!this.loaded) {
      this.loaded = (async () => {
        if (!this.session) return;
        let all = {};
        try { all = (await this.session.get(null)) ?? {}; } catch { all = {}; }
        for (const [k, v] of Object.entries(all)) {
          if (!k.startsWith(KEY_PREFIX) || !v || typeof v !== "object") continue;
          const tabId = Number(k.slice(KEY_PREFIX.length));
          if (!this.tabs.has(tabId) && v.state) {
            this.tabs.set(tabId, v.state);
            this.history.set(tabId, Array.isArray(v.history) ? v.history : []);
            this.gen = Math.max(this.gen, v.state.gen ?? 0);
          }
        }
      })();
    }
    return this.loaded;
  }

  get(tabId) {
    return this.tabs.get(tabId) ?? null;
  }

  /**
   * Starts the state of a new page in `tabId` (a main-frame response arrived).
   * @returns {number} the generation to pass to {@link record}
   */
  startPage(tabId, url, requestId) {
    const old = this.tabs.get(tabId);
    if (old && pageKey(old.url) !== pageKey(url)) this._remember(tabId, old);
    // The main frame is `pending` until judged, so a judged subresource can never make the page look ok.
    const main = { origin: originOf(url), url, level: "pending" };
    const state = { tabId, gen: ++this.gen, url, requestId, level: "pending", main, origins: {}, updated: Date.now() };
    this.tabs.set(tabId, state);
    this._changed(tabId);
    return state.gen;
  }

  /** Current generation of a tab, or null. */
  genOf(tabId) {
    return this.tabs.get(tabId)?.gen ?? null;
  }

  /**
   * Adds a result for one request of the page of generation `gen`.
   * @param {number} tabId
   * @param {number} gen
   * @param {object} rec  a Record (see module doc)
   * @param {{main?: boolean}} [opts]  `main` for the main-frame response (replaces the main record)
   * @returns {boolean} whether the state changed (false for a stale generation or no news)
   */
  record(tabId, gen, rec, { main = false } = {}) {
    const state = this.tabs.get(tabId);
    if (!state || state.gen !== gen) return false;
    let changed = false;
    if (main) {
      state.main = rec;
      changed = true;
    }
    if (rec.origin) {
      const prev = state.origins[rec.origin];
      // A provisional record (the host wanted the DER before it could judge) gives way to the next one.
      const better = !prev || prev.level === "pending" || prev.provisional || rank(rec.level) > rank(prev.level)
        || (rank(rec.level) === rank(prev.level) && !prev.verdict && Boolean(rec.verdict));
      if (better) {
        state.origins[rec.origin] = rec;
        changed = true;
      }
    }
    if (!changed) return false;
    state.level = pageLevel(state);
    state.updated = Date.now();
    this._changed(tabId);
    return true;
  }

  /**
   * A top-level navigation committed (webNavigation.onCommitted, frameId 0). When it commits the
   * page whose response we saw, the state stays. A back/forward from the bfcache commits without a
   * new response (browser-apis.md 1.5): restore the state we had for that URL. Otherwise the page
   * has no verdict: `unknown` for http(s) pages, no state for other schemes (about:, moz-extension:).
   * @param {(url: string) => object|null} [fresh]  builds the state for a page without a response
   * @returns {object|null} the state now in effect
   */
  commit(tabId, url, fresh) {
    const state = this.tabs.get(tabId);
    if (state && pageKey(state.url) === pageKey(url)) return state;
    const hist = this.history.get(tabId) ?? [];
    const i = hist.findIndex((s) => pageKey(s.url) === pageKey(url));
    if (state) this._remember(tabId, state);
    let next = null;
    if (i !== -1) {
      next = { ...hist[i], gen: ++this.gen, restored: true };
    } else if (fresh) {
      const f = fresh(url);
      if (f) next = { tabId, gen: ++this.gen, url, requestId: null, main: null, origins: {}, updated: Date.now(), ...f };
    }
    if (next) {
      next.level = pageLevel(next);
      this.tabs.set(tabId, next);
    } else {
      this.tabs.delete(tabId);
    }
    this._changed(tabId);
    return next;
  }

  /** Forgets a closed tab. */
  remove(tabId) {
    this.tabs.delete(tabId);
    this.history.delete(tabId);
    if (this.session) this.session.remove(KEY_PREFIX + tabId).catch(() => {});
  }

  _remember(tabId, state) {
    const hist = (this.history.get(tabId) ?? []).filter((s) => pageKey(s.url) !== pageKey(state.url));
    hist.unshift(state);
    this.history.set(tabId, hist.slice(0, HISTORY));
  }

  _changed(tabId) {
    const state = this.tabs.get(tabId) ?? null;
    if (this.session) {
      const p = state
        ? this.session.set({ [KEY_PREFIX + tabId]: { state, history: this.history.get(tabId) ?? [] } })
        : this.session.remove(KEY_PREFIX + tabId);
      p?.catch?.(() => {});
    }
    this.onChange(tabId, state);
  }
}
