/**
 * Per-tab verdict state: the worst verdict among the page's main frame, frames and subresources,
 * with a record per origin so the popup can name the intercepted origins.
 *
 * Kept in `storage.session` so that an event-page or service-worker restart loses no verdict
 * (Firefox MV3 background pages unload when idle, Chromium stops an idle worker; MDN storage.session,
 * https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/API/storage/session):
 * key `tab:<tabId>` holds `{state}`, and each of the tab's last {@link HISTORY} pages (for back/forward)
 * has its own key `hist:<tabId>:<gen>` holding `{state, at}`, written once when the page leaves the tab
 * and removed when it drops out of the history. Writes are coalesced (issue 27): a change marks the
 * tab dirty and one `storage.session.set` after {@link PERSIST_DELAY_MS} carries every dirty tab's
 * state and the history pages added since. A page load used to write the whole state plus the whole
 * history on every change (11 writes, about 100 KB each, on the bench page). {@link TabStates#flush}
 * writes at once (the background flushes on `runtime.onSuspend`).
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
const HISTORY_PREFIX = "hist:";
const HISTORY = 3;

/**
 * How long a tab-state change waits before it is written to storage.session, with the changes after it
 * (ms). A worker or event page is stopped only after about 30 s idle, and storage.session does not
 * outlive the browser, so a second loses nothing; it makes one write per page load (250 ms made 1.6 on
 * the bench page in a real Chromium). The popup asks for a write before it reads.
 */
