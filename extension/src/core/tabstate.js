/**
 * Per-tab verdict state: the worst verdict among the page's main frame, frames and subresources,
 * with a record per origin so the popup can name the intercepted origins.
 *
 * Kept in `storage.session` so that an event-page or service-worker restart loses no verdict
 * (Firefox MV3 background pages unload when idle, Chromium stops an idle worker; MDN storage.session,
 * https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/API/storage/session):
 * key `tab:<tabId>` holds `{state}`. Writes are coalesced (issue 27): a change marks the tab dirty
 * and one `storage.session.set` after {@link PERSIST_DELAY_MS} carries every dirty tab's state. A
 * page load used to write the whole state plus a history on every change (11 writes, about 100 KB
 * each, on the bench page). {@link TabStates#flush} writes at once
 * (the background flushes on `runtime.onSuspend`).
 *
 * A tab's verdict belongs to the document that committed (issue 22 item 2). A main-frame response
 * starts a *pending* page state ({@link TabStates#startResponse}) with a new generation number; it
 * becomes the tab's state only when webNavigation.onCommitted (frameId 0) commits its URL
 * ({@link TabStates#commit}). A response that never commits (a 204, a download, a prerender that is
 * not activated, a redirect hop: field-reports D.19) never touches the badge, and results that
 * arrive for a generation that is neither the tab's nor pending are dropped. A commit without a
 * pending response (served by a service worker, restored from the bfcache) gets a fresh state that
 * says "not checked": never a verdict remembered for the URL (issue 22 item 3).
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
/** Main-frame responses kept per tab while they wait for their commit (the newest win). */
const PENDING = 4;

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
    this.pending = new Map(); // tabId -> [PageState] not committed yet, newest first (memory only)
    this.gen = 0;
    this.loaded = null;
    this.isLoaded = false; // the saved states are in (then {@link ready} need not be awaited)
    this.dirtyStates = new Set(); // tabIds whose state is to be written (or removed)
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
          if (!k.startsWith(KEY_PREFIX) || !v.state || typeof v.state !== "object") continue;
          const tabId = Number(k.slice(KEY_PREFIX.length));
          if (!this.tabs.has(tabId)) this.tabs.set(tabId, v.state);
          this.gen = Math.max(this.gen, v.state.gen ?? 0);
        }
      })().finally(() => { this.isLoaded = true; });
    }
    return this.loaded;
  }

  /** The state of a tab's current page, or null. */
  get(tabId) {
    return this.tabs.get(tabId) ?? null;
  }

  /**
   * Starts the state of a new page in `tabId` that is the tab's page at once, without waiting for a
   * commit: the browser refused the main frame's certificate (its error page is what the tab shows),
   * or the page on screen is judged again (Chromium, a new policy). A commit of its URL keeps it.
   * @returns {number} the generation to pass to {@link record}
   */
  startPage(tabId, url, requestId) {
    const state = { ...this._newState(tabId, url, requestId), onScreen: true };
    this.tabs.set(tabId, state);
    this._changed(tabId);
    return state.gen;
  }

  /**
   * A main-frame response arrived: starts a pending page state that becomes the tab's state only
   * when its URL commits ({@link commit}); until then the tab keeps the document it shows.
   * @returns {number} the generation to pass to {@link record}
   */
  startResponse(tabId, url, requestId) {
    const state = this._newState(tabId, url, requestId);
    const list = (this.pending.get(tabId) ?? []).filter((s) => s.requestId !== requestId || requestId == null);
    list.unshift(state);
    this.pending.set(tabId, list.slice(0, PENDING));
    return state.gen;
  }

  _newState(tabId, url, requestId) {
    // The main frame is `pending` until judged, so a judged subresource can never make the page look ok.
    const main = { origin: originOf(url), url, level: "pending" };
    return { tabId, gen: ++this.gen, url, requestId, level: "pending", main, origins: {}, updated: Date.now() };
  }

  /**
   * Generation of the page a response belongs to: the tab's committed page, or, when
   * `documentUrl` (the URL of the top-level document that made the request, where the browser says)
   * is a pending page's and not the committed one's, that pending page (its subresources can race
   * its commit). Null without either.
   */
  genOf(tabId, documentUrl = null) {
    const state = this.tabs.get(tabId);
    if (documentUrl && (!state || pageKey(state.url) !== pageKey(documentUrl))) {
      const p = this.pending.get(tabId)?.find((s) => pageKey(s.url) === pageKey(documentUrl));
      if (p) return p.gen;
    }
    return state?.gen ?? null;
  }

  /** The pending (not committed) page state of generation `gen` in a tab, or null. */
  pendingOf(tabId, gen) {
    return this.pending.get(tabId)?.find((s) => s.gen === gen) ?? null;
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
    let state = this.tabs.get(tabId);
    let committed = true;
    if (!state || state.gen !== gen) {
      state = this.pendingOf(tabId, gen);
      committed = false;
      if (!state) return false;
    }
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
    if (committed) this._changed(tabId); // a pending page is drawn and saved when it commits
    return true;
  }

  /**
   * A top-level navigation committed (webNavigation.onCommitted, frameId 0). The newest pending
   * response for that URL becomes the tab's state; the other pending ones are dropped (they never
   * committed). A commit without a pending response (served by a service worker, a back/forward
   * from the bfcache: browser-apis.md 1.5) gets the state `fresh(url)` builds, "not checked" for
   * http(s): a verdict the tab had for that URL before is never put back (issue 22 item 3); no
   * state when `fresh` gives null (about:, moz-extension:).
   * @param {(url: string) => object|null} [fresh]  builds the state for a page without a response
   * @returns {object|null} the state now in effect
   */
  commit(tabId, url, fresh) {
    let next = this.promote(tabId, url);
    if (next) return next;
    const state = this.tabs.get(tabId);
    if (state?.onScreen && pageKey(state.url) === pageKey(url)) {
      // The document a state was started for at once ({@link startPage}) committing: the error page.
      delete state.onScreen;
      this.pending.delete(tabId);
      this._changed(tabId);
      return state;
    }
    if (fresh) {
      const f = fresh(url);
      if (f) next = { tabId, gen: ++this.gen, url, requestId: null, main: null, origins: {}, updated: Date.now(), ...f };
    }
    this.pending.delete(tabId);
    if (next) {
      next.level = pageLevel(next);
      this.tabs.set(tabId, next);
    } else {
      this.tabs.delete(tabId);
    }
    this._changed(tabId);
    return next;
  }

  /**
   * Makes the newest pending response for `url` the tab's state (its commit, or the enforce-mode
   * page that replaced it); the other pending ones are dropped.
   * @returns {object|null} the state now in effect, or null when no pending response has that URL
   */
  promote(tabId, url) {
    const found = this.pending.get(tabId)?.find((s) => pageKey(s.url) === pageKey(url)) ?? null;
    if (!found) return null;
    this.pending.delete(tabId);
    this.tabs.set(tabId, found);
    this._changed(tabId);
    return found;
  }

  /** Forgets a closed tab (its saved state goes at once; nothing of it is written later). */
  remove(tabId) {
    this.tabs.delete(tabId);
    this.pending.delete(tabId);
    this.dirtyStates.delete(tabId);
    if (this.session) {
      Promise.resolve(this.session.remove(KEY_PREFIX + tabId)).catch(() => {});
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
   * tab, one `remove` for tabs left without a state.
   * @returns {Promise<void>} settles when the browser took the writes (errors are swallowed)
   */
  flush() {
    if (!this.session || this.dirtyStates.size === 0) return Promise.resolve();
    const put = {};
    const drop = [];
    for (const tabId of this.dirtyStates) {
      const state = this.tabs.get(tabId);
      if (state) put[KEY_PREFIX + tabId] = { state };
      else drop.push(KEY_PREFIX + tabId);
    }
    this.dirtyStates.clear();
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