export const PERSIST_DELAY_MS = 1000;

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
   * @param {number} [opts.persistDelayMs]  coalescing delay of storage writes ({@link PERSIST_DELAY_MS})
   * @param {typeof setTimeout} [opts.setTimer]
   */
  constructor({ session, onChange, persistDelayMs = PERSIST_DELAY_MS, setTimer = (f, ms) => setTimeout(f, ms) } = {}) {
    this.session = session ?? null;
    this.onChange = onChange ?? (() => {});
    this.persistDelayMs = persistDelayMs;
    this.setTimer = setTimer;
    this.tabs = new Map();
    this.history = new Map();
    this.gen = 0;
    this.loaded = null;
    this.dirtyStates = new Set(); // tabIds whose state is to be written (or removed)
    this.historyPut = new Map(); // hist:<tabId>:<gen> -> {state, at} to be written
    this.historyDrop = new Set(); // hist:<tabId>:<gen> keys to be removed
    this.historyKeys = new Map(); // tabId -> Set of its hist:<tabId>:<gen> keys in storage (or to be)
    this.timer = null;
  }

  /** Loads the states saved by a previous instance of the event page. Idempotent. */
  ready() {
    if (!this.loaded) {
      this.loaded = (async () => {
        if (!this.session) return;
        let all = {};
        try { all = (await this.session.get(null)) ?? {}; } catch { all = {}; }
        const saved = new Map(); // tabId -> [{state, at}]
        for (const [k, v] of Object.entries(all)) {
          if (!v || typeof v !== "object") continue;
          if (k.startsWith(HISTORY_PREFIX)) {
            const tabId = Number(k.slice(HISTORY_PREFIX.length).split(":")[0]);
            if (!Number.isInteger(tabId) || !v.state || typeof v.state !== "object") continue;
            if (!saved.has(tabId)) saved.set(tabId, []);
            saved.get(tabId).push(v);
            this._keysOf(tabId).add(k);
            continue;
          }
          if (!k.startsWith(KEY_PREFIX) || !v.state || typeof v.state !== "object") continue;
          const tabId = Number(k.slice(KEY_PREFIX.length));
          // `history` beside the state: the form written before issue 27.
          if (Array.isArray(v.history)) this._restoreHistory(tabId, v.history);
          if (!this.tabs.has(tabId)) this.tabs.set(tabId, v.state);
          this.gen = Math.max(this.gen, v.state.gen ?? 0);
        }
        for (const [tabId, entries] of saved) {
          entries.sort((a, b) => (b.at ?? 0) - (a.at ?? 0) || (b.state.gen ?? 0) - (a.state.gen ?? 0));
          this._restoreHistory(tabId, entries.map((e) => e.state));
        }
        for (const hist of this.history.values()) for (const h of hist) this.gen = Math.max(this.gen, h?.gen ?? 0);
      })();
    }
    return this.loaded;
  }

  /** Saved pages of a tab behind the ones this instance remembered since it started (newest first). */
  _restoreHistory(tabId, saved) {
    const mine = this.history.get(tabId) ?? [];
    const keys = new Set(mine.map((s) => pageKey(s.url)));
    const merged = [...mine, ...saved.filter((s) => s && typeof s === "object" && !keys.has(pageKey(s.url)))];
    this.history.set(tabId, merged.slice(0, HISTORY));
  }

  /** The state of a tab's current page, or null. */
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

  /** Forgets a closed tab (its saved state and history go at once; nothing of it is written later). */
  remove(tabId) {
    const keys = [KEY_PREFIX + tabId, ...(this.historyKeys.get(tabId) ?? [])];
    this.tabs.delete(tabId);
    this.history.delete(tabId);
    this.historyKeys.delete(tabId);
    this.dirtyStates.delete(tabId);
    for (const k of keys) {
      this.historyPut.delete(k);
      this.historyDrop.delete(k);
    }
    if (this.session) Promise.resolve(this.session.remove(keys)).catch(() => {});
  }

  /** The tab's history keys in storage (a live set). */
  _keysOf(tabId) {
    if (!this.historyKeys.has(tabId)) this.historyKeys.set(tabId, new Set());
    return this.historyKeys.get(tabId);
  }

  _remember(tabId, state) {
    const before = this.history.get(tabId) ?? [];
    const hist = [state, ...before.filter((s) => pageKey(s.url) !== pageKey(state.url))].slice(0, HISTORY);
    this.history.set(tabId, hist);
    if (!this.session) return;
    const keys = this._keysOf(tabId);
    const keep = new Set(hist.map((s) => `${HISTORY_PREFIX}${tabId}:${s.gen}`));
    for (const k of keys) {
      if (keep.has(k)) continue;
      keys.delete(k);
      this.historyPut.delete(k);
      this.historyDrop.add(k);
    }
    const key = `${HISTORY_PREFIX}${tabId}:${state.gen}`;
    if (!keys.has(key)) {
      keys.add(key);
      this.historyDrop.delete(key);
      this.historyPut.set(key, { state, at: Date.now() });
    }
  }

  _changed(tabId) {
    if (this.session) {
      this.dirtyStates.add(tabId);
      if (this.timer === null) this.timer = this.setTimer(() => { this.timer = null; this.flush(); }, this.persistDelayMs);
    }
    this.onChange(tabId, this.tabs.get(tabId) ?? null);
  }

  /**
   * Writes what changed since the last write: one `storage.session.set` with the state of every dirty
   * tab and the history pages added since, one `remove` for tabs left without a state and pages that
   * left the history.
   * @returns {Promise<void>} settles when the browser took the writes (errors are swallowed)
   */
  flush() {
    if (!this.session || (this.dirtyStates.size === 0 && this.historyPut.size === 0 && this.historyDrop.size === 0)) {
      return Promise.resolve();
    }
    const put = Object.fromEntries(this.historyPut);
    const drop = [...this.historyDrop];
    for (const tabId of this.dirtyStates) {
      const state = this.tabs.get(tabId);
      if (state) put[KEY_PREFIX + tabId] = { state };
      else drop.push(KEY_PREFIX + tabId);
    }
    this.dirtyStates.clear();
    this.historyPut.clear();
    this.historyDrop.clear();
    const done = [];
    if (Object.keys(put).length) {
      done.push(Promise.resolve(this.session.set(put)).catch(() => {}));
    }
    if (drop.length) {
      done.push(Promise.resolve(this.session.remove(drop)).catch(() => {}));
    }
    return Promise.all(done).then(() => {});
  }
}
